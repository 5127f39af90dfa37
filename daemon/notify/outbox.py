"""The outbox: every notification is stored before it is sent and stays until a channel accepts it.

This module owns the ``outbox``, ``deliveries`` and ``sms_sent`` tables. Rows are added by the
notification pipeline (``daemon.notify.pipeline``) and by the delivery's fallback; ``daemon.notify.delivery``
works them off, sending each through its channel and recording every attempt here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import structlog

from channels.model import NO_PARTS, Alert, ChannelSpec, Notification, Parts, Person, Result
from daemon.clock import to_epoch
from daemon.incidents.alerts import alert_from_dict, alert_to_dict
from daemon.notify import outbox_meta
from daemon.store import Store, dumps, loads

log = structlog.get_logger(__name__)

Render = Callable[[Alert, ChannelSpec], "Rendered"]


@dataclass(frozen=True)
class Rendered:
    """A notification's text for one channel; ``parts`` carries e.g. the HTML part of an email."""

    title: str
    body: str
    parts: Parts = NO_PARTS


def enqueue(db: sqlite3.Connection, notification_id: str, incident_id: str | None, channel: str,
            recipients: tuple[Person, ...], rendered: Rendered, now: datetime, alert: Alert | None = None,
            group_wait: timedelta = timedelta(0)) -> int:
    """Store a notification (idempotent by id). Returns 1 when new, 0 when already queued.

    The alert is kept beside the text so a fallback channel can render it in its own style. With a
    ``group_wait`` the notification waits that long for others to the same people on the same channel,
    and goes out with them as one."""
    meta = outbox_meta.dump(rendered.parts, grouped=bool(group_wait))
    cursor = db.execute(
        "INSERT OR IGNORE INTO outbox (id, incident_id, channel, recipients, title, body, meta, alert, status,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        (notification_id, incident_id, channel, dumps(_people(recipients)), rendered.title, rendered.body,
         meta, dumps(alert_to_dict(alert)) if alert else None, to_epoch(now + group_wait), to_epoch(now)))
    return cursor.rowcount


def _people(recipients: tuple[Person, ...]) -> list[dict[str, str | None]]:
    # ``dingtalk`` and ``feishu`` only when set: everybody else's row stays as it was (grouping compares
    # the column).
    return [{"key": p.key, "name": p.name, "role": p.role, "phone": p.phone, "email": p.email}
            | ({"dingtalk": p.dingtalk} if p.dingtalk else {}) | ({"feishu": p.feishu} if p.feishu else {})
            for p in recipients]


def record_test_outcome(db: sqlite3.Connection, notification_id: str, ok: bool, detail: str, now: datetime) -> None:
    """A notification sent straight away (``yuqing notify-test``): sent or failed, never pending (the daemon
    must not send it again), with its one attempt."""
    db.execute("UPDATE outbox SET status = ?, attempts = 1, last_error = ?, sent_at = ? WHERE id = ?",
               ("sent" if ok else "failed", None if ok else detail, to_epoch(now) if ok else None,
                notification_id))
    db.execute("INSERT INTO deliveries (notification_id, at, outcome, detail) VALUES (?, ?, ?, ?)",
               (notification_id, to_epoch(now), "ok" if ok else "failed", detail))


def sent_to(db: sqlite3.Connection, incident_id: str) -> list[tuple[str, tuple[Person, ...]]]:
    """Channel and recipients of every notification about the incident that was sent, oldest first;
    its 已处置 notices do not count."""
    rows = db.execute("SELECT channel, recipients FROM outbox WHERE incident_id = ? AND status = 'sent'"
                      " AND id NOT LIKE '%:resolved:%' ORDER BY created_at, id", (incident_id,)).fetchall()
    return [(row["channel"], _persons(row["recipients"])) for row in rows]


def move_pending(db: sqlite3.Connection, by: timedelta) -> int:
    """Move the next attempt of every pending notification by ``by`` (after the wall clock stepped).
    Returns how many moved."""
    moved: int = db.execute("UPDATE outbox SET next_attempt_at = next_attempt_at + ? WHERE status = 'pending'",
                            (by.total_seconds(),)).rowcount
    return moved


def sms_count(db: sqlite3.Connection, person: str, since: datetime) -> int:
    """How many SMS notifications ``person`` was counted for after ``since``."""
    (count,) = db.execute("SELECT count(*) FROM sms_sent WHERE person = ? AND at > ?",
                          (person, to_epoch(since))).fetchone()
    return int(count)


def count_sms(db: sqlite3.Connection, notification_id: str, people: tuple[Person, ...], now: datetime) -> None:
    """One SMS to each of ``people``, for the per-person hourly limit."""
    db.executemany("INSERT INTO sms_sent (person, at, notification_id) VALUES (?, ?, ?)",
                   [(person.key, to_epoch(now), notification_id) for person in people])


@dataclass(frozen=True)
class Pending:
    notification: Notification
    incident_id: str | None
    attempts: int
    created_at: float
    alert: Alert | None
    grouped: bool = False  # may go out together with others to the same people on the same channel


def due(store: Store, now: datetime, limit: int = 50) -> list[Pending]:
    """Pending notifications due by ``now``, the longest due first."""
    rows = store.query("SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
                       " ORDER BY next_attempt_at, created_at LIMIT ?", (to_epoch(now), limit))
    return [_pending(r) for r in rows]


def grouped_with(store: Store, notification: Notification) -> list[Pending]:
    """Every pending grouped notification to the same people on the same channel, due or not."""
    rows = store.query(
        "SELECT * FROM outbox WHERE status = 'pending' AND channel = ? AND recipients = ?"
        " AND json_extract(meta, '$.group') IS NOT NULL ORDER BY created_at, id",  # outbox_meta.GROUP
        (notification.channel, dumps(_people(notification.recipients))))
    return [_pending(r) for r in rows]


