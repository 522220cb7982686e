"""Sweeps end to end: results stored as they finish, failures recorded, kills and resumes lose and repeat nothing."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firebrick.boards.board import load_board
from firebrick.boards.manifest import load_build
from firebrick.cli import main
from firebrick.explore.points import expand, point_key
from firebrick.explore.report import write_report
from firebrick.explore.runner import _run_local, open_sweep, run_sweep
from firebrick.explore.spec import spec_from_dict
from firebrick.explore.store import Store, StoreError
from firebrick.hw.params import ArrayParams
from firebrick.hw.schedule import predict_activity
from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.design_space import generate
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import base_meta
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize

ANALYTICAL = {
    "name": "analytical", "training": None,
    "model": {"base": "tiny8", "fixed": {"hardware_ready": True}, "axes": {"sr": [0.25, 0.5]}},
    "hardware": {"fixed": {"board": "ulx3s"}, "axes": {"rows": [4, 8], "cols": [4, 8]}},
}


def test_an_analytical_sweep_gives_the_exact_figures_a_front_and_a_report(tmp_path):
    spec = spec_from_dict(ANALYTICAL, "test")
    run = run_sweep(tmp_path, spec, workers=2, progress=False)
    assert run == {**run, "points": 8, "ran": 8, "ok": 8, "failed": 0, "already_done": 0}
    summary = write_report(tmp_path)
    by_point = {(p["model.sr"], p["hardware.rows"], p["hardware.cols"]): p for p in summary["points"]}
    # one point recomputed by hand: the cycle count is the schedule's for that network and array
    net = generate(base_meta("tiny8").replace(hardware_ready=True, sr=0.5), name="x")
    graph = canonicalize(lower_torch(FireNet(net).eval(), (1, 8, 8)))
    assert by_point[(0.5, 8, 4)]["cycles"] == predict_activity(graph, ArrayParams(rows=8, cols=4))["cycles"]
    point = by_point[(0.5, 8, 4)]
    assert point["fps"] == pytest.approx(load_board("ulx3s").clock_mhz * 1e6 / point["cycles"]) and point["energy_uj"] > point["energy_breakdown_uj"]["static"]
    assert summary["front"] and all(p["on_front"] == (p["ordinal"] in summary["front"]) for p in summary["points"])
    html = Path(summary["html"]).read_text()
    assert html.count("data:image/png;base64,") == len(summary["plots"]) >= 4 and "Pareto front" in html
    assert '<table id="points">' in html and '<th title="block_ram_blocks">block RAMs</th>' in html
    assert 'title="accuracy"' not in html  # no training, no accuracy column
    assert f'<td data-sort="{point["utilization"]}">{point["utilization"]:.1%}</td>' in html  # a percentage, sorted as a number
    assert "axis_hardware_rows.png" in [Path(p).name for p in summary["plots"]]
    # nothing left to do: a second run repeats nothing
    assert run_sweep(tmp_path, spec, progress=False)["ran"] == 0
    # a chosen point becomes a build folder whose schedule is the stored figure
    chosen = by_point[(0.5, 8, 4)]
    assert main(["explore", "export", str(tmp_path), "--point", str(chosen["ordinal"]), "-o", str(tmp_path / "chosen"), "--json"]) == 0
    assert load_build(tmp_path / "chosen").manifest.cycles_per_frame == chosen["cycles"]


def test_a_point_that_cannot_be_built_is_recorded_and_the_sweep_goes_on(tmp_path):
    spec = spec_from_dict({**ANALYTICAL, "hardware": {"axes": {"cols": [3, 4]}}}, "test")  # cols must be a power of two
    run = run_sweep(tmp_path, spec, progress=False)
    assert (run["ok"], run["failed"]) == (2, 2)
    summary = write_report(tmp_path)
    assert {f["point"]["hardware.cols"] for f in summary["failed"]} == {3}
    assert all("power of two" in f["error"] for f in summary["failed"])
    assert run_sweep(tmp_path, spec, progress=False)["ran"] == 0  # failures are results too
    assert run_sweep(tmp_path, spec, retry_failed=True, progress=False)["ran"] == 2


def test_a_killed_worker_loses_only_its_point_which_runs_again(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))  # the spawned workers import the helper by name
    try:
        from dying_worker import evaluate_or_die

        spec = spec_from_dict(ANALYTICAL, "test")
        store, spec = open_sweep(tmp_path, spec)
        points = list(enumerate(expand(spec)))
        _run_local(2, spec, points, str(tmp_path), lambda i, p, outcome: store.record(point_key(p), i, p, result=outcome[0], error=outcome[1]),
                   evaluate=evaluate_or_die)
        rows = store.rows()
        store.close()
    finally:
        sys.path.remove(str(Path(__file__).parent))
    assert (tmp_path / "died-once").exists()
    assert len(rows) == 8 and all(r["status"] == "ok" for r in rows)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_killing_the_sweep_and_resuming_loses_and_repeats_nothing(tmp_path, capsys):
    spec_path = tmp_path / "spec.json"
    big = {**ANALYTICAL, "hardware": {"axes": {"rows": [2, 4, 8, 16], "cols": [2, 4, 8, 16]}}}  # 32 points
    spec_path.write_text(json.dumps(big))  # JSON is YAML
    out = tmp_path / "sweep"
    process = subprocess.Popen([sys.executable, "-m", "firebrick.cli", "explore", "run", str(spec_path),
                                "-o", str(out), "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    store_path = out / "results.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline:
        if store_path.exists():
            try:
                with sqlite3.connect(store_path) as db:
                    if db.execute("SELECT count(*) FROM points").fetchone()[0] >= 3:
                        break
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    # while it runs, the folder is its own: a second run refuses, naming it
    assert main(["explore", "run", str(spec_path), "-o", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is in use by a sweep run in process {process.pid}" in err
    workers = _children(process.pid)
    assert workers, "the sweep has no worker processes"
    process.kill()  # the sweep alone: its workers must notice and end themselves
    process.wait()
    deadline = time.time() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    os.killpg(process.pid, signal.SIGKILL) if alive else None  # clean up before failing
    assert not alive, f"workers {alive} outlived their sweep"
    store = Store(store_path)
    before = {r["key"]: r for r in store.rows()}
    store.close()
    assert 3 <= len(before) < 32, "the sweep finished before it could be killed"
    run = run_sweep(out, None, progress=False)
    assert f"taking over {out / 'sweep.lock'} from process {process.pid}, which is no longer running" in capsys.readouterr().err
    assert run["already_done"] == len(before) and run["ran"] == 32 - len(before) and run["failed"] == 0
    store = Store(store_path)
    after = {r["key"]: r for r in store.rows()}
    store.close()
    assert len(after) == 32 and all(after[k] == v for k, v in before.items())  # finished points untouched


def test_a_damaged_or_foreign_store_is_refused_and_left_alone(tmp_path):
    spec = spec_from_dict(ANALYTICAL, "test")
    (tmp_path / "results.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="the result store is damaged"):
        run_sweep(tmp_path, spec, progress=False)
    assert (tmp_path / "results.sqlite").read_bytes() == b"not a database" * 100
    other = tmp_path / "other"
    run_sweep(other, spec_from_dict({**ANALYTICAL, "hardware": {"axes": {"rows": [4]}}}, "test"), progress=False)
    with pytest.raises(StoreError, match="holds the results of another sweep"):
        run_sweep(other, spec, progress=False)
    assert main(["explore", "resume", str(tmp_path / "empty")]) == 1


def test_a_training_sweep_trains_each_model_once_and_measures_accuracy(tmp_path, capsys):
    spec_file = tmp_path / "sweep.yaml"
    spec_file.write_text(
        "name: tiny_sr\ndataset: digits\n"
        "model: {base: tiny8, fixed: {hardware_ready: true}, axes: {sr: [0.25, 0.5]}}\n"
        "training: {epochs: 2, seeds: [0]}\n"
        "hardware: {fixed: {board: ulx3s}, axes: {rows: [4, 8], cols: [4]}}\n")
    out = tmp_path / "out"
    assert main(["explore", "run", str(spec_file), "-o", str(out), "--workers", "2", "--no-progress", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    points = document["points"]
    assert len(points) == 4 and all(0.0 <= p["accuracy"] <= 1.0 for p in points)
    assert len(list((out / "checkpoints").glob("*.pt"))) == 2  # two architectures, trained once each
    for sr in (0.25, 0.5):
        same_model = [p for p in points if p["model.sr"] == sr]
        assert len({p["checkpoint"] for p in same_model}) == 1 and len({p["accuracy"] for p in same_model}) == 1
    assert document["front"] and Path(document["html"]).exists()
    assert main(["explore", "report", str(out)]) == 0
    assert "Pareto front over accuracy, energy_uj, latency_us, onchip_kib" in capsys.readouterr().out


def test_a_point_may_train_on_several_data_parallel_workers(tmp_path):
    spec = spec_from_dict({"name": "parallel", "dataset": "digits", "training": {"epochs": 2, "lr": 0.05, "batch_size": 32, "workers": 2},
                           "model": {"base": "tiny8", "fixed": {"hardware_ready": True}},
                           "hardware": {"fixed": {"board": "ulx3s", "rows": 4, "cols": 4}}}, "test")
    run = run_sweep(tmp_path, spec, workers=1, progress=False)  # a pool worker starts the point's two training workers
    assert (run["ok"], run["failed"]) == (1, 0)
    point, = write_report(tmp_path)["points"]
    parallel = load_checkpoint(point["checkpoint"]).metadata["parallel"]
    assert (parallel["workers"], parallel["global_batch"], parallel["peak_lr"]) == (2, 64, 0.1) and point["accuracy"] > 0.1


def test_nsga2_search_spends_its_budget_and_resumes_without_repeating(tmp_path):
    spec = spec_from_dict({**ANALYTICAL, "model": {"base": "tiny8", "fixed": {"hardware_ready": True}, "axes": {"sr": [0.125, 0.25, 0.5]}},
                           "hardware": {"axes": {"rows": [2, 4, 8, 16], "cols": [2, 4, 8, 16]}},
                           "search": {"method": "nsga2", "budget": 12, "population": 4, "seed": 0}}, "test")
    run = run_sweep(tmp_path, spec, workers=2, progress=False)
    assert 4 <= run["ran"] <= 12 and run["failed"] == 0  # trials that ask for a stored point reuse it
    store = Store(tmp_path / "results.sqlite")
    rows = store.rows()
    with store.db:  # as if the last two were in flight when the sweep was killed
        store.db.execute("DELETE FROM points WHERE ordinal >= ?", (len(rows) - 2,))
    kept = {r["key"]: r for r in store.rows()}
    store.close()
    again = run_sweep(tmp_path, None, progress=False)
    assert again["already_done"] == len(kept) and again["ran"] >= 1
    store = Store(tmp_path / "results.sqlite")
    after = {r["key"]: r for r in store.rows()}
    store.close()
    assert all(after[k] == v for k, v in kept.items())
    summary = write_report(tmp_path)
    assert summary["front"]


def test_a_sweep_on_a_ray_cluster_stores_the_same_results(tmp_path):
    pytest.importorskip("ray", reason="Ray is optional (pip install -e '.[cluster]')")
    spec = spec_from_dict({**ANALYTICAL, "hardware": {"axes": {"rows": [4, 8], "cols": [3, 4]}}}, "test")
    run = run_sweep(tmp_path / "ray", spec, address="local", progress=False)  # a local Ray cluster of this machine
    assert (run["ok"], run["failed"]) == (4, 4)
    local = run_sweep(tmp_path / "local", spec, workers=2, progress=False)
    assert (local["ok"], local["failed"]) == (4, 4)
    on_ray, here = write_report(tmp_path / "ray"), write_report(tmp_path / "local")
    figures = lambda s: sorted((p["key"], p["cycles"], p["energy_uj"]) for p in s["points"])  # noqa: E731
    assert figures(on_ray) == figures(here)


def test_verify_runs_the_front_in_verilator_and_matches_the_stored_cycles(tmp_path, capsys):
    spec_file = tmp_path / "sweep.yaml"
    spec_file.write_text(
        "name: verify_me\ndataset: digits\n"
        "model: {base: tiny8, fixed: {hardware_ready: true, sr: 0.25}}\n"
        "training: {epochs: 1, seeds: [0]}\n"
        "hardware: {fixed: {board: ulx3s, cols: 4}, axes: {rows: [4, 8]}}\n"
        "objectives: [accuracy, latency_us]\n")
    out = tmp_path / "out"
    assert main(["explore", "run", str(spec_file), "-o", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["explore", "verify", str(out), "--points", "0", "--frames", "1", "--no-progress", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verified"] == 1 and result["all_bit_exact"] and result["all_cycles_match"]
    assert result["points"][0]["rtl_cycles"] == result["points"][0]["model_cycles"]
