"""The duty rota (值班表): who is on duty by date and time, resolved into a team such as ``值班``.

A rota is a list of shifts. A shift runs from ``start`` for ``length`` on each day it applies to (an
overnight shift belongs to the day it starts on). Days are ``workday`` / ``holiday`` (any day that is
not a working day: weekends and statutory holidays, from ``rules.calendar.is_workday``), weekday names,
or explicit dates. Shifts with dates take precedence over the others whenever they cover the moment,
so a leader's National Day schedule needs no change to the everyday shifts.

Resolution is pure: ``Rota.on_duty(at)``. ``coverage`` lists gaps and overlaps of the everyday shifts
over every kind of day (the 14 combinations of weekday and working day, after either kind of day).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rules.calendar import is_workday
from rules.county import SHANGHAI
from rules.model import Location

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_WORDS = ("workday", "holiday", "every", *WEEKDAYS)
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Shift:
    name: str
    people: tuple[str, ...]
    start: int  # minutes after local midnight
    length: int  # minutes; a shift written from 08:30 to 08:30 lasts a whole day
    location: Location
    days: frozenset[str] = frozenset()  # empty: every day
    dates: tuple[date, date] | None = None  # inclusive; overrides the everyday shifts

    def applies_to(self, weekday: int, workday: bool) -> bool:
        """Whether an everyday shift starts on a day of this kind."""
        if not self.days or "every" in self.days:
            return True
        return (("workday" in self.days and workday) or ("holiday" in self.days and not workday)
                or WEEKDAYS[weekday] in self.days)

    def starts_on(self, day: date, workday: Callable[[date], bool]) -> bool:
        if self.dates is not None:
            return self.dates[0] <= day <= self.dates[1]
        return self.applies_to(day.weekday(), workday(day))

    def covers(self, at: datetime, workday: Callable[[date], bool]) -> bool:
        """``at`` is naive Asia/Shanghai time."""
        for day in (at.date(), at.date() - timedelta(days=1)):
            begin = datetime.combine(day, datetime.min.time()) + timedelta(minutes=self.start)
            if begin <= at < begin + timedelta(minutes=self.length) and self.starts_on(day, workday):
                return True
        return False


@dataclass(frozen=True)
class Rota:
    team: str
    shifts: tuple[Shift, ...]
    location: Location

    def on_shift(self, at: datetime, workday: Callable[[date], bool] = is_workday) -> tuple[Shift, ...]:
        """The shifts in force at ``at``: dated ones when any covers it, else the everyday ones."""
        moment = at.astimezone(SHANGHAI).replace(tzinfo=None)
        dated = tuple(s for s in self.shifts if s.dates is not None and s.covers(moment, workday))
        return dated or tuple(s for s in self.shifts if s.dates is None and s.covers(moment, workday))

    def on_duty(self, at: datetime, workday: Callable[[date], bool] = is_workday) -> tuple[str, ...]:
        """Person keys on duty at ``at`` (each once, in the order written); empty when nobody is."""
        return tuple(dict.fromkeys(p for s in self.on_shift(at, workday) for p in s.people))


# ---------------------------------------------------------------- coverage (warnings for `yuqing check`)

Interval = tuple[int, int]


def _intervals(shift: Shift, weekday: int, workday: bool, prev_workday: bool) -> list[Interval]:
    """Minutes of one day covered by ``shift``: its own start that day, and the tail of yesterday's."""
    out = []
    if shift.applies_to(weekday, workday):
        out.append((shift.start, min(shift.start + shift.length, DAY_MINUTES)))
    if shift.start + shift.length > DAY_MINUTES and shift.applies_to((weekday - 1) % 7, prev_workday):
        out.append((0, shift.start + shift.length - DAY_MINUTES))
    return out


def _gaps(covered: list[Interval]) -> list[Interval]:
    gaps, at = [], 0
    for begin, end in sorted(covered):
        if begin > at:
            gaps.append((at, begin))
        at = max(at, end)
    if at < DAY_MINUTES:
        gaps.append((at, DAY_MINUTES))
    return gaps


def _overlap(a: list[Interval], b: list[Interval]) -> list[Interval]:
    return [(max(x[0], y[0]), min(x[1], y[1])) for x in a for y in b if max(x[0], y[0]) < min(x[1], y[1])]


Kind = tuple[int, bool, bool]  # weekday, working day, previous day a working day
ALL_KINDS: tuple[Kind, ...] = tuple((w, wd, pw) for w in range(7) for wd in (True, False) for pw in (True, False))


def coverage(rota: Rota) -> list[tuple[Location, str]]:
    """Gaps (nobody on duty) and overlaps of the everyday shifts, as (where, text) warnings."""
    everyday = [s for s in rota.shifts if s.dates is None]
    gaps: dict[Interval, list[Kind]] = {}
    overlaps: dict[tuple[int, int, Interval], list[Kind]] = {}
    for kind in ALL_KINDS:
        covered = {i: _intervals(s, *kind) for i, s in enumerate(everyday)}
        for gap in _gaps([iv for ivs in covered.values() for iv in ivs]):
            gaps.setdefault(gap, []).append(kind)
        for i in range(len(everyday)):
            for j in range(i + 1, len(everyday)):
                for both in _overlap(covered[i], covered[j]):
                    overlaps.setdefault((i, j, both), []).append(kind)
    out = [(rota.location, f'rota "{rota.team}": nobody on duty {_span(gap)} {_days(kinds)}')
           for gap, kinds in sorted(gaps.items())]
    out += [(everyday[j].location, f'rota "{rota.team}": shifts "{everyday[i].name}" and "{everyday[j].name}"'
             f" overlap {_span(span)} {_days(kinds)}") for (i, j, span), kinds in sorted(overlaps.items())]
    return out


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _span(interval: Interval) -> str:
    return f"{_clock(interval[0])}–{_clock(interval[1])}"


def _days(kinds: list[Kind]) -> str:
    """``on every day`` / ``on workdays`` / ``on Sat, Sun (holidays) after a workday`` …"""
    found = set(kinds)
    if found == set(ALL_KINDS):
        return "on every day"
    parts = []
    for workday, label in ((True, "workdays"), (False, "holidays")):
        for prev, after in ((None, ""), (True, " after a workday"), (False, " after a holiday")):
            names = [WEEKDAYS[w].capitalize() for w in range(7)
                     if ((w, workday, True) in found and (w, workday, False) in found) == (prev is None)
                     and (prev is None or (w, workday, prev) in found)]
            if len(names) == 7:
                parts.append(f"{label}{after}")
            elif names:
                parts.append(f"{', '.join(names)} ({label}){after}")
    return "on " + "; ".join(parts)
