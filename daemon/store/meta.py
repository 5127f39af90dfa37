"""Repository of the ``meta`` table: the service's own small facts by key (schema version, the rules in
use, watermarks such as the last resolution announced, counters). Every read and write of the table is a
function here."""

from __future__ import annotations

import sqlite3

# The schema module reads and writes the version through these functions while it is itself being
# imported: nothing here may import ``daemon.store`` at run time.


def schema_version(db: sqlite3.Connection) -> int | None:
    """The schema version recorded in the database; None when none is (a new or very old file).
    Raises ``sqlite3.OperationalError`` when there is no meta table at all."""
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def record_schema_version(db: sqlite3.Connection, version: int) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(version),))


def write_probe(db: sqlite3.Connection) -> None:
    """A small write that changes nothing anyone reads: proves the store takes writes."""
    db.execute("INSERT OR REPLACE INTO meta VALUES ('write_probe', 'ok')")


def next_number(db: sqlite3.Connection, key: str) -> int:
    """The next number of the counter ``key`` (1 for a new one), counted inside the caller's transaction."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    number = int(row[0]) + 1 if row else 1
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(number)))
    return number


def next_incident_number(db: sqlite3.Connection, day: str) -> int:
    """The next incident number of a day (``YYYYMMDD``), from 1, taken inside the caller's transaction."""
    return next_number(db, f"incident_seq:{day}")


def value(db: sqlite3.Connection, key: str) -> str | None:
    """The value kept under ``key``, if any."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(db: sqlite3.Connection, key: str, text: str) -> None:
    """Keep ``text`` under ``key``, replacing what was there."""
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))


def put_if_absent(db: sqlite3.Connection, key: str, text: str) -> None:
    db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, text))


def increment(db: sqlite3.Connection, key: str) -> None:
    """Add one to a counter kept as a meta value (1 when there is none yet)."""
    db.execute("INSERT INTO meta VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET"
               " value = CAST(value AS INTEGER) + 1", (key,))
