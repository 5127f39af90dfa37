"""Repository of the ``timers``, ``deadlines`` and ``digest_items`` tables: escalation steps, deadline
reminders and the daily digest as rows due at a time, fired once. Every read and write of these tables is
a function here, taking the caller's connection (inside its transaction) or the ``Store``."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from daemon.clock import to_epoch


def cancel_pending(db: sqlite3.Connection, incident_id: str, now: datetime, outcome: str) -> None:
    """Every escalation step of ``incident_id`` not fired yet is fired as ``outcome`` (``cancelled:…``)."""
    db.execute("UPDATE timers SET fired_at = ?, outcome = ? WHERE incident_id = ? AND fired_at IS NULL",
               (to_epoch(now), outcome, incident_id))
