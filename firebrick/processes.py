"""Processes that share work: a folder lock naming its holder, and workers that end with their parent.

The lock is an advisory `flock` on a file holding the holder's pid: the
operating system releases it when the holder dies however it dies, so a lock
left by a killed run is never in the way; its file then names a dead pid,
which the next holder reports as taken over.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from firebrick.errors import FirebrickError


class FolderBusyError(FirebrickError):
    """Another live process holds the folder's lock."""


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs (someone else's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


@contextlib.contextmanager
def folder_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold the lock file `path` (its folder must exist) for the block; refuse, naming the holder, if it is held."""
    path = Path(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise FolderBusyError(f"{path.parent} is in use by {what} in process {holder}; wait for it to finish, "
                                  f"or stop it (kill {holder}) and run again") from None
        previous = os.pread(fd, 64, 0).decode(errors="replace").strip()
        if previous.isdigit() and int(previous) != os.getpid() and not process_alive(int(previous)):
            print(f"firebrick: warning: taking over {path} from process {previous}, which is no longer running",
                  file=sys.stderr)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def exit_with_parent(parent: int | None = None) -> None:
    """End this process when `parent` (default: the current parent) is gone: nobody would collect its work."""
    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
