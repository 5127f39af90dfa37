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

from daemon import incidents
from daemon.ingest import feeds
from daemon.notify import outbox
from daemon.store import timers


def move_pending(db: sqlite3.Connection, by: timedelta) -> dict[str, int]:
    """Move every pending wait by ``by`` (negative after a backward step), inside the caller's
    transaction. Returns how many rows moved, by what."""
    return {
        "timers": timers.move_pending(db, by),  # step and deadline timers; the digest keeps its hour
        "deadlines": timers.move_pending_deadlines(db, by),
        "incident deadlines": incidents.move_deadlines(db, by),
        "outbox": outbox.move_pending(db, by),
        "feed polls": feeds.move_polls(db, by),
    }
