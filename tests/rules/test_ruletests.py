"""Rule-file tests run against the whole rule set with real jieba, and their table."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone

import pytest

from rules.engine import Engine
from rules.model import ActivePeriod, Level, RuleSet
from rules.ruletests import RuleTestResult, format_table, run_rule_tests
from rules.text import Analyzer
from tests.rules.conftest import rule, rule_test, term

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)
TWO_SESSIONS = datetime(2027, 3, 5, 10, 0, tzinfo=SHANGHAI)

拆迁 = term("拆迁", "拆迁", "强拆", "补偿款")
聚集 = term("聚集", "聚集", "上访", "集体上访")
广告 = term("广告", "招聘", "优惠")


def calendar(at: datetime) -> tuple[ActivePeriod, ...]:
    """全国两会 every year from 03-03 to 03-15, in Asia/Shanghai."""
    day = at.astimezone(SHANGHAI).date()
    return (ActivePeriod("全国两会", 1),) if date(day.year, 3, 3) <= day <= date(day.year, 3, 15) else ()


RULES = RuleSet(
    rules=(
        rule("land-complaint", Level.BLUE, all=[拆迁], category="征地拆迁", line=3, tests=[
            rule_test("拆迁补偿款拖了两年还没到位", Level.BLUE, line=5),
            # The rule's own test holds for the whole set: 聚集 makes it yellow through the next rule.
            rule_test("拆迁户在镇政府门口聚集", Level.YELLOW, reposts=300, line=6),
        ]),
        rule("land-mass-gathering", Level.YELLOW, all=[拆迁, 聚集], none=[广告], sources=["weibo"],
             spread=["reposts >= 100"], raise_in_period=True, category="征地拆迁", line=10, tests=[
                 rule_test("城东拆迁户今天在县政府门口聚集", Level.YELLOW, reposts=300, line=12,
                           category="征地拆迁"),
                 rule_test("拆迁办招聘文员，待遇优惠", Level.NONE, line=13),  # wrong: land-complaint is blue
                 rule_test("拆迁户集体上访", Level.RED, reposts=300, line=14, at=TWO_SESSIONS),
                 rule_test("我马上访问拆迁网站", Level.YELLOW, reposts=300, line=15),  # 上访 is not a word here
             ]),
        rule("retired", Level.RED, all=[term("爆炸")], expires=date(2026, 1, 31), line=20, tests=[
            rule_test("化工厂发生爆炸", Level.RED, line=22),
        ]),
    ),
    version="t1",
    tests=(
        rule_test("村民集体上访，拆迁补偿款不到位", Level.YELLOW, reposts=150, line=30, rule="land-mass-gathering"),
        rule_test("拆迁补偿款不到位", Level.BLUE, line=31, rule="land-mass-gathering", category="劳动社保"),
    ),
)


@pytest.fixture(scope="module")
def results(analyzer: Analyzer) -> list[RuleTestResult]:
    analyzer.use_words(RULES.words)
    with Engine(RULES) as engine:
        return run_rule_tests(RULES, engine, analyzer, calendar, NOW)


def by_line(results: list[RuleTestResult]) -> dict[int, RuleTestResult]:
    return {r.test.location.line: r for r in results}


def test_every_test_runs_in_order_file_tests_last(results: list[RuleTestResult]) -> None:
    assert [(r.rule_id, r.test.location.line) for r in results] == [
        ("land-complaint", 5), ("land-complaint", 6), ("land-mass-gathering", 12), ("land-mass-gathering", 13),
        ("land-mass-gathering", 14), ("land-mass-gathering", 15), ("retired", 22), (None, 30), (None, 31)]


def test_a_test_expects_what_the_whole_rule_set_gives(results: list[RuleTestResult]) -> None:
    got = by_line(results)
    assert (got[5].passed, got[5].got, got[5].got_category) == (True, Level.BLUE, "征地拆迁")
    assert (got[6].passed, got[6].got) == (True, Level.YELLOW)
    assert got[12].passed
    assert not got[13].passed
    assert got[13].got is Level.BLUE
    assert got[13].detail.splitlines() == [
        "expected none, got blue",
        "matched land-complaint (blue)",
        "land-mass-gathering did not match: all: 聚集 not found",
        "land-mass-gathering did not match: none: 广告 found (优惠, 招聘)",
        "land-mass-gathering did not match: spread: reposts 0 is not >= 100",
    ]


def test_at_picks_the_time_and_its_sensitive_periods(results: list[RuleTestResult]) -> None:
    two_sessions = by_line(results)[14]
    assert two_sessions.passed, two_sessions.detail
    assert two_sessions.detail == "matched land-complaint (blue), land-mass-gathering (red); period 全国两会"


def test_a_failure_says_why_the_rule_under_test_missed(results: list[RuleTestResult]) -> None:
    missed = by_line(results)[15]
    assert not missed.passed
    assert missed.detail.splitlines() == [
        "expected yellow, got blue",
        "matched land-complaint (blue)",
        "land-mass-gathering did not match: all: 聚集 not found",
    ]
    retired = by_line(results)[22]
    assert (retired.passed, retired.got) == (False, Level.NONE)
    assert retired.detail.splitlines()[-1] == (
        "retired expired on 2026-01-31 (the test runs at 2026-11-20T09:30:00+08:00)")


def test_file_tests_check_the_named_rule_and_category(results: list[RuleTestResult]) -> None:
    got = by_line(results)
    assert got[30].passed, got[30].detail
    assert not got[31].passed
    assert got[31].detail.splitlines() == [
        "expected category 劳动社保, got 征地拆迁; expected rule land-mass-gathering to match",
        "matched land-complaint (blue)",
        "land-mass-gathering did not match: all: 聚集 not found",
        "land-mass-gathering did not match: spread: reposts 0 is not >= 100",
    ]


def test_the_table_lines_up_and_shows_failures(results: list[RuleTestResult]) -> None:
    table = format_table(results).splitlines()
    assert table[0].split() == ["RULE", "EXPECT", "GOT", "RESULT", "LOCATION"]
    assert table[1].split() == ["land-complaint", "blue", "blue", "PASS", "rules/test.yaml:5:9"]
    assert table[3].split() == ["land-mass-gathering", "yellow", "征地拆迁", "yellow", "征地拆迁", "PASS",
                                "rules/test.yaml:12:9"]
    assert table[4].split() == ["land-mass-gathering", "none", "blue", "FAIL", "rules/test.yaml:13:9"]
    assert table[5:7] == ["    expected none, got blue", "    matched land-complaint (blue)"]
    file_rows = [line.split() for line in table if line.startswith("(file)")]
    assert file_rows == [["(file)", "land-mass-gathering", "yellow", "yellow", "PASS", "rules/test.yaml:30:9"],
                         ["(file)", "land-mass-gathering", "blue", "劳动社保", "blue", "征地拆迁", "FAIL",
                          "rules/test.yaml:31:9"]]
    assert table[-1] == "5 passed, 4 failed"
    # Columns line up on a terminal, where a Chinese character is two columns wide.
    columns = {columns_before(line, line.index("rules/test.yaml")) for line in table if "rules/test.yaml" in line}
    assert len(columns) == 1


def columns_before(line: str, index: int) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) == "W" else 1 for ch in line[:index])


def test_no_tests_give_an_empty_list(analyzer: Analyzer) -> None:
    plain = RuleSet((rule("r", all=[拆迁]),))
    with Engine(plain) as engine:
        assert run_rule_tests(plain, engine, analyzer, calendar, NOW) == []
    assert format_table([]).splitlines() == ["RULE  EXPECT  GOT  RESULT  LOCATION", "0 passed, 0 failed"]
