"""Escalation: the policy steps and deadlines of an incident's level as timers in the store.

``decide`` is pure: given a step, the incident and the round, what is due. ``Escalation`` does the
effects: a timer's notifications and its fired mark commit in one transaction, so a restart fires an
overdue timer once and never twice. Deadline timers are worked by ``daemon.notify.deadlines``. Recipients are
resolved when a timer fires, so a rota team (值班) reaches whoever is on duty at that moment.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import structlog

from channels.model import Alert
from daemon import incidents
from daemon.clock import local
from daemon.config.policy import NotifyConfig, Step
from daemon.incidents import Incident, Status
from daemon.notify import deadlines, pipeline
from daemon.notify.outbox import Render
from daemon.notify.pipeline import Notice, NoticeKind, Sent
from daemon.store import Store, timers
from rules.model import Level

log = structlog.get_logger(__name__)

Kind = Literal["new", "escalation", "repeat", "raised", "resurgence", "digest", "test"]


@dataclass(frozen=True)
class Decision:
    action: Literal["send", "digest", "skip", "defer"]
    reason: str
    teams: tuple[str, ...] = ()
    kind: Kind = "new"
    next_due: datetime | None = None  # the next round of a repeating step; for "defer", when to try again
    missed: int = 0  # rounds of a repeating step that fell due unsent: told in this one


def decide(step: Step | None, index: int, incident: Incident, level: Level, round_: int,
           due_at: datetime, notify: NotifyConfig | None = None, now: datetime | None = None) -> Decision:
    """What a due timer of ``step`` (the ``index``-th of the level's policy) should do ``now`` (default:
    on time, at ``due_at``).

    With ``notify``, its category routes join the first step and its quiet hours hold back blue and
    yellow (``defer`` until they end); red is never held back."""
    if step is None:
        return Decision("skip", "step no longer in policy")
    if incident.status is Status.RESOLVED:
        return Decision("skip", "resolved")
    if incident.level != level:
        return Decision("skip", "superseded by a level change")
    if step.unless_acknowledged and incident.acknowledged:
        return Decision("skip", "acknowledged")
    # A rule's own teams and the category's routes join the first step: they need to know, not to be
    # escalated to.
    routed = notify.routed(incident.category) if notify is not None and index == 0 else ()
    teams = tuple(dict.fromkeys(step.notify + (incident.teams + routed if index == 0 else ())))
    if step.digest:
        return Decision("digest", "gathered for the digest", teams)
    quiet_until = notify.quiet.holds(level, due_at) if notify is not None and notify.quiet else None
    if quiet_until is not None:
        return Decision("defer", "quiet hours", teams, next_due=quiet_until)
    next_due, missed = (None, 0) if step.repeat is None else next_repeat(step, incident, due_at, now or due_at)
    kind: Kind = "repeat" if round_ > 0 else ("escalation" if index > 0 else _first_kind(incident))
    return Decision("send", "due", teams, kind, next_due, missed)


def _first_kind(incident: Incident) -> Kind:
    """The first step of a level says why it is sent: a new story, a rise, or a resurgence (回潮)."""
    return "raised" if incident.alert.kind == "raised" else (
        "resurgence" if incident.alert.kind == "resurgence" else "new")


def next_repeat(step: Step, incident: Incident, due_at: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The next round of a repeating step, and how many rounds fell due unsent since this one (the daemon
    was down, or the clock jumped forward). Those are not sent one by one: this notice says how many, and
    the next counts from now (like Alertmanager's repeat_interval, measured from the last notification)."""
    assert step.repeat is not None
    end = incident.level_at + step.until if step.until is not None else None
    missed = int(max(now - due_at, timedelta(0)) / step.repeat)
    if end is not None:
        missed = min(missed, max(0, int((end - due_at) / step.repeat)))
    candidate = due_at + step.repeat if not missed else now + step.repeat
    return (None if end is not None and candidate > end else candidate), missed


def level_key(incident: Incident) -> str:
    """The incident's current level episode, as its timers and notification ids carry it
    (``timers.Episode``)."""
    return timers.Episode(incident.level, incident.resurgences).key


