"""Run a sweep: the points not yet in the store, in parallel, each result stored as soon as it finishes.

Local worker processes by default (spawned, one torch thread each); on a Ray
cluster when given its address (Ray schedules; we only submit and collect).
A point that raises is stored as failed with its error and the sweep goes on.
A worker that dies (killed, out of memory) loses only its point, which runs
again on a fresh pool, up to MAX_ATTEMPTS times; then it is stored as failed.
Killing the whole sweep loses at most the points in flight: `resume` reruns
exactly those.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from tqdm import tqdm

from firebrick.errors import FirebrickError
from firebrick.processes import exit_with_parent, folder_lock
from firebrick.progress import Ticker, note
from firebrick.explore.evaluate import evaluate_point
from firebrick.explore.points import expand, point_key
from firebrick.explore.spec import SweepSpec, spec_from_dict
from firebrick.explore.store import STORE_NAME, Store, StoreError

MAX_ATTEMPTS = 2
#: the lock file a run holds in its sweep folder
LOCK_NAME = "sweep.lock"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FirebrickError):
        return f"{type(exc).__name__}: {exc}"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _safe_evaluate(spec_dict: dict[str, Any], point: dict[str, Any], out_dir: str) -> tuple[dict[str, Any] | None, str | None, float]:
    """(result, None) or (None, error): a point's own failure is data, not a crash of the sweep."""
    began = time.perf_counter()
    try:
        return evaluate_point(spec_dict, point, out_dir), None, time.perf_counter() - began
    except Exception as exc:  # noqa: BLE001 - every failure of a point is recorded with its message
        return None, _describe(exc), time.perf_counter() - began


