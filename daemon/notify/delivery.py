"""Delivery: the thread that works off the outbox (``daemon.notify.outbox``), sending each due
notification through its channel and recording the attempt.

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

import structlog

from channels.model import ChannelSpec, Notification, Outcome, Person, Result
from daemon.clock import to_epoch
from daemon.config.policy import Retry
from daemon.notify import outbox
from daemon.notify.grouping import combined
from daemon.notify.outbox import Pending, Render
from daemon.store import Store
from daemon.store.health import StoreUnwritable

log = structlog.get_logger(__name__)

WORKERS = 8  # notifications sent at once, each to its own incident and channel
Deliver = Callable[[ChannelSpec, Notification], Result]
# (transaction, notification id, failing channel, fallback channel, attempts, now)
OnFallback = Callable[[sqlite3.Connection, str, str, str, int, datetime], object]
FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=24)
STORE_RETRY_MAX = 30.0  # seconds between tries to write kept outcomes while the store stays unwritable


def backoff(attempts: int, rng: random.Random, retry: Retry | None = None) -> timedelta:
    """5 s, 10 s, 20 s … capped at 10 min (notify.yaml ``retry``), with ±20% jitter so retries of many
    items spread out."""
    first, cap = (retry.first, retry.max) if retry else (FIRST_RETRY, MAX_RETRY)
    base = min(first * 2 ** min(max(0, attempts - 1), 16), cap)  # bounded: no overflow
    jittered: timedelta = base * rng.uniform(0.8, 1.2)
    return jittered


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
        return outbox.due(self.store, now, limit)

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
        return outbox.grouped_with(self.store, item.notification) or [item]

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
            outbox.record_attempt(db, n.id, at, result, status, attempts, next_at, remaining or n.recipients)
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
        queued = outbox.enqueue(db, fallback_id, item.incident_id, target.name, recipients,
                         self.render(item.alert, target), at, item.alert)
        if queued:
            log.error("notify.fallback", notification=item.notification.id, channel=spec.name,
                      fallback=target.name, attempts=attempts, recipients=[p.key for p in recipients])
            if self.on_fallback is not None:
                self.on_fallback(db, item.notification.id, spec.name, target.name, attempts, at)
