"""The durable result store of a sweep: one SQLite file, one row per finished point, written as each finishes.

SQLite commits are atomic and survive a kill at any moment, so a resumed sweep
sees exactly the points that finished. A corrupt or foreign file is refused
with a clear error and never modified.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from firebrick.errors import FirebrickError

STORE_VERSION = 1
STORE_NAME = "results.sqlite"


class StoreError(FirebrickError):
    """A result store that is corrupt, from another sweep, or from another version."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    ordinal INTEGER NOT NULL,
    point TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    result TEXT,
    error TEXT,
    seconds REAL NOT NULL,
    finished_at REAL NOT NULL
);
"""


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30)
            status = self.db.execute("PRAGMA quick_check").fetchone()[0]
            if status != "ok":
                raise sqlite3.DatabaseError(status)
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: the result store is damaged ({exc}); it was left as it is. "
                             "Move it away to start the sweep again, or restore a copy") from None

    def close(self) -> None:
        self.db.close()

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def has_spec(self) -> bool:
        return self._meta("spec") is not None

    def bind(self, spec_dict: dict[str, Any], digest: str) -> None:
        """Tie a new store to its sweep's spec (an existing store keeps its own)."""
        if self.has_spec():
            raise StoreError(f"{self.path} already holds a sweep")
        with self.db:
            self.db.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("version", str(STORE_VERSION)), ("digest", digest), ("spec", json.dumps(spec_dict, sort_keys=True)),
                ("created_at", str(time.time()))])

    def _check_version(self) -> None:
        version = self._meta("version")
        if version != str(STORE_VERSION):
            raise StoreError(f"{self.path}: result store version {version}, this firebrick reads version {STORE_VERSION}")

    def spec(self) -> dict[str, Any]:
        text = self._meta("spec")
        if text is None:
            raise StoreError(f"{self.path} holds no sweep: start one with `firebrick explore run SPEC.yaml -o {self.path.parent}`")
        self._check_version()
        return json.loads(text)

    def finished_keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM points")}

    def record(self, key: str, ordinal: int, point: dict[str, Any], *, result: dict[str, Any] | None = None,
               error: str | None = None, seconds: float = 0.0) -> None:
        status = "ok" if error is None else "failed"
        with self.db:  # one transaction per point: all of it or none of it
            self.db.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, ordinal, json.dumps(point, sort_keys=True), status, None if result is None else json.dumps(result),
                 error, seconds, time.time()),
            )

    def forget_failed(self) -> int:
        with self.db:
            return self.db.execute("DELETE FROM points WHERE status = 'failed'").rowcount

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for key, ordinal, point, status, result, error, seconds in self.db.execute(
                "SELECT key, ordinal, point, status, result, error, seconds FROM points ORDER BY ordinal"):
            try:
                out.append({"key": key, "ordinal": ordinal, "point": json.loads(point), "status": status,
                            "result": None if result is None else json.loads(result), "error": error, "seconds": seconds})
            except json.JSONDecodeError as exc:
                raise StoreError(f"{self.path}: point {key} holds unreadable JSON ({exc}); the store was left as it is") from None
        return out
