"""Notification policies per level (notify.yaml ``policies``): typed values, parsed by ``daemon.config.notify``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from channels.directory import Directory
from channels.model import ChannelSpec, Person
from daemon.config.rota import Rota
from rules.calendar import add_workdays
from rules.county import SHANGHAI
from rules.errors import Problem
from rules.model import Level, Location


@dataclass(frozen=True)
class Step:
    """One step of a policy: who is told, over which channels, when, and whether it repeats.

    ``after`` counts from when the incident reached the level. ``unless_acknowledged`` steps are skipped
    once somebody has acknowledged. ``digest`` steps are not sent one by one but gathered.
    """

    notify: tuple[str, ...]
    via: tuple[str, ...]
    location: Location
    after: timedelta = timedelta(0)
    unless_acknowledged: bool = False
    repeat: timedelta | None = None
    until: timedelta | None = None  # stop repeating this long after the level was reached
    deadline: timedelta | None = None
    digest: Literal["daily"] | None = None


@dataclass(frozen=True)
class Policy:
    level: Level
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Deadline:
    """A time limit (时限) counted from when an incident reached its level: reminders ``remind`` before it
    and at it go to ``notify``; if it passes unmet, ``escalate`` is told as well. ``met_by`` says what
    meets it: an acknowledgement or the incident's resolution."""

    name: str
    location: Location
    notify: tuple[str, ...]
    via: tuple[str, ...]
    within: timedelta = timedelta(0)
    workdays: int = 0  # "5 workdays": counted with the statutory holiday calendar instead of ``within``
    levels: frozenset[Level] = frozenset((Level.RED, Level.YELLOW, Level.BLUE))
    categories: frozenset[str] = frozenset()  # empty: every category
    sources: frozenset[str] = frozenset()  # the incident's first source; empty: every source
    remind: tuple[timedelta, ...] = ()
    met_by: Literal["acknowledged", "resolved"] = "acknowledged"
    escalate: tuple[str, ...] = ()
    escalate_via: tuple[str, ...] = ()

    def applies(self, level: Level, category: str, source: str | None) -> bool:
        return (level in self.levels and (not self.categories or category in self.categories)
                and (not self.sources or (source or "") in self.sources))

    def due(self, start: datetime) -> datetime:
        return add_workdays(start, self.workdays) if self.workdays else start + self.within


@dataclass(frozen=True)
class Route:
    """Incidents of ``category`` (``*``: every one) also go to ``team``, on their level's first step."""

    team: str
    category: str
    location: Location


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which notifications of ``levels`` wait for the end (never red)."""

    start: int  # minutes after local midnight
    end: int
    levels: frozenset[Level] = frozenset((Level.BLUE, Level.YELLOW))

    def holds(self, level: Level, at: datetime) -> datetime | None:
        """The end of the quiet hours when ``at`` falls inside them for ``level``, else None."""
        if level not in self.levels or level >= Level.RED:
            return None
        moment = at.astimezone(SHANGHAI)
        minute = moment.hour * 60 + moment.minute
        inside = (self.start <= minute < self.end) if self.start < self.end else (
            minute >= self.start or minute < self.end)
        if not inside:
            return None
        end = moment.replace(hour=self.end // 60, minute=self.end % 60, second=0, microsecond=0)
        return end if end > moment else end + timedelta(days=1)


@dataclass(frozen=True)
class SmsLimit:
    """At most ``per_hour`` notifications an hour per person on phone channels. Over it, red still goes
    out (never held back); yellow and blue go to ``overflow`` (e.g. email) for that person instead."""

    per_hour: int
    overflow: str | None = None


@dataclass(frozen=True)
class Retry:
    """The outbox's retry schedule (notify.yaml ``retry``): exponential from ``first`` up to ``max``, with
    jitter, until a notification is ``give_up`` old."""

    first: timedelta = timedelta(seconds=5)
    max: timedelta = timedelta(minutes=10)
    give_up: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class DingTalkStream:
    """``dingtalk_stream:`` of notify.yaml: the internal app whose Stream mode connection brings card clicks
    and private chat replies in (daemon/app/chatack.py). Both credentials are secrets."""

    client_id: str  # the app's AppKey (Client ID), also the robot code
    client_secret: str
    endpoint: str = "https://api.dingtalk.com"  # the open API that hands out the stream connection


@dataclass(frozen=True)
class FeishuWs:
    """``feishu_ws:`` of notify.yaml: the self-built Feishu app whose long connection brings card clicks and
    private messages in (daemon/app/chatack.py). The secret is a secret; the app id is not."""

    app_id: str  # cli_…
    app_secret: str
    domain: str = "https://open.feishu.cn"  # https://open.larksuite.com for Lark


@dataclass(frozen=True)
class NotifyConfig:
    channels: dict[str, ChannelSpec]
    directory: Directory
    policies: dict[Level, Policy]
    digest_at: str = "08:00"  # local time of the daily digest
    admin_team: str | None = None  # told about broken rule files and failing channels
    templates: Path | None = None  # the county's template folder (channels.templates.Renderer)
    extra: dict[str, str] = field(default_factory=dict)
    rotas: dict[str, Rota] = field(default_factory=dict)  # team → its duty rota
    routes: tuple[Route, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    quiet: QuietHours | None = None
    sms_limit: SmsLimit | None = None
    # Alertmanager's group_wait: first notifications of new incidents to the same people on the same
    # channel within this window go out as one. Red waits at most this long; 0 turns grouping off.
    group_wait: timedelta = timedelta(0)
    retry: Retry = field(default_factory=Retry)
    dingtalk_stream: DingTalkStream | None = None
    feishu_ws: FeishuWs | None = None
    warnings: tuple[Problem, ...] = ()  # shown by `yuqing check`; the file loads

    def members(self, teams: Iterable[str], at: datetime) -> tuple[Person, ...]:
        """Everyone in ``teams`` at ``at``: a rota team is whoever is on duty then, or the team's own
        members (``teams:``) when no shift covers the moment."""
        seen: dict[str, Person] = {}
        for team in teams:
            rota = self.rotas.get(team)
            keys = rota.on_duty(at) if rota is not None else ()
            people = ([self.directory.people[k] for k in keys if k in self.directory.people] if keys
                      else self.directory.members((team,)))
            for person in people:
                seen.setdefault(person.key, person)
        return tuple(seen.values())

    def routed(self, category: str) -> tuple[str, ...]:
        """Teams the routes add for ``category``, in the order written."""
        return tuple(dict.fromkeys(r.team for r in self.routes if r.category in ("*", category)))

    def deadlines_for(self, level: Level, category: str, source: str | None) -> tuple[Deadline, ...]:
        return tuple(d for d in self.deadlines if d.applies(level, category, source))
