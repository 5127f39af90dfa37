"""The outbox: every notification is stored before it is sent and stays until a channel accepts it.

Delivery is at-least-once: a crash between a channel's acceptance and the sent mark sends once more,
which beats losing a red alert. Retries back off exponentially with jitter, capped, for up to
``GIVE_UP_AFTER``; every attempt is recorded in ``deliveries``.

A store that cannot take the record of an attempt (disk full, locked) never causes the attempt again:
the outcome is kept in memory and written, with back-off, once the store takes writes again.

Notifications of different incidents or channels are sent side by side (``workers`` threads), so one
slow mail server or a burst of new incidents does not queue every alert behind the others; those of one
incident on one channel keep their order. Only sending runs on the workers: every read and write of
the store stays on the thread that called ``deliver_due``.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import structlog

from channels.model import NO_PARTS, Alert, ChannelSpec, Notification, Outcome, Parts, Person, Result
from daemon.clock import to_epoch
from daemon.config.policy import Retry
from daemon.incidents.alerts import alert_from_dict, alert_to_dict
from daemon.notify import outbox_meta
from daemon.notify.grouping import combined
from daemon.store import Store, dumps, loads
from daemon.store.health import StoreUnwritable

log = structlog.get_logger(__name__)

WORKERS = 8  # notifications sent at once, each to its own incident and channel
Deliver = Callable[[ChannelSpec, Notification], Result]
Render = Callable[[Alert, ChannelSpec], "Rendered"]
# (transaction, notification id, failing channel, fallback channel, attempts, now)
OnFallback = Callable[[sqlite3.Connection, str, str, str, int, datetime], object]


@dataclass(frozen=True)
class Rendered:
    """A notification's text for one channel; ``parts`` carries e.g. the HTML part of an email."""

    title: str
    body: str
    parts: Parts = NO_PARTS

FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=24)
STORE_RETRY_MAX = 30.0  # seconds between tries to write kept outcomes while the store stays unwritable


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
    # ``dingtalk`` only when set: everybody else's row stays as it was (grouping compares the column).
    return [{"key": p.key, "name": p.name, "role": p.role, "phone": p.phone, "email": p.email}
            | ({"dingtalk": p.dingtalk} if p.dingtalk else {}) for p in recipients]


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


def backoff(attempts: int, rng: random.Random, retry: Retry | None = None) -> timedelta:
    """5 s, 10 s, 20 s … capped at 10 min (notify.yaml ``retry``), with ±20% jitter so retries of many
    items spread out."""
    first, cap = (retry.first, retry.max) if retry else (FIRST_RETRY, MAX_RETRY)
    base = min(first * 2 ** min(max(0, attempts - 1), 16), cap)  # bounded: no overflow
    jittered: timedelta = base * rng.uniform(0.8, 1.2)
    return jittered


@dataclass(frozen=True)
class Pending:
    notification: Notification
    incident_id: str | None
    attempts: int
    created_at: float
    alert: Alert | None
    grouped: bool = False  # may go out together with others to the same people on the same channel


Sent = tuple[list[Pending], ChannelSpec | None, Result]  # a notification (a group as one), how it went


@dataclass(frozen=True)
class Unrecorded:
    """An attempt whose outcome the store could not take yet: the notice is not attempted again."""

    item: Pending
    spec: ChannelSpec | None
    result: Result
    at: datetime


