"""日报 / 周报: the figures of a period, read from the store. Pure functions over queries: nothing is
written, nothing is sent; ``daemon.reports.render`` turns a ``Report`` into HTML, PNG charts and XLSX.

A period is local (Asia/Shanghai) calendar days: a daily report covers one day, a weekly one the seven
days ending on its date. An incident belongs to a period when anything happened to it within it (opened,
raised, resurged, acknowledged, resolved), so a story still burning on Tuesday is in Tuesday's report.

Deadlines: an incident's ``deadline_at`` is met when it was acknowledged (or resolved) by then, missed
when that came later or not at all by the end of the period, pending otherwise. This is computed here
from ``deadline_at`` and ``acked_at``/``resolved_at`` because the store keeps no separate met/missed
record; the teams charged with a deadline are those of the policy step that set it, plus the rule's own.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from channels.masking import mask
from daemon import incidents
from daemon.clock import local, to_epoch
from daemon.config.policy import NotifyConfig
from daemon.incidents import Incident
from daemon.store import Store, messages, timers
from daemon.triage import review
from rules.county import SEVERITY_ORDER, SHANGHAI
from rules.model import Level

Kind = Literal["daily", "weekly"]
TOP_INCIDENTS = 10
TREND_DAYS = 7
UNKNOWN = "未知"
STATUS_LABELS = {"open": "未确认", "acknowledged": "已确认，处置中", "resolved": "已处置", "closed": "已平息"}


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: datetime  # inclusive, aware
    end: datetime  # exclusive

    @property
    def title(self) -> str:
        first, last = local(self.start).date(), local(self.end - timedelta(seconds=1)).date()
        if self.kind == "daily":
            return f"舆情日报（{first.isoformat()}）"
        return f"舆情周报（{first.isoformat()} 至 {last.isoformat()}）"

    @property
    def days(self) -> list[date]:
        first = local(self.start).date()
        return [first + timedelta(days=i) for i in range((self.end - self.start).days or 1)]


def period_for(kind: Kind, day: date) -> Period:
    """The daily report of ``day``, or the weekly report of the seven days ending on ``day``."""
    end = datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)
    return Period(kind, end - timedelta(days=1 if kind == "daily" else 7), end)


def default_day(kind: Kind, now: datetime) -> date:
    """A daily report is read in the morning about yesterday; a weekly one about the week up to today."""
    today = local(now).date()
    return today - timedelta(days=1) if kind == "daily" else today


@dataclass(frozen=True)
class IncidentLine:
    id: str
    title: str
    level: str
    level_label: str
    category: str
    first_seen: datetime | None
    first_source: str
    first_url: str | None
    region: str
    spread: dict[str, float]
    status: str  # 处置状态 in words
    resurgences: int

    @property
    def spread_text(self) -> str:
        s = self.spread
        parts = [f"{int(s.get('messages', 0))}条信息", f"{int(s.get('platforms', 0))}个平台"]
        parts += [f"{label}{int(s[key]):,}" for key, label in (("reposts", "转发"), ("comments", "评论"))
                  if s.get(key)]
        return "，".join(parts)


@dataclass(frozen=True)
class DeadlineRow:
    team: str
    met: int = 0
    missed: int = 0
    pending: int = 0


@dataclass(frozen=True)
class Report:
    period: Period
    generated_at: datetime
    messages: int  # received in the period
    new_incidents: int  # opened in the period
    active: tuple[IncidentLine, ...]  # every incident with news in the period, most serious first
    by_level: dict[str, int]
    by_category: dict[str, int]
    by_source: dict[str, int]
    by_region: dict[str, int]
    trend: tuple[tuple[date, dict[str, int]], ...]  # incidents opened per day by level, last 7 days
    deadlines: tuple[DeadlineRow, ...]
    resurgences: tuple[IncidentLine, ...]
    top: tuple[IncidentLine, ...] = field(default=())
    reviews: tuple[review.ReviewItem, ...] = field(default=())  # 待研判 flagged in the period, newest first


def build_report(store: Store, period: Period, now: datetime, notify: NotifyConfig | None = None) -> Report:
    start, end = period.start, period.end
    # News in the period: an event (opened, raised, acknowledged …), a new incident or a new message.
    opened = incidents.opened_between(store, start, end)
    ids = sorted(incidents.with_events_between(store, start, end) | {o.id for o in opened}
                 | messages.incidents_with_messages_between(store, start, end))
    regions = region_of(store, ids)
    lines = sorted((line_for(store_incident, regions) for store_incident in incidents.by_ids(store, ids)),
                   key=_seriousness)
    resurged = incidents.with_events_between(store, start, end, kind="resurgence")
    return Report(
        period=period, generated_at=now, messages=messages.count_received_between(store, start, end),
        new_incidents=len(opened), active=tuple(lines),
        by_level=_ordered(Counter(line.level for line in lines), SEVERITY_ORDER),
        by_category=_count(line.category or "未分类" for line in lines),
        by_source=_count(line.first_source for line in lines), by_region=_count(line.region for line in lines),
        trend=trend(store, period.end), deadlines=deadlines(store, period, now, notify),
        resurgences=tuple(line for line in lines if line.id in resurged), top=tuple(lines[:TOP_INCIDENTS]),
        reviews=tuple(review.items(store, period.start, period.end)),
    )


def _seriousness(line: IncidentLine) -> tuple[int, float, str]:
    rank = SEVERITY_ORDER.index(line.level) if line.level in SEVERITY_ORDER else len(SEVERITY_ORDER)
    return rank, -float(line.spread.get("messages", 0)) - float(line.spread.get("reposts", 0)) / 1000, line.id


def region_of(store: Store, ids: list[str]) -> dict[str, str]:
    """An incident's region is its first message's (collectors set it; many messages have none)."""
    first = incidents.first_messages(store, ids)
    regions = messages.regions(store, first.values())
    return {incident_id: regions.get(message_id) or UNKNOWN for incident_id, message_id in first.items()}


def line_for(incident: Incident, regions: dict[str, str]) -> IncidentLine:
    return IncidentLine(
        id=incident.id, title=mask(incident.title), level=str(incident.level), level_label=incident.level.label,
        category=mask(incident.category), first_seen=incident.first_seen or incident.alert.first_seen,
        first_source=incident.first_source or incident.alert.source or UNKNOWN,
        first_url=incident.first_url or incident.alert.url, region=mask(regions.get(incident.id, UNKNOWN)),
        spread=dict(incident.spread), status=STATUS_LABELS.get(incident.status, incident.status),
        resurgences=incident.resurgences)


def trend(store: Store, end: datetime) -> tuple[tuple[date, dict[str, int]], ...]:
    """Incidents opened per local day and level over the ``TREND_DAYS`` days before ``end``."""
    start = end - timedelta(days=TREND_DAYS)
    days = [local(start).date() + timedelta(days=i) for i in range(TREND_DAYS)]
    counts: dict[date, Counter[str]] = {d: Counter() for d in days}
    for opened in incidents.opened_between(store, start, end):
        day = local(opened.opened_at).date()
        if day in counts:
            counts[day][opened.level] += 1
    return tuple((d, {level: counts[d][level] for level in SEVERITY_ORDER}) for d in days)


def deadline_state(incident: Incident, now: datetime) -> Literal["met", "missed", "pending"] | None:
    """Met when acknowledged or resolved by the deadline; missed when later, or not at all by ``now``."""
    if incident.deadline_at is None:
        return None
    done = min((t for t in (incident.acked_at, incident.resolved_at) if t is not None), default=None)
    if done is not None:
        return "met" if done <= incident.deadline_at else "missed"
    return "missed" if now > incident.deadline_at else "pending"


def deadline_teams(incident: Incident, notify: NotifyConfig | None) -> tuple[str, ...]:
    """Who answers for the deadline: the teams of the policy step that set it, and the rule's teams."""
    teams: tuple[str, ...] = ()
    policy = notify.policies.get(incident.level) if notify else None
    for step in policy.steps if policy else ():
        if step.deadline is not None:
            teams += step.notify
            break
    return tuple(dict.fromkeys((*teams, *incident.teams))) or ("未指定",)