def spread_models(todo: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """The first point of every model first, then the second of each, ...: points sharing a model (they
    differ in quantization or hardware only) would otherwise sit side by side in grid order, and parallel
    workers would queue on the one training instead of training different models at once."""
    seen: dict[str, int] = {}
    ranked = []
    for index, point in todo:
        model = point_key({k: v for k, v in point.items() if k.startswith(("model.", "training."))})
        seen[model] = seen.get(model, -1) + 1
        ranked.append((seen[model], index, point))
    return [(index, point) for _, index, point in sorted(ranked, key=lambda r: (r[0], r[1]))]


def _require_sweep(out_dir: Path) -> None:
    if not (out_dir / STORE_NAME).exists():
        raise FirebrickError(f"{out_dir} holds no sweep ({STORE_NAME} missing): start one with `firebrick explore run SPEC.yaml -o {out_dir}`")


def open_sweep(out_dir: str | Path, spec: SweepSpec | None = None) -> tuple[Store, SweepSpec]:
    """The store of a sweep folder, bound to `spec` (a new sweep) or giving back its own spec (resume)."""
    out_dir = Path(out_dir)
    if spec is None:
        _require_sweep(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = Store(out_dir / STORE_NAME)
    try:
        if store.has_spec():
            # compare specs as this version reads them, so a newer firebrick (new defaults) still resumes
            stored = spec_from_dict(store.spec(), str(out_dir / STORE_NAME))
            if spec is not None and spec.digest() != stored.digest():
                raise StoreError(f"{store.path} holds the results of another sweep ({stored.name!r}, spec {stored.digest()}; "
                                 f"this one {spec.digest()}): use `firebrick explore resume {out_dir}`, or another output folder")
            return store, stored
        store.bind(spec.to_dict(), spec.digest())
        return store, spec
    except BaseException:
        store.close()
        raise


def run_sweep(out_dir: str | Path, spec: SweepSpec | None = None, *, workers: int = 1, address: str | None = None,
              retry_failed: bool = False, progress: bool | None = None) -> dict[str, Any]:
    """Evaluate every point of the sweep that the store does not hold yet; the run's summary.

    The folder is locked for the run: a second run or resume into it refuses, naming this one's pid.
    """
    out_dir = Path(out_dir)
    if spec is None:
        _require_sweep(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(out_dir / LOCK_NAME, "a sweep run"):
        return _run_sweep_locked(out_dir, spec, workers=workers, address=address, retry_failed=retry_failed, progress=progress)


def _run_sweep_locked(out_dir: Path, spec: SweepSpec | None, *, workers: int, address: str | None, retry_failed: bool,
                      progress: bool | None) -> dict[str, Any]:
    store, spec = open_sweep(out_dir, spec)
    try:
        if retry_failed:
            store.forget_failed()
        adaptive = spec.search.method == "nsga2"  # its points depend on earlier results
        points = [] if adaptive else expand(spec)
        done = store.finished_keys()
        todo = [(i, p) for i, p in enumerate(points) if point_key(p) not in done]
        total = spec.search.budget if adaptive else len(points)
        already = len(done) if adaptive else len(points) - len(todo)
        began = time.perf_counter()
        bar = tqdm(total=total, initial=min(already, total), desc=f"sweep {spec.name}", unit="point",
                   disable=(not progress) if progress is not None else None, dynamic_ncols=True)
        counts = {"ok": 0, "failed": 0}
        # no bar (not a terminal): a line with the percent and the time left every few seconds and at the end
        ticker = Ticker(f"sweep {spec.name}", total, "points", done=min(already, total), active=bar.disable and progress is not False)

        def finish(index: int, point: dict[str, Any], outcome) -> None:
            result, error, seconds = outcome
            store.record(point_key(point), index, point, result=result, error=error, seconds=seconds)
            counts["ok" if error is None else "failed"] += 1
            bar.update(1)
            if error is not None:  # on stderr: stdout may carry the --json document
                if bar.disable:
                    note(f"sweep {spec.name}: point {index} failed: {error.splitlines()[-1]}")
                else:
                    bar.write(f"point {index} failed: {error.splitlines()[-1]}", file=sys.stderr)
            ticker.advance()

        def run_batch(batch: list[tuple[int, dict[str, Any]]]) -> None:
            if address is not None:
                _run_on_ray(address, spec, batch, str(out_dir), finish)
            else:
                _run_local(workers, spec, batch, str(out_dir), finish)

        todo = spread_models(todo)
        if adaptive:
            from firebrick.explore.nsga2 import run_nsga2

            run_nsga2(spec, store.rows, run_batch)
        else:
            run_batch(todo)
        bar.close()
        ran = counts["ok"] + counts["failed"]
        return {"spec": spec.name, "points": already + ran, "already_done": already, "ran": ran,
                "ok": counts["ok"], "failed": counts["failed"], "seconds": time.perf_counter() - began,
                "store": str(store.path)}
    finally:
        store.close()


def _run_local(workers: int, spec: SweepSpec, todo: list[tuple[int, dict[str, Any]]], out_dir: str, finish,
               evaluate=_safe_evaluate) -> None:
    spec_dict = spec.to_dict()
    attempts: dict[int, int] = {}
    pending = list(todo)
    context = multiprocessing.get_context("spawn")  # no forked torch state; each worker imports afresh
    while pending:
        with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context, initializer=exit_with_parent,
                                 initargs=(os.getpid(),)) as pool:  # a killed sweep leaves no workers behind
            futures: dict[Future, tuple[int, dict[str, Any]]] = {
                pool.submit(evaluate, spec_dict, point, out_dir): (index, point) for index, point in pending}
            pending = []  # points whose worker died: rerun on a fresh pool
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    index, point = futures.pop(future)
                    try:
                        finish(index, point, future.result())
                    except BrokenProcessPool:
                        attempts[index] = attempts.get(index, 0) + 1
                        if attempts[index] >= MAX_ATTEMPTS:
                            finish(index, point, (None, f"the worker died {MAX_ATTEMPTS} times on this point (killed, or out of memory)", 0.0))
                        else:
                            pending.append((index, point))


def _run_on_ray(address: str, spec: SweepSpec, todo: list[tuple[int, dict[str, Any]]], out_dir: str, finish) -> None:
    try:
        import ray
    except ImportError:
        raise FirebrickError("--address needs Ray: pip install \"ray[default]\" on this machine and the cluster") from None
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    # A task runs on one node: reserving a CPU per training worker keeps a point's workers together (no placement group
    # needed; they meet through a file store there). A dead worker's task is retried by Ray.
    cpus = spec.training.workers if spec.training is not None else 1
    remote = ray.remote(num_cpus=cpus, max_retries=MAX_ATTEMPTS)(_safe_evaluate)
    spec_dict = ray.put(spec.to_dict())
    refs = {remote.remote(spec_dict, point, out_dir): (index, point) for index, point in todo}
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1)
        for ref in ready:
            index, point = refs.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as exc:
                outcome = (None, f"Ray gave up on this point: {exc}", 0.0)
            finish(index, point, outcome)
