"""The one way a notice reaches people: every producer hands a ``Notice`` to ``send``.

In: a ``Notice`` (what: an incident's alert, or a text of its own; to whom: teams resolved now, or
people named per channel; over which channels; how urgent). Out: notifications in the outbox, one per
channel, or nothing and the reason (``Sent``). The stages, in order:

1. recipients — a rota team (值班) reaches whoever is on duty at this moment;
2. silences — a silenced incident's notices are dropped (its timers go on, ``daemon.notify.silences``);
3. quiet hours — blue and yellow steps, 已处置 notices and reports wait until they end
   (``Sent.held_until``: the producer tries again); red, deadline reminders, digests, the service's own
   trouble and a test staff asked for are never held;
4. SMS limits — below red, a person over the hourly limit gets the overflow channel instead;
5. grouping — a first notice on a new story waits ``group_wait`` for others to the same people;
6. render — the channel's template (with the person's ack link) or the notice's own text, masked;
7. the outbox — stored before it is sent, idempotent by key (``daemon.notify.outbox``).

Producers: escalation steps and digests (``escalation``), deadline reminders (``deadlines``), 已处置
notices (``closure``), admin notices (``admin``, ``daemon.reports.source_watch``), scheduled reports
(``daemon.reports.schedule``) and ``yuqing notify-test``. Only this module and the outbox itself (its
delivery's fallback channel re-sends what already passed here) write outbox rows; a test holds every
module to it.
The exception is the notice that the store cannot be written (``admin.store_trouble_notices``): it cannot
be stored, so the service hands it to the channels at once.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from channels.delivery import addressed
from channels.masking import mask
from channels.model import Alert, ChannelSpec, Notification, Person
from daemon import incidents
from daemon.config.policy import NotifyConfig
from daemon.notify import outbox, silences
from daemon.notify.outbox import Render, Rendered
from rules.model import Level

log = structlog.get_logger(__name__)


class NoticeKind(enum.Enum):
    STEP = "step"  # a step of the incident's policy: new, raised, resurgence, escalation, repeat
    DIGEST = "digest"  # incidents gathered for a step with ``digest: true``
    DEADLINE = "deadline"  # a reminder before or at a deadline (时限), or that it was missed
    RESOLVED = "resolved"  # 已处置, to everyone who was told
    ADMIN = "admin"  # the service's own trouble, to the admin team
    REPORT = "report"  # 日报 / 周报
    TEST = "test"  # ``yuqing notify-test``

    @property
    def holdable(self) -> bool:
        """Whether quiet hours may hold it back (below red). Not a deadline reminder (the deadline runs
        through the night: a reminder at 07:00 of a report due at 03:00 is no reminder), nor a digest
        (sent at the hour the county chose), nor the service's own trouble, nor a test staff asked for."""
        return self in (NoticeKind.STEP, NoticeKind.RESOLVED, NoticeKind.REPORT)

    @property
    def about_incident(self) -> bool:
        return self in (NoticeKind.STEP, NoticeKind.DEADLINE, NoticeKind.RESOLVED)


@dataclass(frozen=True)
class Notice:
    """What to tell whom, over which channels. ``key`` + ``:channel`` is each notification's id, so the
    same notice given twice (a restart, a retried transaction) is stored once."""

    key: str
    kind: NoticeKind
    level: Level
    via: tuple[str, ...]
    alert: Alert | None = None  # rendered per channel with the templates, unless ``text`` is given
    text: Callable[[ChannelSpec], Rendered] | None = None  # the notice's own words (admin notices, reports)
    teams: tuple[str, ...] = ()  # resolved now: a rota team reaches whoever is on duty
    people: Mapping[str, tuple[Person, ...]] | None = None  # per channel, when the producer knows who
    incident_id: str | None = None
    groupable: bool = False  # the first word on a new story: may wait for others (``group_wait``)
    asked_now: bool = False  # staff asked for it on the command line: quiet hours do not hold it


@dataclass(frozen=True)
class Sent:
    queued: int  # notifications new in the outbox
    held_until: datetime | None = None  # quiet hours: nothing was queued; try again then
    silenced_by: int | None = None  # the silence that dropped it


