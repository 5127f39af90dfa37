"""Deadlines (时限) as timers: reminders before and at each deadline of an incident's level, an escalation
when one passes unmet, and the outcome of every deadline kept in the ``deadlines`` table for the ledger.

``decide`` is pure (used by the timer and by ``yuqing simulate``). A deadline timer's notifications, the
deadline's outcome and the timer's fired mark commit in one transaction (``daemon.notify.escalation.fire_due``).
Resolving or closing an incident cancels its timers; the outcome of a deadline whose timer never fired
is worked out when it is read (``outcomes``), from the incident's acknowledgement and resolution times.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from channels.model import Alert
from daemon import incidents
from daemon.clock import local
from daemon.config.policy import Deadline, NotifyConfig
from daemon.incidents import Incident, IncidentError, Status
from daemon.store import Store, timers
from rules.model import Level

# (outbox key, incident id, alert, channels, teams) → notifications queued
Enqueue = Callable[[str, str, Alert, tuple[str, ...], tuple[str, ...]], int]


@dataclass(frozen=True)
class DeadlineDecision:
    action: Literal["remind", "missed", "met", "skip"]
    reason: str
    teams: tuple[str, ...] = ()
    via: tuple[str, ...] = ()
    escalate: tuple[str, ...] = ()
    escalate_via: tuple[str, ...] = ()


def met_at(deadline_met_by: str, incident: Incident) -> datetime | None:
    """When the incident did what meets the deadline. A resolution also meets an acknowledgement one."""
    times = [incident.resolved_at] + ([incident.acked_at] if deadline_met_by == "acknowledged" else [])
    done = [t for t in times if t is not None]
    return min(done) if done else None


def reminder_times(deadline: Deadline, start: datetime) -> list[datetime]:
    """When the responsible teams hear about ``deadline``: each ``remind`` before it (if after ``start``)
    and at it. The last one is the deadline itself."""
    due = deadline.due(start)
    return [*sorted({due - r for r in deadline.remind if due - r > start}), due]


def decide(deadline: Deadline | None, incident: Incident, level: Level, due: datetime,
           at: datetime) -> DeadlineDecision:
    """What a deadline timer due ``at`` (the deadline itself is ``due``) should do."""
    if deadline is None:
        return DeadlineDecision("skip", "deadline no longer configured")
    if incident.level != level:
        return DeadlineDecision("skip", "superseded by a level change")
    done = met_at(deadline.met_by, incident)
    if done is not None and done <= at:
        return DeadlineDecision("met", f"met: {deadline.met_by}")
    if incident.status is Status.CLOSED:
        return DeadlineDecision("skip", "closed")
    if at < due:
        return DeadlineDecision("remind", "before the deadline", deadline.notify, deadline.via)
    return DeadlineDecision("missed", "deadline passed", deadline.notify, deadline.via, deadline.escalate,
                            deadline.escalate_via or deadline.via)


def schedule(db: sqlite3.Connection, notify: NotifyConfig, incident: Incident) -> datetime | None:
    """A row and its timers for every deadline of the incident's level. Returns the earliest due."""
    dues = []
    source = incident.first_source or incident.alert.source
    for deadline in notify.deadlines_for(incident.level, incident.category, source):
        due = deadline.due(incident.level_at)
        dues.append(due)
        deadline_id = timers.add_deadline(db, incident.id, str(incident.level), deadline.name, deadline.met_by,
                                          incident.level_at, due)
        if deadline_id is None:
            continue
        for round_, at in enumerate(reminder_times(deadline, incident.level_at)):
            timers.add_reminder(db, incident.id, str(incident.level), deadline_id, round_, at)
    return min(dues) if dues else None


