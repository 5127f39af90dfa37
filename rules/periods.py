"""Sensitive periods (敏感时期) of ``periods.yaml``: when they are, and which are in force.

Three kinds of range, all inclusive and all in Asia/Shanghai dates:
- ``dates: "03-03..03-15"``: every year; may wrap the new year (``"12-25..01-05"``);
- ``dates: "2026-12-20..2026-12-23"``: once;
- ``lunar: "12-23..01-15"``: every lunar year; a range whose end is before its start spans the lunar
  new year. Day 30 of a 29-day lunar month means its last day (除夕 is 12-30 or 12-29). Leap months
  (闰月) are never named: a range runs through one the way the days run.
"""

from __future__ import annotations

import re
from calendar import isleap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, date, datetime
from functools import lru_cache
from pathlib import Path

from borax.calendars.lunardate import LunarDate

from rules.county import SHANGHAI
from rules.errors import ConfigError, Problem
from rules.model import ActivePeriod, Location
from rules.yamlsrc import Node, check_keys, load_file

MonthDay = tuple[int, int]

LUNAR_YEARS = range(1901, 2100)  # what the lunar tables cover, with a year of margin either side
_MAX_RAISE = 3
_MONTH_DAY = r"(\d{2})-(\d{2})"
_YEARLY = re.compile(rf"{_MONTH_DAY}(?:\s*\.\.\s*{_MONTH_DAY})?")
_ONCE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(\d{4}-\d{2}-\d{2}))?")


@dataclass(frozen=True)
class Period:
    name: str
    raise_by: int
    yearly: tuple[MonthDay, MonthDay] | None = None
    once: tuple[date, date] | None = None
    lunar: tuple[MonthDay, MonthDay] | None = None
    location: Location | None = None

    def occurrences(self, year: int) -> list[tuple[date, date]]:
        """Every occurrence that has at least one day in the Gregorian ``year``."""
        first, last = date(year, 1, 1), date(year, 12, 31)
        return sorted(
            (start, end) for start, end in self._around(year) if start <= last and end >= first
        )

    def contains(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self._around(day.year))

    def _around(self, year: int) -> Iterator[tuple[date, date]]:
        """Occurrences anchored in ``year`` and its neighbours: enough to cover every day of ``year``."""
        if self.once is not None:
            yield self.once
        for anchor in range(max(year - 1, MINYEAR), min(year + 1, MAXYEAR - 1) + 1):
            if self.yearly is not None:
                yield _yearly_dates(self.yearly, anchor)
            if self.lunar is not None and anchor in LUNAR_YEARS:
                yield _lunar_dates(self.lunar, anchor)


def _yearly_dates(span: tuple[MonthDay, MonthDay], year: int) -> tuple[date, date]:
    """The occurrence that starts in ``year``."""
    (sm, sd), (em, ed) = span
    end_year = year + 1 if (em, ed) < (sm, sd) else year
    return _day_of(year, sm, sd), _day_of(end_year, em, ed)


def _day_of(year: int, month: int, day: int) -> date:
    # 02-29 is the only valid yearly day missing from some years; there it means 02-28.
    if (month, day) == (2, 29) and not isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


@lru_cache(maxsize=4096)  # the same few spans and years are asked for every message
def _lunar_dates(span: tuple[MonthDay, MonthDay], lunar_year: int) -> tuple[date, date]:
    """The occurrence that ends in ``lunar_year`` (a wrapping range starts in the lunar year before)."""
    (sm, sd), (em, ed) = span
    start_year = lunar_year - 1 if (em, ed) < (sm, sd) else lunar_year
    return _solar(start_year, sm, sd), _solar(lunar_year, em, ed)


def _solar(lunar_year: int, month: int, day: int) -> date:
    last = LunarDate.last_day(lunar_year, month).day
    solar: date = LunarDate(lunar_year, month, min(day, last)).to_solar_date()
    return solar


@dataclass(frozen=True)
class Calendar:
    periods: tuple[Period, ...] = ()
    # Periods in force by day: every message asks, the answer changes once a day (lunar dates are costly).
    _by_day: dict[date, tuple[ActivePeriod, ...]] = field(default_factory=dict, compare=False, hash=False,
                                                          repr=False)

    def active(self, at: datetime) -> tuple[ActivePeriod, ...]:
        """Periods in force at ``at`` (its Asia/Shanghai date; a naive time is taken as Shanghai)."""
        moment = at.replace(tzinfo=SHANGHAI) if at.tzinfo is None else at.astimezone(SHANGHAI)
        day = moment.date()
        found = self._by_day.get(day)
        if found is None:
            if len(self._by_day) > 366:  # a replay over years: keep the memory bounded
                self._by_day.clear()
            found = self._by_day[day] = tuple(ActivePeriod(p.name, p.raise_by) for p in self.periods
                                              if p.contains(day))
        return found

    def resolve(self, year: int) -> list[tuple[Period, date, date]]:
        """The Gregorian dates of every period occurrence that touches ``year``, by start date."""
        found = [
            (index, start, end, period)
            for index, period in enumerate(self.periods)
            for start, end in period.occurrences(year)
        ]
        found.sort(key=lambda row: (row[1], row[0]))
        return [(period, start, end) for _, start, end, period in found]


