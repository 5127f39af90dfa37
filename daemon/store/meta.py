"""Repository of the ``meta`` table: the service's own small facts by key (schema version, the rules in
use, watermarks such as the last resolution announced). Every read and write of the table is a function
here."""

from __future__ import annotations

import sqlite3


def value(db: sqlite3.Connection, key: str) -> str | None:
    """The value kept under ``key``, if any."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(db: sqlite3.Connection, key: str, text: str) -> None:
    """Keep ``text`` under ``key``, replacing what was there."""
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))