def fire(db: sqlite3.Connection, notify: NotifyConfig, timer: timers.Timer, incident: Incident,
         now: datetime, enqueue: Enqueue) -> str:
    """One deadline timer, inside the caller's transaction."""
    row = timers.deadline(db, timer.step)
    if row is None:
        return "skipped:no such deadline"
    # Late (the daemon was down, the clock jumped): a later reminder of the same deadline is due too, so
    # this one would only say something already stale. The latest one speaks for both.
    if timers.later_reminder_due(db, timer, now):
        return "skipped:a later reminder is due too"
    deadline = next((d for d in notify.deadlines if d.name == row.name), None)
    due = row.due_at
    decision = decide(deadline, incident, Level.parse(row.level), due, timer.due_at)
    if decision.action == "met":
        timers.deadline_met(db, row.id, met_at(row.met_by, incident))
        return "met"
    if decision.action == "skip" or deadline is None:
        outcome = "superseded" if "level" in decision.reason else decision.reason
        timers.deadline_ended(db, row.id, outcome)
        return f"skipped:{decision.reason}"
    key = f"{incident.id}:deadline:{row.id}:{timer.round}"
    alert = _alert(incident.alert, deadline, due, now, decision.action == "missed")
    queued = enqueue(key, incident.id, alert, decision.via, decision.teams)
    if decision.action == "missed":
        timers.deadline_missed(db, row.id)
        if decision.escalate:
            queued += enqueue(f"{key}:escalate", incident.id, replace(alert, kind="escalation"),
                              decision.escalate_via, decision.escalate)
        return f"missed:{queued}"
    return f"reminded:{queued}"


def _alert(alert: Alert, deadline: Deadline, due: datetime, now: datetime, missed: bool) -> Alert:
    """The incident's alert, headed by the deadline: 时限提醒 before it, 时限已过 after."""
    when = local(due).strftime("%m-%d %H:%M")
    if missed:
        head, line = f"{deadline.name}时限已过", f"{deadline.name}时限（{when}）已过，尚未完成，请立即处置并说明情况。"
    else:
        left = _left(due - now)
        head, line = f"{deadline.name}时限提醒", f"{deadline.name}须于{when}前完成，还剩{left}。"
    return replace(alert, title=f"{head}：{alert.title}", deadline=due, reasons=(line, *alert.reasons),
                   kind="escalation" if missed else "new")


def _left(delta: timedelta) -> str:
    minutes = max(0, round(delta.total_seconds() / 60))
    if minutes >= 60 * 24:
        return f"{minutes // (60 * 24)}天{minutes % (60 * 24) // 60}小时"
    return f"{minutes // 60}小时{minutes % 60}分钟" if minutes >= 60 else f"{minutes}分钟"


# ---------------------------------------------------------------- reading outcomes (ledger, status)


State = Literal["met", "missed", "pending", "superseded"]


@dataclass(frozen=True)
class Outcome:
    incident_id: str
    level: str
    name: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    state: State

    @property
    def missed(self) -> bool:
        return self.state == "missed"


def outcomes(store: Store, now: datetime, incident_id: str | None = None) -> list[Outcome]:
    """Every deadline (of one incident, or all) with what became of it by ``now``: met (on time),
    missed (``met_at`` is when it was done late, if ever), pending, or superseded by a level change."""
    found: dict[str, Incident | None] = {}
    result = []
    for row in timers.deadlines_of(store.db, incident_id):
        if row.incident_id not in found:
            found[row.incident_id] = _incident(store, row.incident_id)
        incident = found[row.incident_id]
        if incident is not None:  # a deadline of an incident no longer stored tells nothing
            result.append(_outcome(row, incident, now))
    return result


def _incident(store: Store, incident_id: str) -> Incident | None:
    try:
        return incidents.get(store.db, incident_id)
    except IncidentError:
        return None


def _outcome(row: timers.StoredDeadline, incident: Incident, now: datetime) -> Outcome:
    done = met_at(row.met_by, incident)
    state: State
    if done is not None and done <= row.due_at and not row.missed:  # the timer's finding stands
        state = "met"
    elif row.outcome == "superseded" or row.started_at < incident.level_at < row.due_at:
        state = "superseded"  # the incident rose to another level (with its own deadlines) before this one was due
    elif row.missed or now >= row.due_at:
        state = "missed"
    else:
        state = "pending"
    return Outcome(row.incident_id, row.level, row.name, row.started_at, row.due_at, done, state)