class Outbox:
    def __init__(self, store: Store, channels: dict[str, ChannelSpec], deliver: Deliver,
                 rng: random.Random | None = None, render: Render | None = None, retry: Retry | None = None,
                 on_fallback: OnFallback | None = None, monotonic: Callable[[], float] = time.monotonic,
                 workers: int = WORKERS) -> None:
        self.store = store
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self.channels = channels
        self.deliver = deliver
        self.rng = rng or random.Random()
        self.render = render  # needed only for falling back to another channel
        self.retry = retry or Retry(FIRST_RETRY, MAX_RETRY, GIVE_UP_AFTER)
        self.on_fallback = on_fallback  # tells the admin team, in the fallback's transaction
        self.monotonic = monotonic  # waits between tries to write kept outcomes
        self.unrecorded: dict[str, Unrecorded] = {}
        self._store_failures = 0
        self._store_retry_at = float("-inf")

    def due(self, now: datetime, limit: int = 50) -> list[Pending]:
        rows = self.store.query(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, created_at LIMIT ?", (to_epoch(now), limit))
        return [_pending(r) for r in rows]

    def deliver_due(self, now: Callable[[], datetime], *, flush: bool = False) -> int:
        """Try every due notification once (``flush``: also those still waiting for their group).
        Returns how many were attempted."""
        self.record_kept()
        pending = self.due(datetime.max.replace(tzinfo=now().tzinfo) if flush else now())
        done: set[str] = set(self.unrecorded)  # delivered already: only their record is missing
        lanes: dict[tuple[str, str | None], list[list[Pending]]] = {}
        for item in pending:
            if item.notification.id in done:
                continue
            group = self._group_of(item) if item.grouped else [item]
            group = [g for g in group if g.notification.id not in done]
            done |= {g.notification.id for g in group}
            lanes.setdefault((item.notification.channel, item.incident_id), []).append(group)
        if len(lanes) <= 1 or self.workers <= 1:
            sent = [self._send(group) for lane in lanes.values() for group in lane]
        else:
            pool = self._pool or ThreadPoolExecutor(self.workers, thread_name_prefix="deliver")
            self._pool = pool
            futures: list[Future[list[Sent]]] = [pool.submit(self._send_lane, lane) for lane in lanes.values()]
            sent = [one for future in futures for one in future.result()]
        for group, spec, result in sent:
            self._log_grouped(group)
            for item in group:
                self._record(item, spec, result, now)
        return sum(len(group) for group, _spec, _result in sent)

    def _send_lane(self, lane: list[list[Pending]]) -> list[Sent]:
        """One incident's notifications on one channel, in order (on a worker thread)."""
        return [self._send(group) for group in lane]

    def close(self) -> None:
        """Let the sending threads go (they are idle between ``deliver_due`` calls)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _group_of(self, item: Pending) -> list[Pending]:
        """Every pending grouped notification to the same people on the same channel, due or not: the
        first one's wait is the whole group's wait."""
        n = item.notification
        rows = self.store.query(
            "SELECT * FROM outbox WHERE status = 'pending' AND channel = ? AND recipients = ?"
            " AND json_extract(meta, '$.group') IS NOT NULL ORDER BY created_at, id",  # outbox_meta.GROUP
            (n.channel, dumps(_people(n.recipients))))
        group = [_pending(r) for r in rows]
        return group or [item]

    def _send(self, group: list[Pending]) -> Sent:
        """Send one notification (a group as one): no store access, so it may run on a worker thread.
        Whatever goes wrong in sending is that notification's outcome, never the outbox's end."""
        spec = self.channels.get(group[0].notification.channel)
        n = group[0].notification if len(group) == 1 else combined([(g.notification, g.alert) for g in group], spec)
        if spec is None:
            return group, spec, Result(Outcome.PERMANENT, f'channel "{n.channel}" is not configured')
        try:
            return group, spec, self.deliver(spec, n)
        except Exception as exc:  # a channel's bug: retried like a failed send, with back-off
            log.exception("notify.send_raised", notification=n.id, channel=n.channel)
            return group, spec, Result(Outcome.RETRY, f"sending raised {type(exc).__name__}")

    @staticmethod
    def _log_grouped(group: list[Pending]) -> None:
        if len(group) > 1:
            log.info("notify.grouped", channel=group[0].notification.channel,
                     notifications=[g.notification.id for g in group])

    def _record(self, item: Pending, spec: ChannelSpec | None, result: Result, now: Callable[[], datetime]) -> None:
        fact = Unrecorded(item, spec, result, now())
        if self.unrecorded or not self.store.health.writable:  # keep it behind those already waiting
            self._keep(fact)
            return
        try:
            self._write(fact)
        except StoreUnwritable:
            self._keep(fact)

    def _keep(self, fact: Unrecorded) -> None:
        self.unrecorded[fact.item.notification.id] = fact
        log.error("notify.unrecorded", notification=fact.item.notification.id, incident=fact.item.incident_id,
                  channel=fact.item.notification.channel, outcome=fact.result.outcome.value,
                  kept=len(self.unrecorded), hint="kept in memory until the store takes writes; not sent again")

    def record_kept(self) -> bool:
        """Write the outcomes kept while the store was unwritable, in order. True when none is left.

        Tries at once when the store took a write elsewhere since; otherwise backs off 1 s, 2 s … 30 s."""
        if not self.unrecorded:
            return True
        if not self.store.health.writable and self.monotonic() < self._store_retry_at:
            return False
        for key, fact in list(self.unrecorded.items()):
            try:
                self._write(fact)
            except StoreUnwritable:
                self._store_failures += 1
                wait = min(2.0 ** (self._store_failures - 1), STORE_RETRY_MAX)
                self._store_retry_at = self.monotonic() + wait
                return False
            del self.unrecorded[key]
            log.warning("notify.recorded_late", notification=key, delivered_at=fact.at.isoformat())
        self._store_failures = 0
        return True

    def _write(self, fact: Unrecorded) -> None:
        item, spec, result, at = fact.item, fact.spec, fact.result, fact.at
        n = item.notification
        attempts = item.attempts + 1
        status, next_at = "sent", None
        if result.outcome is Outcome.RETRY:
            wait = backoff(attempts, self.rng, self.retry)
            if result.retry_after is not None:  # the service said how long: sooner would be refused again
                wait = max(wait, timedelta(seconds=result.retry_after))
            next_at = at + wait
            status = "pending" if to_epoch(next_at) - item.created_at < self.retry.give_up.total_seconds() else "failed"
        elif result.outcome is Outcome.PERMANENT:
            status = "failed"
        # People a per-recipient channel already reached are not sent to again on a retry.
        remaining = tuple(p for p in n.recipients if p.key not in result.reached)
        with self.store.transaction() as db:
            db.execute("INSERT INTO deliveries (notification_id, at, outcome, detail) VALUES (?, ?, ?, ?)",
                       (n.id, to_epoch(at), result.outcome.value, result.detail))
            db.execute("UPDATE outbox SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,"
                       " sent_at = ?, recipients = ? WHERE id = ?",
                       (status, attempts, None if result.ok else result.detail,
                        to_epoch(next_at or at), to_epoch(at) if result.ok else None,
                        dumps(_people(remaining or n.recipients)), n.id))
            if not result.ok and spec is not None:
                self._fall_back(db, item, spec, attempts, remaining or n.recipients, at)
        event = {"sent": "notify.sent", "pending": "notify.retry", "failed": "notify.failed"}[status]
        logger = log.info if status == "sent" else (log.warning if status == "pending" else log.error)
        logger(event, notification=n.id, incident=item.incident_id, channel=n.channel,
               recipients=[p.key for p in n.recipients], attempt=attempts, detail=result.detail or None)

    def _fall_back(self, db: sqlite3.Connection, item: Pending, spec: ChannelSpec, attempts: int,
                   recipients: tuple[Person, ...], at: datetime) -> None:
        """After ``fallback_after`` failed attempts, the same alert also goes out on the fallback channel."""
        target = self.channels.get(spec.fallback) if spec.fallback else None
        if target is None or attempts != spec.fallback_after or item.alert is None or self.render is None:
            return
        fallback_id = f"{item.notification.id}>{target.name}"
        queued = enqueue(db, fallback_id, item.incident_id, target.name, recipients,
                         self.render(item.alert, target), at, item.alert)
        if queued:
            log.error("notify.fallback", notification=item.notification.id, channel=spec.name,
                      fallback=target.name, attempts=attempts, recipients=[p.key for p in recipients])
            if self.on_fallback is not None:
                self.on_fallback(db, item.notification.id, spec.name, target.name, attempts, at)


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
                        email=p.get("email"), dingtalk=p.get("dingtalk")) for p in loads(recipients))


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
