"""Progress of long work on stderr: stage lines, a still-running line with the live log, percent and ETA.

The progress bars (tqdm) switch themselves off when stderr is not a terminal;
these lines do not, so a CI log or `| tee` still shows what the command is
doing:
- `stage` says what starts (and where its log is), then every few seconds
  while it runs how long it has taken and the log's last line (Verilog
  generation, the Verilator build, Yosys, nextpnr), and how long it took;
- `Ticker` counts work of known size (training steps, sweep points) and says
  the percent done, the time so far and about how long is left.
They are off for library use and switched on by the command line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

_enabled = False
#: seconds between a long stage's lines (FIREBRICK_PROGRESS_SECONDS sets it, e.g. 2 for a short test)
DEFAULT_INTERVAL_S = 15.0


def enable(on: bool = True) -> None:
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


def interval_seconds() -> float:
    return float(os.environ.get("FIREBRICK_PROGRESS_SECONDS", DEFAULT_INTERVAL_S))


def note(message: str) -> None:
    if _enabled:
        print(f"firebrick: {message}", file=sys.stderr, flush=True)


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def last_line(log: Path, limit: int = 100) -> str:
    """The last non-empty line of a log that is being written (read from its end), shortened to `limit`."""
    try:
        with open(log, "rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - 4096, 0))
            lines = [line.strip() for line in f.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    text = lines[-1] if lines else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def stage(what: str, detail: str = "", log: str | os.PathLike | Sequence[str | os.PathLike] | None = None) -> Iterator[None]:
    """`what ...` when it starts (with `detail`, e.g. where its log is); while it runs, every interval_seconds,
    `what: running for T` with the last line of `log` (of the newest of several logs, for a tool that writes
    one after another); then `what: done in T` (or `failed after T`)."""
    logs = [] if log is None else [Path(log)] if isinstance(log, (str, os.PathLike)) else [Path(p) for p in log]
    began = time.perf_counter()
    note(f"{what}" + (f" ({detail})" if detail else "") + " ...")
    stop = threading.Event()
    watcher = None
    if _enabled:
        def beat() -> None:
            while not stop.wait(interval_seconds()):
                written = [p for p in logs if p.is_file()]
                newest = max(written, key=lambda p: p.stat().st_mtime) if written else None
                tail = last_line(newest) if newest is not None else ""
                note(f"{what}: running for {format_seconds(time.perf_counter() - began)}"
                     + (f"; {newest.name}: {tail}" if tail else ""))

        watcher = threading.Thread(target=beat, name="progress", daemon=True)
        watcher.start()
    failed = True
    try:
        yield
        failed = False
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
        note(f"{what}: {'failed after' if failed else 'done in'} {format_seconds(time.perf_counter() - began)}")


class Ticker:
    """Work of known size: `advance()` per unit; a `what: P% (done/total unit), T so far, about T left` line at
    most every interval_seconds and at the end. `active=False` (a progress bar shows it instead) keeps it quiet."""

    def __init__(self, what: str, total: int, unit: str, *, done: int = 0, active: bool = True) -> None:
        self.what, self.total, self.unit, self.done = what, total, unit, done
        self.active = active and _enabled
        self.first = done
        self.began = self.last = time.perf_counter()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.active and (now - self.last >= interval_seconds() or self.done >= self.total):
            self.last = now
            note(self.line(now))

    def line(self, now: float) -> str:
        elapsed = now - self.began
        rate = (self.done - self.first) / elapsed if elapsed > 0 else 0.0
        left = f", about {format_seconds((self.total - self.done) / rate)} left" if rate > 0 and self.done < self.total else ""
        percent = 100.0 * self.done / self.total if self.total else 100.0
        return f"{self.what}: {percent:.0f}% ({self.done:,}/{self.total:,} {self.unit}), {format_seconds(elapsed)} so far{left}"