class Escalation:
    def __init__(self, notify: NotifyConfig, render: Render) -> None:
        self.notify = notify
        self.render = render

    def schedule(self, db: sqlite3.Connection, incident: Incident) -> None:
        """Timers for every step and deadline of the incident's level, counted from when it reached the
        level. The incident shows its earliest deadline."""
        policy = self.notify.policies.get(incident.level)
        dues = []
        for index, step in enumerate(policy.steps if policy else ()):
            due = incident.level_at + step.after
            timers.add_step(db, incident.id, level_key(incident), index, 0, due)
            if step.deadline is not None:
                dues.append(incident.level_at + step.deadline)
        earliest = deadlines.schedule(db, self.notify, incident)
        dues += [earliest] if earliest is not None else []
        if dues:
            incidents.set_deadline(db, incident.id, min(dues))

    def schedule_digest(self, db: sqlite3.Connection, now: datetime) -> None:
        """The next daily digest at ``digest_at`` local time (one timer per day, by its unique key)."""
        hour, minute = (int(x) for x in self.notify.digest_at.split(":"))
        at = local(now).replace(hour=hour, minute=minute, second=0, microsecond=0)
        if at <= local(now):
            at += timedelta(days=1)
        timers.add_digest(db, at.date().isoformat(), at)

    def fire_due(self, store: Store, now: datetime, limit: int = 100) -> int:
        """Fire every due timer, each in its own transaction. Returns how many fired.

        A timer held back by quiet hours gets a later ``due_at`` and stays unfired."""
        fired = 0
        while fired < limit:
            with store.transaction() as db:
                timer = timers.first_due(db, now)
                if timer is None:
                    break
                outcome, later = self._fire(db, timer, now)
                if later is not None:
                    timers.postpone(db, timer.id, later, outcome)
                else:
                    timers.mark_fired(db, timer.id, now, outcome)
            lag = (now - timer.due_at).total_seconds()
            log.info("timer.fired", kind=timer.kind, incident=timer.incident_id or None, level=timer.level,
                     step=timer.step, round=timer.round, outcome=outcome, lag_s=round(lag, 3))
            fired += 1
        return fired

    def _fire(self, db: sqlite3.Connection, timer: timers.Timer, now: datetime) -> tuple[str, datetime | None]:
        if timer.kind == "digest":
            self.schedule_digest(db, now + timedelta(minutes=1))
            return self._send_digest(db, now), None
        incident = incidents.get(db, timer.incident_id)
        level = timers.Episode.parse(timer.level).level
        if timer.kind == "deadline":
            def enqueue(key: str, incident_id: str, alert: Alert, via: tuple[str, ...],
                        teams: tuple[str, ...]) -> int:
                return self._enqueue(db, key, incident_id, alert, via, teams, now, level,
                                     kind=NoticeKind.DEADLINE).queued

            return deadlines.fire(db, self.notify, timer, incident, now, enqueue), None
        policy = self.notify.policies.get(level)
        index = timer.step
        step = policy.steps[index] if policy and index < len(policy.steps) else None
        decision = decide(step, index, incident, level, timer.round, timer.due_at, self.notify, now)
        if decision.action == "defer":
            return f"deferred:{decision.reason}", decision.next_due
        if decision.action == "skip" or step is None:
            return f"skipped:{decision.reason}", None
        if decision.action == "digest":
            timers.add_digest_item(db, incident.id, index, now)
            return "digest", None
        alert = replace(incident.alert, kind=decision.kind, step=index, missed=decision.missed)
        if decision.missed:
            log.warning("timer.coalesced", incident=incident.id, level=timer.level, step=index,
                        round=timer.round, missed=decision.missed,
                        next_due=decision.next_due.isoformat() if decision.next_due else None)
        key = f"{incident.id}:{timer.level}:{index}:{timer.round}"
        # Only the first word on a new story waits for others (group_wait); escalations, repeats and
        # deadline reminders are about one story already known, and go at once.
        sent = self._enqueue(db, key, incident.id, alert, step.via, decision.teams, now, level,
                             groupable=decision.kind == "new" and index == 0)
        if sent.held_until is not None:  # ``decide`` holds a step in quiet hours first; this only follows it
            return "deferred:quiet hours", sent.held_until
        queued = sent.queued
        if decision.next_due is not None:
            timers.add_step(db, incident.id, timer.level, index, timer.round + 1, decision.next_due)
        return f"sent:{queued}", None

    def _send_digest(self, db: sqlite3.Connection, now: datetime) -> str:
        rows = []
        groups: dict[tuple[str, int], list[Alert]] = {}
        for item in timers.unsent_digest_items(db):
            found = incidents.stored_alert(db, item.incident_id)
            if found is not None:  # an item of an incident no longer stored is left alone
                rows.append(item)
                groups.setdefault((str(found[0]), item.step), []).append(found[1])
        if not rows:
            return "digest:empty"
        queued = 0
        for (level_name, index), items in groups.items():
            policy = self.notify.policies.get(Level.parse(level_name))
            if policy is None or index >= len(policy.steps):
                continue
            step = policy.steps[index]
            day = local(now).date().isoformat()
            digest = Alert(incident_id="", level=level_name, level_label=Level.parse(level_name).label,
                           title=f"{day} {Level.parse(level_name).label}舆情汇总（{len(items)}条）",
                           kind="digest", items=tuple(items))
            queued += self._enqueue(db, f"digest:{day}:{level_name}:{index}", None, digest, step.via,
                                    step.notify, now, Level.parse(level_name), kind=NoticeKind.DIGEST).queued
        timers.digest_items_sent(db, [r.id for r in rows], now)
        return f"digest:{len(rows)}:{queued}"

    def _enqueue(self, db: sqlite3.Connection, key: str, incident_id: str | None, alert: Alert,
                 via: tuple[str, ...], teams: tuple[str, ...], now: datetime, level: Level = Level.BLUE,
                 groupable: bool = False, kind: NoticeKind = NoticeKind.STEP) -> Sent:
        notice = Notice(key, kind, level, via, alert=alert, teams=teams, incident_id=incident_id,
                        groupable=groupable)
        return pipeline.send(db, self.notify, notice, now, self.render)
