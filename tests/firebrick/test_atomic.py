"""Atomic output: the target holds the old content or the new, never a partial write."""

import json
import os
import subprocess
import sys

import pytest

from firebrick.atomic import write_atomic, write_json_atomic


def test_replaces_the_target(tmp_path):
    target = tmp_path / "sub" / "out.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fail(f):
        f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out.txt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".out.txt.{dead}.abc123.tmp"  # as a writer killed mid-write leaves it
    stale.write_text("half")
    live = tmp_path / f".out.txt.{os.getpid()}.def456.tmp"  # a write in progress in a live process stays
    live.write_text("busy")
    other = tmp_path / f".other.txt.{dead}.abc123.tmp"  # another target's
    other.write_text("half")
    write_atomic(target, lambda f: f.write("new"))
    assert target.read_text() == "new" and not stale.exists() and live.exists() and other.exists()
