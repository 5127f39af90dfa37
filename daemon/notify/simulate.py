"""`yuqing simulate`: the notifications and escalations a new incident would get, before a policy is live.

The timeline is made by calling ``daemon.notify.escalation.decide`` (the same pure function the daemon's timers
call) on a made-up incident, round after round, so it cannot drift from what the daemon does. It
assumes nobody acknowledges. Beside it: the calendar (working day, statutory holiday) of the days it
covers and the sensitive periods in force, with what they would change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from channels.model import Alert, Person
from daemon.clock import local
from daemon.config.policy import NotifyConfig, Step
from daemon.incidents import Incident, Status
from daemon.notify import deadlines
from daemon.notify.escalation import decide
from rules import calendar
from rules.model import ActivePeriod, Level

HORIZON = timedelta(hours=24)
PER_STEP = 10  # rounds of one repeating step listed before "… more" is said
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Entry:
    at: datetime
    step: int  # index in the level's policy
    round: int
    kind: str
    teams: tuple[str, ...]
    people: tuple[Person, ...]
    via: tuple[str, ...]
    deadline: datetime | None = None
    unless_acknowledged: bool = False
    digest: bool = False
    held_from: datetime | None = None  # when it was due, if quiet hours held it back
    label: str = ""  # for deadline entries: the deadline's name
    met_by: str = ""  # for deadline entries: what meets it (acknowledged / resolved)


@dataclass(frozen=True)
class Timeline:
    level: Level
    category: str
    at: datetime
    entries: tuple[Entry, ...]
    more: tuple[str, ...] = ()  # repeats beyond what is listed
    notes: tuple[str, ...] = field(default_factory=tuple)


def incident_at(level: Level, at: datetime, category: str = "", teams: tuple[str, ...] = ()) -> Incident:
    """A new, unacknowledged incident that reached ``level`` at ``at``."""
    alert = Alert(incident_id="YQ-SIMULATED", level=str(level), level_label=level.label, title="模拟事件",
                  category=category)
    return Incident(id="YQ-SIMULATED", level=level, status=Status.OPEN, title="模拟事件", category=category,
                    teams=teams, opened_at=at, level_at=at, alert=alert)


def simulate(notify: NotifyConfig, level: Level, at: datetime, *, category: str = "",
             teams: tuple[str, ...] = (), periods: Sequence[ActivePeriod] = (),
             horizon: timedelta = HORIZON, per_step: int = PER_STEP) -> Timeline:
    incident = incident_at(level, at, category, teams)
    policy = notify.policies.get(level)
    entries: list[Entry] = []
    more: list[str] = []
    for index, step in enumerate(policy.steps if policy else ()):
        listed, left = _rounds(notify, step, index, incident, level, at + horizon, per_step)
        entries.extend(listed)
        if left:
            more.append(f"step {index + 1} repeats every {_span(step.repeat)}"
                        f"{' until acknowledged' if step.unless_acknowledged else ''}: {left} more within"
                        f" {_span(horizon)} not listed")
    entries.extend(deadline_entries(notify, incident, level))
    entries.sort(key=lambda e: (e.at, e.step, e.round))
    notes = [] if policy else [f"notify.yaml has no policy for {level}: nobody is told"]
    notes += calendar_notes(at, entries[-1].at if entries else at)
    notes += period_notes(level, periods)
    return Timeline(level, category, at, tuple(entries), tuple(more), tuple(notes))


def _rounds(notify: NotifyConfig, step: Step, index: int, incident: Incident, level: Level, end: datetime,
            per_step: int) -> tuple[list[Entry], int]:
    """The rounds of one step up to ``end``: at most ``per_step`` listed, and how many more there are."""
    listed: list[Entry] = []
    left = 0
    due: datetime | None = incident.level_at + step.after
    round_ = 0
    held_from: datetime | None = None
    while due is not None and due <= end:
        decision = decide(step, index, incident, level, round_, due, notify)
        if decision.action == "skip":
            break
        if decision.action == "defer":  # quiet hours: the same round, later
            held_from, due = held_from or due, decision.next_due
            continue
        if len(listed) < per_step:
            digest = decision.action == "digest"
            listed.append(Entry(
                at=next_digest(notify, due) if digest else due, step=index, round=round_, kind=decision.kind,
                teams=decision.teams, people=notify.members(decision.teams, due), via=step.via,
                deadline=incident.level_at + step.deadline if step.deadline is not None and round_ == 0 else None,
                unless_acknowledged=step.unless_acknowledged, digest=digest, held_from=held_from))
        else:
            left += 1
        due, round_, held_from = decision.next_due, round_ + 1, None
    return listed, left


def deadline_entries(notify: NotifyConfig, incident: Incident, level: Level) -> list[Entry]:
    """Reminders before and at each deadline (时限) of the level, and who hears when it is missed,
    decided by ``daemon.notify.deadlines.decide`` like the daemon's deadline timers."""
    entries = []
    for deadline in notify.deadlines_for(level, incident.category, None):
        due = deadline.due(incident.level_at)
        for round_, at in enumerate(deadlines.reminder_times(deadline, incident.level_at)):
            decision = deadlines.decide(deadline, incident, level, due, at)
            if decision.action == "remind":
                entries.append(Entry(at, -1, round_, "reminder", decision.teams,
                                     notify.members(decision.teams, at), decision.via, due, label=deadline.name,
                                     met_by=deadline.met_by))
            elif decision.action == "missed":
                teams = tuple(dict.fromkeys(decision.teams + decision.escalate))
                entries.append(Entry(at, -1, round_, "missed", teams, notify.members(teams, at),
                                     tuple(dict.fromkeys(decision.via + decision.escalate_via)), due,
                                     label=deadline.name, met_by=deadline.met_by))
    return entries


