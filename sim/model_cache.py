"""Compiled Verilator models, shared by every build whose Verilog is the same (content-addressed).

A model is the executable Verilator and make produce from one Verilog file,
one top module, with or without tracing, by one Verilator and one cocotb
installation (its libraries' path: the executable links them there): the
key hashes exactly those, so a `load-file` folder (the same Verilog byte for
byte), a second `flow` or `make demo` into a fresh folder, and the tests'
many builds of one design all run one compiled model, and nothing else can
change what a key names. Entries live under `$FIREBRICK_SIM_CACHE`
(default `$XDG_CACHE_HOME/firebrick/verilator`, i.e. ~/.cache/...). An entry is
built under a file lock (parallel test workers wait for one build instead of
racing), marked complete only after make succeeds, and then stripped of what
running does not need (the precompiled headers and objects: ~147 MB of the
default model's 150 MB); the KEEP most recently used entries are kept.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

#: entries kept (most recently used first); the default model's entry is ~4 MB once stripped
KEEP = 12
COMPLETE = "complete"
#: what a run needs of a build directory: everything but these (rebuilding is never done in place)
BUILD_ONLY = ("*.gch", "*.o", "*.a", "*.d")


def cache_root() -> Path:
    if os.environ.get("FIREBRICK_SIM_CACHE"):
        return Path(os.environ["FIREBRICK_SIM_CACHE"])
    base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "firebrick" / "verilator"


def model_key(sources: list[Path], toplevel: str, *, waves: bool, build_args: list[str]) -> str:
    """What the compiled model depends on: the bytes of the Verilog sources, the top, tracing, the flags, the tool versions, and
    where cocotb's libraries are (the executable links them by absolute path: a model built by another
    installation, e.g. a virtual environment elsewhere, does not start)."""
    from cocotb_tools.config import libs_dir

    digest = hashlib.sha256()
    for source in sources:
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    for part in (toplevel, str(waves), *build_args, importlib.metadata.version("verilator"),
                 importlib.metadata.version("cocotb"), str(Path(libs_dir).resolve())):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:24]


class ModelEntry:
    """One cache entry, its lock held: exclusive until it is `ready` (built here, or found built), then shared while
    the caller runs it, so that no other process evicts it meanwhile."""

    def __init__(self, directory: Path, handle) -> None:
        self.directory, self._handle = directory, handle
        self.ready = (directory / COMPLETE).is_file()
        if self.ready:
            fcntl.flock(handle, fcntl.LOCK_SH)

    def built(self) -> None:
        """Strip what only a rebuild needs and mark the entry complete (after a successful build)."""
        for pattern in BUILD_ONLY:
            for path in self.directory.glob(pattern):
                path.unlink()
        (self.directory / COMPLETE).write_text(f"{time.time():.0f}\n")
        self.ready = True
        fcntl.flock(self._handle, fcntl.LOCK_SH)


@contextmanager
def cached_model(key: str):
    """The entry for `key` (a `ModelEntry`). When it is not ready the caller builds into its (empty) directory and
    calls `built()`; a build that raises leaves no complete entry behind."""
    root = cache_root()
    entry = root / key
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if not (entry / COMPLETE).is_file() and entry.exists():
                shutil.rmtree(entry)  # an interrupted or failed build
            entry.mkdir(exist_ok=True)
            os.utime(entry)  # most recently used
            yield ModelEntry(entry, handle)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    _evict(root, keep=KEEP)


def _evict(root: Path, *, keep: int) -> None:
    entries = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        lock = root / f"{stale.name}.lock"
        with open(lock, "a") as handle:
            try:  # an entry in use (its lock held) stays
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(stale, ignore_errors=True)
            fcntl.flock(handle, fcntl.LOCK_UN)
        lock.unlink(missing_ok=True)
