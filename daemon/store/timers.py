"""Repository of the ``timers``, ``deadlines`` and ``digest_items`` tables: escalation steps, deadline
reminders and the daily digest as rows due at a time, fired once. Every read and write of these tables is
a function here, taking the caller's connection (inside its transaction) or the ``Store``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from daemon.clock import from_epoch, to_epoch
from daemon.store import Store
from rules.model import Level


@dataclass(frozen=True)
class Episode:
    """A level *episode* of an incident: the level, and how often the story had come back (回潮) when it
    reached it. Step and deadline timers, and the ids of their notifications, are per episode, so a story
    back at the level it had goes through the policy again. Stored as ``red``, ``red#1``, ``red#2`` …"""

    level: Level
    resurgence: int = 0

    @property
    def key(self) -> str:
        return str(self.level) if not self.resurgence else f"{self.level}#{self.resurgence}"

    @classmethod
    def parse(cls, key: str) -> Episode:
        level, _, resurgence = key.partition("#")
        return cls(Level.parse(level), int(resurgence) if resurgence else 0)


@dataclass(frozen=True)
class Timer:
    """A row of ``timers``: an escalation step (``kind`` 'step'), a deadline reminder ('deadline': ``step``
    is the ``deadlines`` row) or the daily digest ('digest': ``level`` is the day, no incident)."""

    id: int
    kind: str
    incident_id: str
    level: str  # the ``Episode.key`` of a step or deadline timer; the day of the digest timer
    step: int
    round: int
    due_at: datetime


@dataclass(frozen=True)
class StoredDeadline:
    """A row of ``deadlines``: one deadline of an incident's level and what the timer found."""

    id: int
    incident_id: str
    level: str
    name: str
    met_by: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    missed: bool
    outcome: str | None


@dataclass(frozen=True)
class DigestItem:
    id: int
    incident_id: str
    step: int


# ---------------------------------------------------------------- timers


def add_step(db: sqlite3.Connection, incident_id: str, level: str, step: int, round_: int, due: datetime) -> None:
    """A step timer, unless the same (incident, level episode, step, round) has one already."""
    db.execute("INSERT OR IGNORE INTO timers (kind, incident_id, level, step, round, due_at)"
               " VALUES ('step', ?, ?, ?, ?, ?)", (incident_id, level, step, round_, to_epoch(due)))


def add_reminder(db: sqlite3.Connection, incident_id: str, level: str, deadline_id: int, round_: int,
                 due: datetime) -> None:
    """A deadline timer: the ``round_``-th reminder of the ``deadlines`` row ``deadline_id``."""
    db.execute("INSERT OR IGNORE INTO timers (kind, incident_id, level, step, round, due_at)"
               " VALUES ('deadline', ?, ?, ?, ?, ?)", (incident_id, level, deadline_id, round_, to_epoch(due)))


def add_digest(db: sqlite3.Connection, day: str, due: datetime) -> None:
    """The digest timer of ``day`` (one per day, by the table's unique key)."""
    db.execute("INSERT OR IGNORE INTO timers (kind, incident_id, level, step, round, due_at)"
               " VALUES ('digest', '', ?, 0, 0, ?)", (day, to_epoch(due)))


def first_due(db: sqlite3.Connection, now: datetime) -> Timer | None:
    """The unfired timer due longest ago (by ``now``), if any."""
    row = db.execute("SELECT * FROM timers WHERE fired_at IS NULL AND due_at <= ?"
                     " ORDER BY due_at, id LIMIT 1", (to_epoch(now),)).fetchone()
    return None if row is None else _timer(row)


def postpone(db: sqlite3.Connection, timer_id: int, due: datetime, outcome: str) -> None:
    """The timer stays unfired, due again at ``due`` (held back by quiet hours)."""
    db.execute("UPDATE timers SET due_at = ?, outcome = ? WHERE id = ?", (to_epoch(due), outcome, timer_id))


def mark_fired(db: sqlite3.Connection, timer_id: int, at: datetime, outcome: str) -> None:
    db.execute("UPDATE timers SET fired_at = ?, outcome = ? WHERE id = ?", (to_epoch(at), outcome, timer_id))


def later_reminder_due(db: sqlite3.Connection, timer: Timer, now: datetime) -> bool:
    """Whether a later reminder of the same deadline is due (by ``now``) and unfired too."""
    row = db.execute("SELECT 1 FROM timers WHERE kind = 'deadline' AND incident_id = ? AND step = ? AND round > ?"
                     " AND fired_at IS NULL AND due_at <= ?",
                     (timer.incident_id, timer.step, timer.round, to_epoch(now))).fetchone()
    return row is not None


