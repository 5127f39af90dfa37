"""A wall clock stepped backwards (an NTP correction, a clock set by hand) must not stall anything.

Everything the daemon waits for is stored as a wall-clock due time, because people read those times.
When ``ClockWatch`` (daemon/clock.py) sees the wall clock step back, every pending wait moves back by
as much, so each still waits what it had left by the monotonic clock: escalation and deadline timers
(and the deadlines they work towards), outbox retries and group waits, feed polls. Calendar timers
(the daily digest, reports) stay on the wall clock: they are meant for 08:00 as the county reads it.
A step forward moves nothing: what is due fires, repeats coalesced (daemon/notify/escalation.py).
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

# (what, statement): each adds the step (in seconds) to the due times of what is still pending.
PENDING = (
    ("timers", "UPDATE timers SET due_at = due_at + ? WHERE fired_at IS NULL AND kind IN ('step', 'deadline')"),
    ("deadlines", "UPDATE deadlines SET due_at = due_at + ? WHERE met_at IS NULL AND missed = 0 AND outcome IS NULL"),
    ("incident deadlines", "UPDATE incidents SET deadline_at = deadline_at + ? WHERE deadline_at IS NOT NULL"
                           " AND resolved_at IS NULL"),
    ("outbox", "UPDATE outbox SET next_attempt_at = next_attempt_at + ? WHERE status = 'pending'"),
    ("feed polls", "UPDATE feed_state SET next_poll_at = next_poll_at + ? WHERE next_poll_at IS NOT NULL"),
)


def move_pending(db: sqlite3.Connection, by: timedelta) -> dict[str, int]:
    """Move every pending wait by ``by`` (negative after a backward step), inside the caller's
    transaction. Returns how many rows moved, by what."""
    seconds = by.total_seconds()
    return {what: db.execute(sql, (seconds,)).rowcount for what, sql in PENDING}
