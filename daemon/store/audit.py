"""Repository of the append-only ``audit`` table: who did what, when (acknowledgements, resolutions,
silences, merges and splits). Every read and write of the table is a function here."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from daemon.clock import to_epoch


def record(db: sqlite3.Connection, now: datetime, actor: str, action: str, incident_id: str | None,
           detail: str) -> None:
    """One line of the audit log, inside the caller's transaction (with the change it records)."""
    db.execute("INSERT INTO audit (at, actor, action, incident_id, detail) VALUES (?, ?, ?, ?, ?)",
               (to_epoch(now), actor, action, incident_id, detail))