def record_attempt(db: sqlite3.Connection, notification_id: str, at: datetime, result: Result, status: str,
                   attempts: int, next_at: datetime | None, recipients: tuple[Person, ...]) -> None:
    """One delivery attempt and where the notification stands after it, inside the caller's transaction."""
    db.execute("INSERT INTO deliveries (notification_id, at, outcome, detail) VALUES (?, ?, ?, ?)",
               (notification_id, to_epoch(at), result.outcome.value, result.detail))
    db.execute("UPDATE outbox SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,"
               " sent_at = ?, recipients = ? WHERE id = ?",
               (status, attempts, None if result.ok else result.detail, to_epoch(next_at or at),
                to_epoch(at) if result.ok else None, dumps(_people(recipients)), notification_id))


def _pending(row: sqlite3.Row) -> Pending:
    """A stored notification as it is sent; ``meta`` as any daemon version wrote it (``outbox_meta``)."""
    parts, grouped = outbox_meta.load(row["meta"])
    alert = alert_from_dict(loads(row["alert"])) if row["alert"] else None
    # The alert goes with it: a DingTalk card is filled from it (title, level, excerpt, deadline).
    notification = Notification(id=row["id"], channel=row["channel"], recipients=_persons(row["recipients"]),
                                title=row["title"], body=row["body"], alert=alert, parts=parts)
    return Pending(notification, row["incident_id"], row["attempts"], row["created_at"], alert, grouped)


def _persons(recipients: str) -> tuple[Person, ...]:
    """The people of a stored ``recipients`` column."""
    return tuple(Person(key=p["key"], name=p["name"], role=p.get("role") or "", phone=p.get("phone"),
                        email=p.get("email"), dingtalk=p.get("dingtalk"),
                        feishu=p.get("feishu")) for p in loads(recipients))


@dataclass(frozen=True)
class Queued:
    """A notification of an incident as stored, for its timeline and for who was told."""

    channel: str
    title: str
    status: str
    recipients: tuple[dict[str, Any], ...]  # as ``enqueue`` stored them: key, name, role, phone, email
    created_at: float  # UNIX seconds, as stored


def of_incident(store: Store, incident_id: str) -> list[Queued]:
    """The incident's notifications in the order they were queued."""
    rows = store.query("SELECT channel, title, status, recipients, created_at FROM outbox WHERE incident_id = ?"
                       " ORDER BY created_at, rowid", (incident_id,))
    return [Queued(r["channel"], r["title"], r["status"], tuple(loads(r["recipients"])), r["created_at"])
            for r in rows]


def incidents_told(store: Store, person: str, since: datetime) -> list[str]:
    """The incidents whose notifications since ``since`` named ``person``, the most recently told first:
    what a chat reply 收到 acknowledges."""
    rows = store.query("SELECT incident_id, recipients FROM outbox WHERE incident_id IS NOT NULL"
                       " AND created_at >= ? ORDER BY created_at DESC, rowid DESC", (to_epoch(since),))
    told = (r["incident_id"] for r in rows if any(p.get("key") == person for p in loads(r["recipients"])))
    return list(dict.fromkeys(told))


# ---------------------------------------------------------------- reads for reports, status and metrics


class OutboxEntry(NamedTuple):
    """An outbox entry as the ledger tells it: who was told, over which channel, with what outcome."""

    incident_id: str
    channel: str
    recipients: tuple[dict[str, Any], ...]  # as stored: key, name, role, phone, email
    status: str
    created_at: float  # UNIX seconds
    sent_at: float | None


class ChannelError(NamedTuple):
    channel: str
    error: str
    next_attempt_at: float  # UNIX seconds


def counts_by_status(store: Store) -> dict[str, int]:
    """Notifications per status (pending, sent, failed), by status name."""
    return {r["status"]: int(r["n"]) for r in store.query(
        "SELECT status, count(*) AS n FROM outbox GROUP BY status ORDER BY status")}


def last_errors(store: Store, limit: int) -> list[ChannelError]:
    """The most recent errors, by the next try still planned, latest first."""
    return [ChannelError(r["channel"], r["last_error"], r["next_attempt_at"]) for r in store.query(
        "SELECT channel, last_error, next_attempt_at FROM outbox WHERE last_error IS NOT NULL"
        " ORDER BY next_attempt_at DESC LIMIT ?", (limit,))]


def attempts_by_channel(store: Store) -> list[tuple[str, str, int]]:
    """Delivery attempts as (channel, outcome, count), by channel then outcome."""
    return [(r["channel"], r["outcome"], int(r["n"])) for r in store.query(
        "SELECT o.channel, d.outcome, count(*) AS n FROM deliveries d JOIN outbox o ON o.id = d.notification_id"
        " GROUP BY o.channel, d.outcome ORDER BY o.channel, d.outcome")]


def for_incidents(store: Store, incident_ids: list[str]) -> dict[str, list[OutboxEntry]]:
    """Each incident's notifications, oldest first, by incident id (none: left out)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    found: dict[str, list[OutboxEntry]] = {}
    for r in store.query(f"SELECT incident_id, channel, recipients, status, created_at, sent_at FROM outbox"
                         f" WHERE incident_id IN ({','.join('?' * len(ids))}) ORDER BY created_at, id", tuple(ids)):
        found.setdefault(r["incident_id"], []).append(OutboxEntry(
            r["incident_id"], r["channel"], tuple(loads(r["recipients"])), r["status"], r["created_at"], r["sent_at"]))
    return found
