"""Repository of the ``timers``, ``deadlines`` and ``digest_items`` tables: escalation steps, deadline
reminders and the daily digest as rows due at a time, fired once. Every read and write of these tables is
a function here, taking the caller's connection (inside its transaction) or the ``Store``."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from daemon.clock import to_epoch
from daemon.store import Store


class PendingTimers(NamedTuple):
    total: int  # timers not yet fired
    next_due: float | None  # UNIX seconds of the earliest of them
    oldest_overdue: float | None  # UNIX seconds of the earliest one due by ``now``


def pending_summary(store: Store, now: datetime) -> PendingTimers:
    """Unfired timers: how many, the next one due, and the oldest overdue as of ``now``."""
    row = store.one("SELECT count(*) AS n, min(due_at) AS next, min(CASE WHEN due_at <= ? THEN due_at END)"
                    " AS overdue FROM timers WHERE fired_at IS NULL", (to_epoch(now),))
    return PendingTimers(0, None, None) if row is None else PendingTimers(int(row["n"]), row["next"], row["overdue"])


def count_pending(store: Store) -> int:
    """Timers not yet fired."""
    row = store.one("SELECT count(*) FROM timers WHERE fired_at IS NULL")
    return int(row[0]) if row else 0


class DeadlineDue(NamedTuple):
    incident_id: str
    due_at: float  # UNIX seconds
    met_at: float | None
    missed: bool


def deadlines_due_between(store: Store, start: datetime, end: datetime) -> list[DeadlineDue]:
    """Deadlines falling due in [start, end), as escalation recorded them one by one."""
    rows = store.query("SELECT incident_id, due_at, met_at, missed FROM deadlines WHERE due_at >= ? AND due_at < ?",
                       (to_epoch(start), to_epoch(end)))
    return [DeadlineDue(r["incident_id"], r["due_at"], r["met_at"], bool(r["missed"])) for r in rows]
