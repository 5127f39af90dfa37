"""The outbox: every notification is stored before it is sent and stays until a channel accepts it.

Delivery is at-least-once: a crash between a channel's acceptance and the sent mark sends once more,
which beats losing a red alert. Retries back off exponentially with jitter, capped, for up to
``GIVE_UP_AFTER``; every attempt is recorded in ``deliveries``.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from channels.model import Alert, ChannelSpec, Notification, Outcome, Person, Result
from daemon.alerts import alert_from_dict, alert_to_dict
from daemon.clock import to_epoch
from daemon.store import Store, dumps, loads

log = structlog.get_logger(__name__)

Deliver = Callable[[ChannelSpec, Notification], Result]
Render = Callable[[Alert, ChannelSpec], "Rendered"]


@dataclass(frozen=True)
class Rendered:
    """A notification's text for one channel; ``meta`` carries e.g. the HTML part of an email."""

    title: str
    body: str
    meta: dict[str, str] = field(default_factory=dict)

FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=24)


def enqueue(db: sqlite3.Connection, notification_id: str, incident_id: str | None, channel: str,
            recipients: tuple[Person, ...], rendered: Rendered, now: datetime, alert: Alert | None = None) -> int:
    """Store a notification (idempotent by id). Returns 1 when new, 0 when already queued.

    The alert is kept beside the text so a fallback channel can render it in its own style."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO outbox (id, incident_id, channel, recipients, title, body, meta, alert, status,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        (notification_id, incident_id, channel, dumps(_people(recipients)), rendered.title, rendered.body,
         dumps(rendered.meta), dumps(alert_to_dict(alert)) if alert else None, to_epoch(now), to_epoch(now)))
    return cursor.rowcount


def _people(recipients: tuple[Person, ...]) -> list[dict[str, str | None]]:
    return [{"key": p.key, "name": p.name, "role": p.role, "phone": p.phone, "email": p.email} for p in recipients]


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """5 s, 10 s, 20 s … capped at 10 min, with ±20% jitter so retries of many items spread out."""
    base = min(FIRST_RETRY * 2 ** min(max(0, attempts - 1), 16), MAX_RETRY)  # bounded: no overflow
    jittered: timedelta = base * rng.uniform(0.8, 1.2)
    return jittered


@dataclass(frozen=True)
class Pending:
    notification: Notification
    incident_id: str | None
    attempts: int
    created_at: float
    alert: Alert | None


class Outbox:
    def __init__(self, store: Store, channels: dict[str, ChannelSpec], deliver: Deliver,
                 rng: random.Random | None = None, render: Render | None = None) -> None:
        self.store = store
        self.channels = channels
        self.deliver = deliver
        self.rng = rng or random.Random()
        self.render = render  # needed only for falling back to another channel

    def due(self, now: datetime, limit: int = 50) -> list[Pending]:
        rows = self.store.query(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, created_at LIMIT ?", (to_epoch(now), limit))
        return [Pending(_notification(r), r["incident_id"], r["attempts"], r["created_at"],
                        alert_from_dict(loads(r["alert"])) if r["alert"] else None) for r in rows]

    def deliver_due(self, now: Callable[[], datetime]) -> int:
        """Try every due notification once. Returns how many were attempted."""
        pending = self.due(now())
        for item in pending:
            self._attempt(item, now)
        return len(pending)

    def _attempt(self, item: Pending, now: Callable[[], datetime]) -> None:
        n = item.notification
        spec = self.channels.get(n.channel)
        result = (Result(Outcome.PERMANENT, f'channel "{n.channel}" is not configured') if spec is None
                  else self.deliver(spec, n))
        at = now()
        attempts = item.attempts + 1
        status, next_at = "sent", None
        if result.outcome is Outcome.RETRY:
            next_at = at + backoff(attempts, self.rng)
            status = "pending" if to_epoch(next_at) - item.created_at < GIVE_UP_AFTER.total_seconds() else "failed"
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


def _notification(row: sqlite3.Row) -> Notification:
    people = tuple(Person(key=p["key"], name=p["name"], role=p.get("role") or "", phone=p.get("phone"),
                          email=p.get("email")) for p in loads(row["recipients"]))
    return Notification(id=row["id"], channel=row["channel"], recipients=people, title=row["title"],
                        body=row["body"], meta=loads(row["meta"]))
