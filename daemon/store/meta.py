"""Repository of the ``meta`` table: the service's own small facts by key (schema version, the rules in
use, watermarks such as the last resolution announced). Every read and write of the table is a function
here."""

from __future__ import annotations

import sqlite3


def next_number(db: sqlite3.Connection, key: str) -> int:
    """The next number of the counter ``key`` (1 for a new one), counted inside the caller's transaction."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    number = int(row["value"]) + 1 if row else 1
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(number)))
    return number


def value(db: sqlite3.Connection, key: str) -> str | None:
    """The value kept under ``key``, if any."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(db: sqlite3.Connection, key: str, text: str) -> None:
    """Keep ``text`` under ``key``, replacing what was there."""
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))