def send(db: sqlite3.Connection, notify: NotifyConfig, notice: Notice, now: datetime,
         render: Render | None = None) -> Sent:
    """``notice`` through every stage into the outbox, inside the caller's transaction."""
    if notice.kind.about_incident and notice.incident_id is not None:
        silence = silences.active(db, incidents.get(db, notice.incident_id), now)
        if silence is not None:
            log.info("notify.silenced", incident=notice.incident_id, key=notice.key, silence=silence.id,
                     until=silence.until.isoformat())
            return Sent(0, silenced_by=silence.id)
    if notice.kind.holdable and not notice.asked_now and notify.quiet is not None:
        held = notify.quiet.holds(notice.level, now)
        if held is not None:
            log.info("notify.held", key=notice.key, level=str(notice.level), until=held.isoformat())
            return Sent(0, held_until=held)
    everyone = notify.members(notice.teams, now) if notice.teams else ()
    queued = 0
    for name in notice.via:
        spec = notify.channels.get(name)
        if spec is None:
            log.error("notify.unknown_channel", channel=name, key=notice.key, incident=notice.incident_id)
            continue
        people = notice.people.get(name, ()) if notice.people is not None else everyone
        over: tuple[Person, ...] = ()
        if spec.address == "phone" and notify.sms_limit is not None:
            people, over = _split_by_sms_limit(db, notify, notice, people, now)
        if people or notice.text is not None:  # an alert to nobody is not sent; a text goes to its channel
            new = _store(db, notice, spec, people, now, render,
                         notify.group_wait if notice.groupable else timedelta(0))
            if new and spec.address == "phone" and notify.sms_limit is not None:
                outbox.count_sms(db, f"{notice.key}:{name}", people, now)  # counted once, however often it is given
            queued += new
        if over:
            queued += _overflow(db, notify, notice, name, over, now, render)
    return Sent(queued)


def _store(db: sqlite3.Connection, notice: Notice, spec: ChannelSpec, people: tuple[Person, ...], now: datetime,
           render: Render | None, wait: timedelta = timedelta(0), suffix: str = "") -> int:
    rendered = _rendered(notice, spec, people, render)
    return outbox.enqueue(db, f"{notice.key}:{spec.name}{suffix}", notice.incident_id, spec.name, people, rendered,
                          now, notice.alert, group_wait=wait)


def _rendered(notice: Notice, spec: ChannelSpec, people: tuple[Person, ...], render: Render | None) -> Rendered:
    if notice.text is not None:
        own = notice.text(spec)
        return Rendered(mask(own.title), mask(own.body), own.parts)
    if notice.alert is None or render is None:
        raise ValueError(f"notice {notice.key}: neither a text of its own nor an alert and a renderer")
    return render(addressed(notice.alert, spec, people), spec)  # templates mask every output


def _split_by_sms_limit(db: sqlite3.Connection, notify: NotifyConfig, notice: Notice,
                        recipients: tuple[Person, ...], now: datetime) -> tuple[tuple[Person, ...], tuple[Person, ...]]:
    """Who may get this SMS under the per-person hourly limit, and who is over it. Red always goes."""
    limit = notify.sms_limit
    assert limit is not None
    if notice.level >= Level.RED:
        return recipients, ()
    allowed: list[Person] = []
    over: list[Person] = []
    for person in recipients:
        count = outbox.sms_count(db, person.key, now - timedelta(hours=1))
        (over if count >= limit.per_hour else allowed).append(person)
    return tuple(allowed), tuple(over)


def _overflow(db: sqlite3.Connection, notify: NotifyConfig, notice: Notice, channel: str,
              over: tuple[Person, ...], now: datetime, render: Render | None) -> int:
    """Those over the SMS limit get the overflow channel instead, unless the notice already uses it."""
    limit = notify.sms_limit
    assert limit is not None
    log.warning("notify.sms_limited", incident=notice.incident_id, channel=channel, per_hour=limit.per_hour,
                people=[p.key for p in over], overflow=limit.overflow)
    spec = notify.channels.get(limit.overflow) if limit.overflow else None
    if spec is None or spec.name in notice.via:
        return 0
    return _store(db, notice, spec, over, now, render, suffix=":over-limit")


def record_test(db: sqlite3.Connection, notification: Notification, alert: Alert, ok: bool, detail: str,
                now: datetime) -> None:
    """``yuqing notify-test`` sends straight away and waits for the answer; the outbox keeps it as sent
    or failed (never pending: the daemon must not send it again), with the attempt."""
    outbox.enqueue(db, notification.id, None, notification.channel, notification.recipients,
                   Rendered(notification.title, notification.body, notification.parts), now, alert)
    outbox.record_test_outcome(db, notification.id, ok, detail, now)
