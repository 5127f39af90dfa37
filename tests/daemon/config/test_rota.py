"""The duty rota: who is on duty by date and time, gaps and overlaps, and the example's shifts."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest

from daemon.config.notify import load_notify
from daemon.config.rota import Rota, Shift, coverage
from rules.county import SHANGHAI
from rules.model import Location

ROOT = Path(__file__).resolve().parents[3]
HERE = Location("notify.yaml", 1, 1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(("moment", "expected"), [
    ("2026-11-23 10:00", ("liu",)),  # Monday, day shift
    ("2026-11-23 17:30", ("chen",)),  # shifts hand over: the later one starts at the minute
    ("2026-11-24 02:00", ("chen",)),  # Monday's night shift runs into Tuesday
    ("2026-11-28 10:00", ("liu", "chen")),  # Saturday: holiday shift
    ("2026-11-30 08:00", ("liu", "chen")),  # Monday before 08:30: Sunday's holiday shift still runs
    ("2026-10-01 10:00", ("zhou",)),  # National Day: the dated shift wins where it covers
    ("2026-10-01 20:00", ("liu", "chen")),  # … and the holiday shift has the evening
    ("2025-09-28 10:00", ("liu",)),  # a Sunday worked in exchange (调休) is a workday
])
def test_example_rota_on_duty(moment: str, expected: tuple[str, ...]) -> None:
    config = load_notify(ROOT / "examples" / "notify.yaml", env=os.environ)
    assert config.rotas["值班"].on_duty(at(moment)) == expected
    assert [p.key for p in config.members(["值班"], at(moment))] == list(expected)
    assert config.warnings == ()


def test_nobody_on_a_shift_falls_back_to_the_team() -> None:
    config = load_notify(ROOT / "examples" / "notify.yaml", env=os.environ)
    rota = Rota("值班", (Shift("白班", ("chen",), 8 * 60, 9 * 60, HERE, frozenset({"workday"})),), HERE)
    quiet = type(config)(config.channels, config.directory, config.policies, rotas={"值班": rota})
    assert [p.key for p in quiet.members(["值班", "宣传部"], at("2026-11-23 10:00"))] == ["chen", "wang"]
    assert [p.key for p in quiet.members(["值班"], at("2026-11-23 23:00"))] == ["liu"]  # teams: 值班: [liu]


def test_gaps_and_overlaps_are_named() -> None:
    day = Shift("白班", ("a",), 8 * 60, 9 * 60, Location("n.yaml", 3, 7), frozenset({"workday"}))
    late = Shift("晚班", ("b",), 16 * 60, 8 * 60, Location("n.yaml", 4, 7),
                 frozenset({"mon", "tue", "wed", "thu", "fri"}))
    weekend = Shift("周末", ("c",), 0, 24 * 60, Location("n.yaml", 5, 7), frozenset({"holiday"}))
    warnings = [(where.line, text) for where, text in coverage(Rota("值班", (day, late, weekend), HERE))]
    assert warnings == [
        (1, 'rota "值班": nobody on duty 00:00–08:00 on workdays'),  # 晚班 ends at midnight
        (1, 'rota "值班": nobody on duty 17:00–24:00 on Sat, Sun (workdays)'),  # 调休 weekends
        (4, 'rota "值班": shifts "白班" and "晚班" overlap 16:00–17:00 on Mon, Tue, Wed, Thu, Fri (workdays)'),
        (5, 'rota "值班": shifts "晚班" and "周末" overlap 16:00–24:00 on Mon, Tue, Wed, Thu, Fri (holidays)'),
    ]


def test_shift_days_and_dates() -> None:
    night = Shift("夜班", ("b",), 22 * 60, 10 * 60, HERE, frozenset({"fri"}))
    rota = Rota("值班", (night,), HERE)
    assert rota.on_duty(at("2026-11-28 07:59"), lambda d: d.weekday() < 5) == ("b",)  # Friday's night, Saturday
    assert rota.on_duty(at("2026-11-28 08:00"), lambda d: d.weekday() < 5) == ()
    dated = Shift("带班", ("z",), 0, 24 * 60, HERE, dates=(date(2026, 12, 20), date(2026, 12, 23)))
    assert Rota("值班", (night, dated), HERE).on_duty(at("2026-12-23 23:59")) == ("z",)
