"""rules.periods: sensitive periods, Gregorian and lunar, and their periods.yaml errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from borax.calendars.lunardate import LunarDate  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.errors import ConfigError
from rules.model import ActivePeriod
from rules.periods import Calendar, Period, describe_span, load_periods

DATA = Path(__file__).parent / "data" / "periods"
EXAMPLE = Path(__file__).parents[2] / "examples" / "periods.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")

DESIGN_EXAMPLE = """\
periods:
  - {name: 全国两会, dates: "03-03..03-15", raise: 1}          # every year
  - {name: 春节, lunar: "12-23..01-15", raise: 1}              # Chinese lunar calendar
  - {name: 县人代会, dates: "2026-12-20..2026-12-23", raise: 2}
"""


def _calendar(tmp_path: Path, text: str) -> Calendar:
    path = tmp_path / "periods.yaml"
    path.write_text(text, encoding="utf-8")
    return load_periods(path)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), SHANGHAI)


def test_the_design_example(tmp_path: Path) -> None:
    calendar = _calendar(tmp_path, DESIGN_EXAMPLE)
    two_sessions, spring, congress = calendar.periods
    assert two_sessions == Period("全国两会", 1, yearly=((3, 3), (3, 15)), location=two_sessions.location)
    assert str(two_sessions.location) == f"{tmp_path / 'periods.yaml'}:2:5"
    assert spring.lunar == ((12, 23), (1, 15))
    assert (congress.once, congress.raise_by) == ((date(2026, 12, 20), date(2026, 12, 23)), 2)
    assert [(p.name, start, end) for p, start, end in calendar.resolve(2026)] == [
        ("春节", date(2026, 2, 10), date(2026, 3, 3)),  # 腊月廿三 (小年) to 元宵
        ("全国两会", date(2026, 3, 3), date(2026, 3, 15)),
        ("县人代会", date(2026, 12, 20), date(2026, 12, 23)),
    ]
    assert calendar.active(_noon(date(2026, 3, 3))) == (ActivePeriod("全国两会", 1), ActivePeriod("春节", 1))
    assert calendar.active(_noon(date(2026, 12, 21))) == (ActivePeriod("县人代会", 2),)
    assert calendar.active(_noon(date(2027, 12, 21))) == ()
    assert [describe_span(p) for p in calendar.periods] == [
        "03-03..03-15", "lunar 12-23..01-15", "2026-12-20..2026-12-23"]


@pytest.mark.parametrize(
    ("lunar", "year", "expected"),
    [
        ("01-01", 2027, date(2027, 2, 6)),   # 春节 2027
        ("01-01", 2026, date(2026, 2, 17)),  # 春节 2026
        ("08-15", 2026, date(2026, 9, 25)),  # 中秋 2026
        ("05-05", 2026, date(2026, 6, 19)),  # 端午 2026
        ("12-30", 2026, date(2026, 2, 16)),  # 除夕 2026 is 腊月廿九: day 30 means the month's last day
    ],
)
def test_known_lunar_dates(tmp_path: Path, lunar: str, year: int, expected: date) -> None:
    calendar = _calendar(tmp_path, f'periods: [{{name: 节日, lunar: "{lunar}"}}]')
    assert [(start, end) for _, start, end in calendar.resolve(year)] == [(expected, expected)]
    assert calendar.active(_noon(expected)) == (ActivePeriod("节日", 1),)
    assert calendar.active(_noon(expected - timedelta(days=1))) == ()


def test_a_lunar_range_in_the_last_lunar_month_can_fall_in_january(tmp_path: Path) -> None:
    calendar = _calendar(tmp_path, 'periods: [{name: 腊月, lunar: "12-01..12-08"}]')
    # 腊月 of lunar 2025 starts in January 2026; that of lunar 2026 in January 2027.
    assert [(s, e) for _, s, e in calendar.resolve(2026)] == [(date(2026, 1, 19), date(2026, 1, 26))]


def test_a_yearly_range_may_wrap_the_new_year(tmp_path: Path) -> None:
    calendar = _calendar(tmp_path, 'periods: [{name: 元旦, dates: "12-25..01-05", raise: 2}]')
    assert [(s, e) for _, s, e in calendar.resolve(2026)] == [
        (date(2025, 12, 25), date(2026, 1, 5)), (date(2026, 12, 25), date(2027, 1, 5))]
    on = (ActivePeriod("元旦", 2),)
    assert calendar.active(datetime(2026, 1, 5, 23, 59, tzinfo=SHANGHAI)) == on
    assert calendar.active(datetime(2026, 1, 6, 0, 0, tzinfo=SHANGHAI)) == ()
    # 16:30 UTC on 5 January is already 6 January in Shanghai; a naive time is Shanghai time.
    assert calendar.active(datetime(2026, 1, 5, 16, 30, tzinfo=UTC)) == ()
    assert calendar.active(datetime(2026, 12, 24, 16, 0, tzinfo=UTC)) == on
    assert calendar.active(datetime(2026, 12, 25, 0, 30)) == on


def test_february_29_is_february_28_in_common_years(tmp_path: Path) -> None:
    calendar = _calendar(tmp_path, 'periods: [{name: 闰日, dates: "02-29"}]')
    assert [(s, e) for _, s, e in calendar.resolve(2027)] == [(date(2027, 2, 28), date(2027, 2, 28))]
    assert [(s, e) for _, s, e in calendar.resolve(2028)] == [(date(2028, 2, 29), date(2028, 2, 29))]


def test_a_one_time_range_across_years_shows_in_both(tmp_path: Path) -> None:
    calendar = _calendar(tmp_path, "periods:\n  - {name: 跨年, dates: '2026-12-30..2027-01-02'}\n"
                                   "  - {name: 考察, dates: 2026-05-08}\n")
    assert [p.name for p, _, _ in calendar.resolve(2026)] == ["考察", "跨年"]
    assert [p.name for p, _, _ in calendar.resolve(2027)] == ["跨年"]
    assert calendar.periods[1].once == (date(2026, 5, 8), date(2026, 5, 8))


@pytest.mark.parametrize("text", ["", "# none yet\n", "periods:\n", "periods: []\n"])
def test_empty_calendars(tmp_path: Path, text: str) -> None:
    assert _calendar(tmp_path, text) == Calendar()


def test_no_file_configured_is_an_empty_calendar() -> None:
    assert load_periods(None).active(datetime(2026, 3, 5, tzinfo=SHANGHAI)) == ()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_periods(tmp_path / "periods.yaml")
    assert str(caught.value) == f"{tmp_path / 'periods.yaml'}: error: file not found"


def test_the_example_file_loads() -> None:
    if not EXAMPLE.is_file():
        pytest.skip("examples/periods.yaml is not written yet")
    calendar = load_periods(EXAMPLE)
    assert calendar.periods
    assert {p.name for p, _, _ in calendar.resolve(2027)} >= {"全国两会", "春节"}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad-dates.yaml", '3:23: error: bad dates "10-01..10-32": 10-32 is not a day of the year'),
        ("bad-lunar.yaml", '2:23: error: bad lunar dates "08-15..08-31": 08-31 is not a lunar day'),
        ("bad-raise.yaml", "2:58: error: bad raise 5: expected 0 to 3 levels"),
        ("dates-and-lunar.yaml", '2:5: error: period needs exactly one of "dates" or "lunar"'),
        ("no-name.yaml", '2:5: error: period needs "name"'),
        ("once-reversed.yaml",
         '2:25: error: bad dates "2026-12-23..2026-12-20": the end is before the start'),
        ("unknown-field.yaml", '2:41: error: unknown field "rasie" in period (did you mean "raise"?)'),
    ],
)
def test_one_error_per_file(case: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_periods(DATA / case)
    assert [str(p) for p in caught.value.problems] == [f"{DATA / case}:{expected}"]


def test_all_errors_are_collected(tmp_path: Path) -> None:
    path = tmp_path / "periods.yaml"
    path.write_text("periods:\n  - {name: a, dates: '13-01'}\n  - {name: b, lunar: 'x'}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_periods(path)
    assert [str(p.location) for p in caught.value.problems] == [f"{path}:2:22", f"{path}:3:22"]


# ---------------------------------------------------------------- properties

_month_day = st.tuples(st.integers(1, 12), st.integers(1, 28))
_lunar_day = st.tuples(st.integers(1, 12), st.integers(1, 29))
_periods = st.lists(
    st.one_of(
        st.builds(lambda a, b: Period("yearly", 1, yearly=(a, b)), _month_day, _month_day),
        st.builds(lambda a, b: Period("lunar", 1, lunar=(a, b)), _lunar_day, _lunar_day),
        st.builds(lambda a, n: Period("once", 1, once=(a, a + timedelta(days=n))),
                  st.dates(date(2019, 1, 1), date(2036, 12, 31)), st.integers(0, 400)),
    ),
    min_size=1, max_size=4,
).map(lambda ps: Calendar(tuple(Period(f"{p.name}{i}", p.raise_by, p.yearly, p.once, p.lunar)
                                for i, p in enumerate(ps))))
_days = st.dates(date(2020, 1, 1), date(2035, 12, 31))


@settings(max_examples=300, deadline=None)
@given(calendar=_periods, day=_days)
def test_active_agrees_with_resolve(calendar: Calendar, day: date) -> None:
    resolved = calendar.resolve(day.year)
    in_force = {p.name for p, start, end in resolved if start <= day <= end}
    assert {a.name for a in calendar.active(_noon(day))} == in_force
    assert all(start <= end and start.year <= day.year <= end.year for _, start, end in resolved)


def _inside(md: tuple[int, int], span: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    start, end = span
    return start <= md <= end if start <= end else md >= start or md <= end


@settings(max_examples=300, deadline=None)
@given(calendar=_periods, day=_days)
def test_active_agrees_with_month_and_day(calendar: Calendar, day: date) -> None:
    """An independent reading: compare (month, day), in the lunar calendar for lunar periods."""
    lunar = LunarDate.from_solar(day)
    for period in calendar.periods:
        if period.yearly is not None:
            expected = _inside((day.month, day.day), period.yearly)
        elif period.lunar is not None:
            if lunar.leap:
                continue  # a leap month is never named; where it falls depends on the range
            expected = _inside((lunar.month, lunar.day), period.lunar)
        else:
            continue
        assert (period.name in {a.name for a in calendar.active(_noon(day))}) == expected
