"""Working days with the real 2026 holiday tables (国务院办公厅, November 2025), and the fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from structlog.testing import capture_logs

from rules import calendar
from rules.calendar import add_workdays, covers, holiday_name, is_workday, workdays_between

CST = timezone(timedelta(hours=8))


def test_national_day_2026_and_its_working_saturday() -> None:
    # 2026: 10-01 (Thu) to 10-07 off; Sunday 09-20 and Saturday 10-10 are worked (调休).
    assert [is_workday(date(2026, 10, d)) for d in range(1, 9)] == [False] * 7 + [True]
    assert holiday_name(date(2026, 10, 1)) == "National Day"
    assert is_workday(date(2026, 9, 20))  # a Sunday
    assert is_workday(date(2026, 10, 10))  # a Saturday
    assert not is_workday(date(2026, 10, 11))
    assert holiday_name(date(2026, 10, 11)) is None  # an ordinary Sunday is not named


def test_five_working_days_across_national_day() -> None:
    # A reply promised on Wednesday 09-30 at 16:00 "within 5 working days": 10-08, 09, 10 (Sat), 12, 13.
    start = datetime(2026, 9, 30, 16, 0, tzinfo=CST)
    assert add_workdays(start, 5) == datetime(2026, 10, 13, 16, 0, tzinfo=CST)
    assert add_workdays(start, 0) == start
    assert workdays_between(date(2026, 10, 1), date(2026, 10, 10)) == 3


def test_an_aware_time_is_counted_in_shanghai_days() -> None:
    # 2026-09-30 17:00 UTC is already Thursday 10-01 01:00 in Shanghai: a holiday.
    late = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    assert add_workdays(late, 1) == datetime(2026, 10, 8, 1, 0, tzinfo=CST)
    assert add_workdays(datetime(2026, 10, 9, 9, 0), 1) == datetime(2026, 10, 10, 9, 0)  # naive stays naive


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        add_workdays(datetime(2026, 10, 9, 9, 0), -1)


def test_a_year_without_tables_falls_back_to_monday_to_friday_with_one_warning() -> None:
    year = 2099
    assert not covers(year)
    assert covers(2026)
    calendar._warned.discard(year)
    with capture_logs() as logs:
        assert is_workday(date(year, 10, 1))  # a Thursday; no tables say it is a holiday
        assert not is_workday(date(year, 10, 3))  # Saturday
        assert add_workdays(datetime(year, 10, 2, 9, 0), 1) == datetime(year, 10, 5, 9, 0)
    assert [e["event"] for e in logs] == ["calendar.no_holiday_data"]
    assert logs[0]["year"] == year