# ---------------------------------------------------------------- periods.yaml


def load_periods(path: Path | None) -> Calendar:
    """Read ``periods.yaml``; ``None`` (not configured) is an empty calendar. Raises ``ConfigError``
    with every problem found."""
    if path is None:
        return Calendar()
    root = load_file(path)
    if root is None:
        return Calendar()
    problems: list[Problem] = []
    periods: list[Period] = []
    try:
        top = root.mapping("a mapping with a \"periods\" list")
        problems += check_keys(root, ("periods",), "periods file")
        entries = top["periods"].sequence() if "periods" in top and not top["periods"].is_null else []
    except ConfigError as exc:
        raise ConfigError([*problems, *exc.problems]) from None
    for entry in entries:
        try:
            periods.append(_period(entry))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return Calendar(tuple(periods))


def _period(entry: Node) -> Period:
    fields = entry.mapping("a period such as {name: 全国两会, dates: \"03-03..03-15\"}")
    found = check_keys(entry, ("name", "dates", "lunar", "raise"), "period", required=("name",))
    if len([key for key in ("dates", "lunar") if key in fields]) != 1:
        found.append(entry.problem('period needs exactly one of "dates" or "lunar"'))
    if found:
        raise ConfigError(found)
    name = fields["name"].str("a name").strip()
    if not name:
        raise fields["name"].fail("expected a name, got an empty text")
    raise_by = 1
    if "raise" in fields:
        raise_by = fields["raise"].int()
        if not 0 <= raise_by <= _MAX_RAISE:
            raise fields["raise"].fail(f"bad raise {raise_by}: expected 0 to {_MAX_RAISE} levels")
    location = entry.location
    if "lunar" in fields:
        return Period(name, raise_by, lunar=_lunar_span(fields["lunar"]), location=location)
    node = fields["dates"]
    value = node.scalar()
    if isinstance(value, date) and not isinstance(value, datetime):  # unquoted 2026-12-20
        return Period(name, raise_by, once=(value, value), location=location)
    text = node.str("a date range").strip()
    if _ONCE.fullmatch(text):
        return Period(name, raise_by, once=_once_span(node, text), location=location)
    return Period(name, raise_by, yearly=_yearly_span(node, text), location=location)


def _yearly_span(node: Node, text: str) -> tuple[MonthDay, MonthDay]:
    found = _YEARLY.fullmatch(text)
    if not found:
        raise node.fail(f'bad dates "{text}": expected "MM-DD..MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"')
    start = (int(found[1]), int(found[2]))
    end = (int(found[3]), int(found[4])) if found[3] else start
    for month, day in (start, end):
        try:
            date(2024, month, day)  # a leap year, so 02-29 is a valid yearly day
        except ValueError:
            raise node.fail(f'bad dates "{text}": {month:02d}-{day:02d} is not a day of the year') from None
    return start, end


def _once_span(node: Node, text: str) -> tuple[date, date]:
    found = _ONCE.fullmatch(text)
    assert found is not None  # checked by the caller
    try:
        start = date.fromisoformat(found[1])
        end = date.fromisoformat(found[2]) if found[2] else start
    except ValueError as exc:
        raise node.fail(f'bad dates "{text}": {exc}') from None
    if end < start:
        raise node.fail(f'bad dates "{text}": the end is before the start')
    return start, end


def _lunar_span(node: Node) -> tuple[MonthDay, MonthDay]:
    text = node.str("a lunar date range").strip()
    found = _YEARLY.fullmatch(text)
    if not found:
        raise node.fail(f'bad lunar dates "{text}": expected "MM-DD..MM-DD" such as "12-23..01-15"')
    start = (int(found[1]), int(found[2]))
    end = (int(found[3]), int(found[4])) if found[3] else start
    for month, day in (start, end):
        if not (1 <= month <= 12 and 1 <= day <= 30):
            raise node.fail(f'bad lunar dates "{text}": {month:02d}-{day:02d} is not a lunar day')
    return start, end


def describe_span(period: Period) -> str:
    """How the period is written in periods.yaml (for ``yuqing periods`` and logs)."""
    if period.once is not None:
        return f"{period.once[0].isoformat()}..{period.once[1].isoformat()}"
    span = period.yearly or period.lunar
    assert span is not None
    (sm, sd), (em, ed) = span
    prefix = "lunar " if period.lunar else ""
    return f"{prefix}{sm:02d}-{sd:02d}..{em:02d}-{ed:02d}"