def deadlines(store: Store, period: Period, now: datetime, notify: NotifyConfig | None) -> tuple[DeadlineRow, ...]:
    """Deadlines falling due within the period, met or missed, by team; one incident counts for each team."""
    ids = incidents.with_deadline_between(store, period.start, period.end)
    tally: dict[str, Counter[str]] = {}
    recorded = _recorded_deadlines(store, period, now)
    for incident in incidents.by_ids(store, sorted(set(ids) | {incident_id for incident_id, _ in recorded})):
        states: list[str | None] = [s for i, s in recorded if i == incident.id]
        states = states or [deadline_state(incident, min(now, period.end))]
        for team in deadline_teams(incident, notify):
            for state in states:
                tally.setdefault(team, Counter())[state or "pending"] += 1
    return tuple(DeadlineRow(team, c["met"], c["missed"], c["pending"]) for team, c in sorted(tally.items()))


def _recorded_deadlines(store: Store, period: Period, now: datetime) -> list[tuple[str, str]]:
    """Deadlines escalation recorded one by one (the ``deadlines`` table), when that table exists:
    each is met, missed or pending on its own. Empty: fall back on ``incidents.deadline_at``."""
    try:
        rows = timers.deadlines_due_between(store, period.start, period.end)
    except sqlite3.OperationalError:
        return []
    cutoff = to_epoch(min(now, period.end))
    return [(r.incident_id, "met" if r.met_at is not None and r.met_at <= r.due_at else
             "missed" if r.missed or r.met_at is not None or cutoff > r.due_at else "pending") for r in rows]


def _count(values: Iterable[str]) -> dict[str, int]:
    counter: Counter[str] = Counter(values)
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _ordered(counter: Counter[str], order: tuple[str, ...]) -> dict[str, int]:
    return {key: counter.get(key, 0) for key in order}


def level_label(level: str) -> str:
    try:
        return Level.parse(level).label
    except KeyError:
        return level