def next_digest(notify: NotifyConfig, after: datetime) -> datetime:
    """When the daily digest that gathers an item added at ``after`` goes out."""
    hour, minute = (int(x) for x in notify.digest_at.split(":"))
    at = local(after).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > local(after) else at + timedelta(days=1)


def calendar_notes(first: datetime, last: datetime) -> list[str]:
    """Working day or not for every day the timeline covers (deadlines in working days count these)."""
    notes = []
    day, end = local(first).date(), local(last).date()
    while day <= end:
        holiday = calendar.holiday_name(day)
        if calendar.is_workday(day):
            kind = "working day" + (" (adjusted working day, 调休)" if day.weekday() >= 5 else "")
        elif holiday:
            kind = f"statutory holiday ({holiday}), not a working day"
        else:
            kind = "weekend, not a working day"
        notes.append(f"{day.isoformat()} {WEEKDAYS[day.weekday()]}: {kind}")
        day += timedelta(days=1)
    return notes


def period_notes(level: Level, periods: Sequence[ActivePeriod]) -> list[str]:
    """What a sensitive period in force would change: only rules with ``raise_in_period`` rise."""
    notes = []
    for period in periods:
        raised = level.raised(period.raise_by)
        effect = (f"{level} stays {level}: it is the highest level" if raised == level else
                  f"an incident of a rule that grades {level} would be {raised} and get the {raised} policy")
        notes.append(f"sensitive period {period.name} (raise {period.raise_by}) in force: applies only to rules"
                     f" with raise_in_period: true ({effect}); other rules keep their level")
    if not periods:
        notes.append("no sensitive period in force")
    return notes


def format_timeline(timeline: Timeline) -> str:
    at = local(timeline.at)
    head = [f"simulated {timeline.level} ({timeline.level.label}) incident"
            f"{', category ' + timeline.category if timeline.category else ''},"
            f" level reached {at:%Y-%m-%d %H:%M} Asia/Shanghai",
            "assumes nobody acknowledges: an ack stops every step marked \"unless acknowledged\"", ""]
    lines = [_line(timeline.at, entry) for entry in timeline.entries] or ["(no notifications)"]
    return "\n".join([*head, *lines, *timeline.more, "", *timeline.notes]) + "\n"


def _line(start: datetime, entry: Entry) -> str:
    when = f"{local(entry.at):%Y-%m-%d %H:%M} (+{_span(entry.at - start)})"
    kind = f"{entry.kind} {entry.round}" if entry.round and entry.step >= 0 else entry.kind
    step = f"step {entry.step + 1}" if entry.step >= 0 else "时限"
    people = "、".join(p.name for p in entry.people) or "nobody (no members)"
    extras = []
    if entry.label:
        extras.append(f"deadline {entry.label}")
    if entry.held_from is not None:
        extras.append(f"held by quiet hours from {local(entry.held_from):%H:%M}")
    if entry.digest:
        extras.append("in the daily digest")
    if entry.deadline is not None and not entry.label:
        extras.append(f"deadline {local(entry.deadline):%Y-%m-%d %H:%M}")
    if entry.met_by:
        extras.append(f"unless {entry.met_by}")
    if entry.unless_acknowledged:
        extras.append("unless acknowledged")
    tail = "; " + "; ".join(extras) if extras else ""
    return (f"{when:<28}{step:<8}{kind:<12}{'、'.join(entry.teams)} → {people}"
            f" via {', '.join(entry.via)}{tail}")


def _span(delta: timedelta | None) -> str:
    """``0m``, ``15m``, ``1h30m``, ``1d2h``."""
    minutes = int((delta or timedelta(0)).total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    out = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{mins}m" if mins else "")
    return out or "0m"
