"""Output paths checked before the work that fills them: a wrong -o costs a second, not minutes of compute."""

from __future__ import annotations

import os
from pathlib import Path

from firebrick.errors import FirebrickError


class OutputPathError(FirebrickError):
    """An output path that cannot be written: a folder where a file goes, a file where a folder goes, no permission."""


def _writable_ancestor(path: Path, option: str) -> None:
    """The nearest existing ancestor of `path` must be a folder this process may create entries in."""
    for ancestor in path.absolute().parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputPathError(f"{option} {path}: {ancestor} is a file, not a folder; choose another path")
            if not os.access(ancestor, os.W_OK | os.X_OK):
                raise OutputPathError(f"{option} {path}: cannot write in {ancestor} (permission denied); choose another path")
            return


def check_output_file(path: str | os.PathLike, option: str = "-o") -> Path:
    """`path` can be (over)written as a file: it is not a folder and its folder can be made and written."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{option} {path} is a folder; give a file name (e.g. {path / 'out'}{path.suffix})")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{option} {path}: the file is read-only (permission denied); choose another path")
    _writable_ancestor(path, option)
    return path


def check_output_folder(path: str | os.PathLike, option: str = "-o") -> Path:
    """`path` can be used as an output folder: it is one (or can be made) and can be written."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise OutputPathError(f"{option} {path} is a file; give a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputPathError(f"{option} {path}: cannot write in it (permission denied); choose another folder")
        return path
    _writable_ancestor(path, option)
    return path