def move_pending(db: sqlite3.Connection, by: timedelta) -> int:
    """Move the due time of every unfired step and deadline timer by ``by`` (after the wall clock stepped).
    Digest timers stay: they are meant for a time of day. Returns how many moved."""
    moved: int = db.execute("UPDATE timers SET due_at = due_at + ? WHERE fired_at IS NULL"
                            " AND kind IN ('step', 'deadline')", (by.total_seconds(),)).rowcount
    return moved


def _timer(row: sqlite3.Row) -> Timer:
    return Timer(row["id"], row["kind"], row["incident_id"] or "", row["level"] or "", row["step"] or 0,
                 row["round"], from_epoch(row["due_at"]))


# ---------------------------------------------------------------- deadlines


def add_deadline(db: sqlite3.Connection, incident_id: str, level: str, name: str, met_by: str,
                 started_at: datetime, due: datetime) -> int | None:
    """A deadline row. Returns its id, or None when the incident's level already had it."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO deadlines (incident_id, level, name, met_by, started_at, due_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (incident_id, level, name, met_by, to_epoch(started_at), to_epoch(due)))
    return cursor.lastrowid if cursor.rowcount else None


def deadline(db: sqlite3.Connection, deadline_id: int) -> StoredDeadline | None:
    row = db.execute("SELECT * FROM deadlines WHERE id = ?", (deadline_id,)).fetchone()
    return None if row is None else _deadline(row)


def deadlines_of(db: sqlite3.Connection, incident_id: str | None = None) -> list[StoredDeadline]:
    """Every deadline (of one incident, or all), by due time."""
    where, params = ("WHERE incident_id = ?", (incident_id,)) if incident_id else ("", ())
    rows = db.execute(f"SELECT * FROM deadlines {where} ORDER BY due_at, id", params).fetchall()
    return [_deadline(r) for r in rows]


def deadline_met(db: sqlite3.Connection, deadline_id: int, met_at: datetime | None) -> None:
    """Met (when), unless an outcome was recorded already."""
    db.execute("UPDATE deadlines SET met_at = ?, outcome = 'met' WHERE id = ? AND outcome IS NULL",
               (to_epoch(met_at) if met_at else None, deadline_id))


def deadline_ended(db: sqlite3.Connection, deadline_id: int, outcome: str) -> None:
    """Neither met nor missed (superseded, closed …), unless an outcome was recorded already."""
    db.execute("UPDATE deadlines SET outcome = ? WHERE id = ? AND outcome IS NULL", (outcome, deadline_id))


def deadline_missed(db: sqlite3.Connection, deadline_id: int) -> None:
    db.execute("UPDATE deadlines SET missed = 1, outcome = 'missed' WHERE id = ?", (deadline_id,))


def move_pending_deadlines(db: sqlite3.Connection, by: timedelta) -> int:
    """Move every deadline still open (neither met, missed nor otherwise ended) by ``by``. Returns how many."""
    moved: int = db.execute("UPDATE deadlines SET due_at = due_at + ? WHERE met_at IS NULL AND missed = 0"
                            " AND outcome IS NULL", (by.total_seconds(),)).rowcount
    return moved


def _deadline(row: sqlite3.Row) -> StoredDeadline:
    return StoredDeadline(row["id"], row["incident_id"], row["level"], row["name"], row["met_by"],
                          from_epoch(row["started_at"]), from_epoch(row["due_at"]),
                          from_epoch(row["met_at"]) if row["met_at"] is not None else None, bool(row["missed"]),
                          row["outcome"])


# ---------------------------------------------------------------- digest items


def add_digest_item(db: sqlite3.Connection, incident_id: str, step: int, now: datetime) -> None:
    """The incident gathered for the digest of its level's ``step`` (once)."""
    db.execute("INSERT OR IGNORE INTO digest_items (incident_id, step, added_at) VALUES (?, ?, ?)",
               (incident_id, step, to_epoch(now)))


def unsent_digest_items(db: sqlite3.Connection) -> list[DigestItem]:
    """Items gathered and not sent yet, oldest first."""
    rows = db.execute("SELECT id, incident_id, step FROM digest_items WHERE sent_at IS NULL"
                      " ORDER BY added_at").fetchall()
    return [DigestItem(r["id"], r["incident_id"], r["step"]) for r in rows]


def digest_items_sent(db: sqlite3.Connection, item_ids: Iterable[int], at: datetime) -> None:
    db.executemany("UPDATE digest_items SET sent_at = ? WHERE id = ?", [(to_epoch(at), i) for i in item_ids])


def cancel_pending(db: sqlite3.Connection, incident_id: str, now: datetime, outcome: str) -> None:
    """Every escalation step of ``incident_id`` not fired yet is fired as ``outcome`` (``cancelled:…``)."""
    db.execute("UPDATE timers SET fired_at = ?, outcome = ? WHERE incident_id = ? AND fired_at IS NULL",
               (to_epoch(now), outcome, incident_id))


# ---------------------------------------------------------------- for status and reports


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
