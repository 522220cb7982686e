"""Stage lines for long work: what runs, where its log is, and how long it took, on stderr.

The progress bars (tqdm) switch themselves off when stderr is not a terminal;
these lines do not, so a CI log or `| tee` still shows what the command is
doing. They are off for library use and switched on by the command line.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

_enabled = False


def enable(on: bool = True) -> None:
    global _enabled
    _enabled = on


def note(message: str) -> None:
    if _enabled:
        print(f"firebrick: {message}", file=sys.stderr, flush=True)


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


@contextlib.contextmanager
def stage(what: str, detail: str = "") -> Iterator[None]:
    """`what ...` when it starts (with `detail`, e.g. where its log is), `what: done in T` when it ends."""
    began = time.perf_counter()
    note(f"{what}" + (f" ({detail})" if detail else "") + " ...")
    yield
    note(f"{what}: done in {format_seconds(time.perf_counter() - began)}")
