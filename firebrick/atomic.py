"""Atomic file output: write beside the target, then rename over it.

A reader (or a later resume) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the result should read like any new file
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic(target: str | os.PathLike, write: Callable[[IO[Any]], None], *, binary: bool = False) -> None:
    """Call `write(file)` on a temporary file and rename it to `target` once complete."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())


def write_json_atomic(target: str | os.PathLike, document: Any) -> None:
    write_atomic(target, lambda f: f.write(json.dumps(document, indent=2, sort_keys=True) + "\n"))


def save_figure(fig: Any, target: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Lay out a matplotlib figure, write it as PNG atomically, and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    target = Path(target)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return target
