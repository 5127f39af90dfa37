"""Statutory holidays and working days (法定节假日, 工作日) for deadlines such as "5 working days".

The State Council publishes each year's holidays and the weekend days worked in exchange (调休) in
November of the year before; the ``chinesecalendar`` package carries those tables. For a year it does
not know yet (or if it is not installed) working days fall back to Monday to Friday, with a warning
logged once per year, so that a deadline is still computed, only without that year's holidays.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import structlog

from rules.county import SHANGHAI

log = structlog.get_logger(__name__)

try:
    import chinese_calendar as _tables  # type: ignore[import-untyped,import-not-found,unused-ignore]  # no stubs

    _library: Any = _tables
except ImportError:  # pragma: no cover - a dependency; the fallback keeps deadlines working without it
    _library = None

_warned: set[int] = set()


def covers(year: int) -> bool:
    """Whether the holiday tables know ``year`` (else working days are Monday to Friday)."""
    if _library is None:
        return False
    try:
        _library.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_workday(day: date) -> bool:
    """A working day: Monday to Friday except statutory holidays, plus the weekend days worked (调休)."""
    if _library is not None:
        try:
            return bool(_library.is_workday(day))
        except NotImplementedError:
            pass
    if day.year not in _warned:
        _warned.add(day.year)
        log.warning("calendar.no_holiday_data", year=day.year,
                    fallback="Monday to Friday", fix="upgrade the chinesecalendar package")
    return day.weekday() < 5


def holiday_name(day: date) -> str | None:
    """The statutory holiday ``day`` belongs to (``National Day``, ``Spring Festival`` …), else None.
    Weekends are not named; unknown years give None."""
    if _library is None:
        return None
    try:
        on_holiday, name = _library.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return str(name) if on_holiday and name else None


def add_workdays(start: datetime, n: int) -> datetime:
    """``start`` moved ``n`` working days on, at the same time of day: the deadline of "within n
    working days". The day of ``start`` itself does not count, whether it is a working day or not
    (a complaint on Saturday with 2 working days is due on Tuesday at the same hour).

    An aware ``start`` is counted in Asia/Shanghai days and the result is in Asia/Shanghai; a naive
    one is taken as Asia/Shanghai already and stays naive.
    """
    if n < 0:
        raise ValueError(f"working days must be >= 0, got {n}")
    local = start.astimezone(SHANGHAI) if start.tzinfo is not None else start
    day = local.date()
    left = n
    while left:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return local + timedelta(days=(day - local.date()).days)


def workdays_between(first: date, last: date) -> int:
    """Working days from ``first`` to ``last``, both included (0 when ``last`` is before ``first``)."""
    return sum(1 for i in range((last - first).days + 1) if is_workday(first + timedelta(days=i)))
