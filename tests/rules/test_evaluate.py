"""The reference semantics: why a rule does not match, when it is live, how periods raise it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.evaluate import (
    RegexBank,
    condition_failures,
    fixed,
    grade,
    is_live,
    matches,
    ordered_sources,
    regex_holds,
)
from rules.model import ActivePeriod, Level, Message, Spread
from tests.rules.conftest import analysis, rule, term

拆迁 = term("拆迁", "拆迁", "强拆", "征地")
聚集 = term("聚集", "聚集", "上访", "堵路")
广告 = term("广告", "招聘", "优惠")
REFERENCE = rule("land-mass-gathering", all=[拆迁, 聚集], none=[广告], sources=["weibo", "wechat"],
                 spread=["reposts >= 100"], raise_in_period=True)


def test_the_reference_rule_matches_its_message() -> None:
    assert condition_failures(REFERENCE, analysis(["强拆", "上访"]), Spread(reposts=300)) == []
    assert matches(REFERENCE, analysis(["强拆", "上访"]), Spread(reposts=100))


def test_every_failed_part_is_named() -> None:
    found = analysis(["强拆", "招聘", "优惠"], source="douyin")
    assert condition_failures(REFERENCE, found, Spread(reposts=50)) == [
        "all: 聚集 not found",
        "none: 广告 found (优惠, 招聘)",
        "sources: douyin not in weibo, wechat",
        "spread: reposts 50 is not >= 100",
    ]


def test_any_needs_one_term_and_empty_parts_allow_everything() -> None:
    either = rule("either", any=[term("爆炸"), term("起火")])
    assert condition_failures(either, analysis(["起火"]), Spread()) == []
    assert condition_failures(either, analysis(["事故"]), Spread()) == ["any: none of 爆炸, 起火 found"]
    assert condition_failures(rule("anything"), analysis([]), Spread()) == []


def test_a_term_is_present_when_any_of_its_words_is() -> None:
    assert matches(rule("r", all=[拆迁]), analysis(["征地"]), Spread())
    assert not matches(rule("r", all=[拆迁]), analysis(["拆"]), Spread())


def test_spread_thresholds_compare_fractions_and_all_fields() -> None:
    growth = rule("g", spread=["growth > 2.5", "platforms >= 2", "max_followers != 0"])
    assert matches(growth, analysis([]), Spread(growth=2.501, platforms=2, max_followers=10))
    assert condition_failures(growth, analysis([]), Spread(growth=2.5, platforms=1)) == [
        "spread: growth 2.5 is not > 2.5",
        "spread: platforms 1 is not >= 2",
        "spread: max_followers 0 is not != 0",
    ]


def test_fixed_point_never_gives_the_engine_an_exponent() -> None:
    assert fixed(100) == 100_000
    assert fixed(2.5) == 2_500
    assert fixed(5e-05) == 0
    assert fixed(float("inf")) == 2**62
    assert fixed(-1e300) == -(2**62)
    assert fixed(float("nan")) == 0


def test_sources_are_listed_in_design_order() -> None:
    assert ordered_sources({"board", "weibo", "zzz", "douyin", "aaa"}) == ["weibo", "douyin", "board", "aaa", "zzz"]


SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(("at", "live"), [
    (datetime(2026, 3, 15, 23, 59, tzinfo=SHANGHAI), True),  # the last day, to its end
    (datetime(2026, 3, 16, 0, 0, tzinfo=SHANGHAI), False),
    (datetime(2026, 3, 15, 15, 59, tzinfo=UTC), True),  # 23:59 in Shanghai
    (datetime(2026, 3, 15, 16, 0, tzinfo=UTC), False),  # already the 16th in Shanghai
    (datetime(2026, 3, 15, 23, 0), True),  # naive: Asia/Shanghai
])
def test_expires_is_the_last_day_in_shanghai(at: datetime, live: bool) -> None:
    assert is_live(rule("r", expires=date(2026, 3, 15)), at) is live


def test_a_disabled_rule_is_never_live() -> None:
    assert not is_live(rule("r", enabled=False), datetime(2026, 1, 1, tzinfo=SHANGHAI))
    assert is_live(rule("r"), datetime(2099, 1, 1, tzinfo=SHANGHAI))


两会 = ActivePeriod("全国两会", 1)
人代会 = ActivePeriod("县人代会", 2)


def test_a_period_raises_by_its_largest_raise() -> None:
    assert grade(REFERENCE, [两会]) == (Level.RED, "全国两会", ["sensitive period 全国两会: +1 (yellow → red)"])
    blue = rule("b", Level.BLUE, raise_in_period=True)
    assert grade(blue, [两会, 人代会]) == (Level.RED, "县人代会", ["sensitive period 县人代会: +2 (blue → red)"])
    assert grade(blue, [ActivePeriod("x", 0)]) == (Level.BLUE, None, [])


def test_only_raise_in_period_rules_rise_and_red_stays_red() -> None:
    assert grade(rule("r", Level.YELLOW), [两会]) == (Level.YELLOW, None, [])
    assert grade(REFERENCE, []) == (Level.YELLOW, None, [])
    red = rule("r", Level.RED, raise_in_period=True)
    assert grade(red, [两会]) == (Level.RED, None, ["sensitive period 全国两会: +1 (red is the most it can be)"])


BANK_PATTERNS = [
    r"[0-9一二三四五六七八九十两多数]+死",
    r"(上百|数百|[1-9][0-9]{2,}\s*(余|多)?)\s*(名|个|位)?\s*(村民|工人|人)",
    r"\d{17}[\dXx]",
    r"1[3-9]\d{9}",
    r"(警方|派出所|通报)",
    r"[0-9０-９.．]+\s*级",
]


@given(text=st.text(alphabet=st.sampled_from(list("0123456789０５一三十两多死人名工村民上百级余 .警方派出所通报Xx13")),
                    max_size=40),
       chosen=st.lists(st.sampled_from(BANK_PATTERNS), min_size=1, max_size=3, unique=True))
def test_the_regex_bank_finds_what_each_pattern_alone_finds(text: str, chosen: list[str]) -> None:
    bank = RegexBank(BANK_PATTERNS)
    message = Message(id="m", source="weibo", text=text or "空")
    assert bank.holds(chosen, message) == regex_holds(chosen, message)
    assert bank.holds(chosen, message) == regex_holds(chosen, message)  # the kept answer is the same
