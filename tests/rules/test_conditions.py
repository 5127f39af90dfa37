"""The conditions beyond keywords: near, regex, accounts, regions, min_followers, verified, period.
Loader errors (one data file each, exact message), reference semantics, near misses, cross-file checks."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rules.crosscheck import check_periods, check_teams
from rules.errors import ConfigError
from rules.evaluate import condition_failures, gap, matches, near_misses
from rules.loader import load_rules
from rules.model import ActivePeriod, Analysis, Author, Condition, KeywordHit, Message, Near, Rule, Spread
from tests.rules.conftest import rule, term

DATA = Path(__file__).parent / "data" / "rules"
AT = datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=8)))
拆迁 = term("拆迁", "拆迁", "强拆")
冲突 = term("冲突", "打人", "推搡")


def when(**parts: object) -> Rule:
    """A rule whose ``when`` is exactly ``parts``."""
    return replace(rule("r"), when=Condition(**parts))  # type: ignore[arg-type]


def found(text: str, *words: str, author: Author | None = None, region: str | None = None) -> Analysis:
    """An analysis of ``text`` with ``words`` hit wherever they occur in it (every occurrence)."""
    message = Message("m1", "weibo", text, author=author, region=region)
    hits = []
    for word in words:
        starts = [i for i in range(len(text)) if text.startswith(word, i)]
        assert starts, word
        hits.append(KeywordHit(word, tuple(starts)))
    return Analysis(message, tuple(hits))


# ---------------------------------------------------------------- loader errors


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad-near-shape.yaml", "5:14: error: near needs [word or set, word or set, characters], "
                                "such as [拆迁, 打人, 10]; got 2 values"),
        ("bad-near-distance.yaml", "5:23: error: bad near distance -3: expected 0 to 1000 characters"),
        ("bad-regex.yaml", '6:15: error: bad regex "(\\d+": missing ): (\\d+'),
        ("regex-backreference.yaml", '6:15: error: bad regex "(a)\\1": invalid escape sequence: \\1 '
                                     "(RE2 has no backreferences or lookarounds)"),
        ("regex-matches-empty.yaml", '6:15: error: bad regex "\\d*": it matches an empty text, so every message'),
        ("period-false.yaml", '6:15: error: period: false means no condition; leave "period" out, or write '
                              "true or a list of period names"),
        ("bad-min-followers.yaml", '6:22: error: expected a whole number of followers, got "many"'),
        ("bad-verified.yaml", '6:17: error: expected true or false, got "yes please"'),
        ("empty-accounts.yaml", "6:17: error: accounts is empty: leave it out to allow any"),
    ],
)
def test_one_error_per_file(tmp_path: Path, case: str, expected: str) -> None:
    shutil.copy(DATA / case, tmp_path / case)
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path)
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / case}:{expected}"]


def test_a_literal_one_edit_from_a_set_name_is_a_warning(tmp_path: Path) -> None:
    shutil.copy(DATA / "set-typo-warning.yaml", tmp_path)
    ruleset, warnings = load_rules(tmp_path)
    path = tmp_path / "set-typo-warning.yaml"
    assert [str(w) for w in warnings] == [
        f'{path}:7:13: warning: "拆签" is not a keyword set, so it matches only the word "拆签"; '
        'did you mean the set "拆迁"?',
        f'{path}:8:15: warning: "折迁" is not a keyword set, so it matches only the word "折迁"; '
        'did you mean the set "拆迁"?',
    ]
    assert ruleset.rules[0].when.all[0].words == frozenset({"拆签"})


def test_a_literal_that_is_a_word_of_a_set_is_not_a_typo(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "keywords:\n  伤亡: [受伤, 伤者]\nrules:\n  - {id: x, level: blue, when: {all: [伤者]}}\n", encoding="utf-8")
    assert load_rules(tmp_path)[1] == []


def test_every_new_condition_loads(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "keywords:\n  拆迁: [拆迁, 强拆]\n  大V: ['1987654321', 青岚那些事儿]\n"
        "rules:\n  - id: x\n    level: red\n    when:\n"
        "      near: [拆迁, 打人, 10]\n"            # one pair written flat
        "      regex: '1[3-9]\\d{9}'\n"
        "      accounts: [大V, qinglan-fabu]\n"     # a keyword set stands for its words
        "      regions: 石桥镇\n      min_followers: 1000\n      verified: false\n      period: [全国两会, 春节]\n"
        "  - {id: y, level: blue, when: {accounts: [qinglan-fabu], period: true}}\n",
        encoding="utf-8")
    ruleset, warnings = load_rules(tmp_path)
    assert warnings == []
    x, y = (r.when for r in ruleset.rules)
    assert x.near == (Near(term("拆迁", "拆迁", "强拆"), term("打人"), 10),)
    assert (x.regex, x.regions, x.min_followers, x.verified) == (("1[3-9]\\d{9}",), {"石桥镇"}, 1000, False)
    assert x.accounts == {"1987654321", "青岚那些事儿", "qinglan-fabu"}
    assert (x.period, y.period) == ({"全国两会", "春节"}, frozenset())
    assert {"拆迁", "强拆", "打人"} <= ruleset.words  # near words reach the analyzer


def test_check_teams_and_periods_point_at_the_name(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: x\n    level: red\n    when: {all: [a], period: [全国俩会]}\n"
        "    notify: [值班, 宣传布]\n", encoding="utf-8")
    ruleset, _ = load_rules(tmp_path)
    path = tmp_path / "r.yaml"
    assert [str(p) for p in check_teams(ruleset, ["值班", "宣传部", "信访局"])] == [
        f'{path}:5:18: error: unknown team "宣传布" in notify of rule x (did you mean "宣传部"?)']
    assert [str(p) for p in check_periods(ruleset, ["全国两会", "春节"])] == [
        f'{path}:2:5: error: unknown period "全国俩会" in rule x (did you mean "全国两会"?)']
    assert check_teams(ruleset, ["值班", "宣传布"]) == []


# ---------------------------------------------------------------- semantics


def test_near_counts_the_characters_between_the_hits() -> None:
    close = found("拆迁队有人打人", "拆迁", "打人")  # 拆迁 0-2, 打人 5-7: 3 between
    assert gap(Near(拆迁, 冲突, 3), close) == 3
    assert matches(when(near=(Near(拆迁, 冲突, 3),)), close, Spread())
    assert condition_failures(when(near=(Near(拆迁, 冲突, 2),)), close, Spread()) == [
        "near: 拆迁 and 冲突 are 3 characters apart, more than 2"]
    # Either order, and the closest pair of occurrences counts.
    reverse = found("打人了。很远很远很远很远的地方在拆迁，拆迁办的人在推搡", "打人", "拆迁", "推搡")
    assert gap(Near(拆迁, 冲突, 0), reverse) == 4
    assert condition_failures(when(near=(Near(拆迁, term("起火"), 5),)), close, Spread()) == [
        "near: 起火 not found"]


def test_regex_reads_the_title_and_text() -> None:
    phone = when(regex=("1[3-9]\\d{9}", "\\d{17}[\\dXx]"))
    assert matches(phone, found("联系电话13800000001"), Spread())
    assert matches(phone, found("身份证43000019900101123X"), Spread())
    assert condition_failures(phone, found("工单号20261120001"), Spread()) == [
        "regex: none of /1[3-9]\\d{9}/, /\\d{17}[\\dXx]/ found"]


def test_author_and_region_conditions() -> None:
    kol = Author(name="青岚那些事儿", id="1987654321", followers=86000, verified=True)
    nobody = Author(name="路人甲", followers=None)
    rule_ = when(accounts=frozenset({"1987654321"}), regions=frozenset({"石桥镇"}), min_followers=50000,
                 verified=True)
    assert matches(rule_, found("x", author=kol, region="青岚县石桥镇"), Spread())
    assert condition_failures(rule_, found("x", author=nobody, region="城关镇"), Spread()) == [
        "accounts: author 路人甲 not in 1987654321",
        "regions: region 城关镇 not in 石桥镇",
        "min_followers: author has 0, fewer than 50000",
        "verified: author is not verified",
    ]
    assert condition_failures(when(verified=False), found("x", author=kol), Spread()) == [
        "verified: author is verified"]
    assert condition_failures(rule_, found("x"), Spread())[:2] == [
        "accounts: author (unknown) not in 1987654321", "regions: region (unknown) not in 石桥镇"]


def test_period_any_or_named() -> None:
    two_sessions, national_day = ActivePeriod("全国两会", 1), ActivePeriod("国庆", 0)
    anyone, named = when(period=frozenset()), when(period=frozenset({"春节", "全国两会"}))
    assert matches(anyone, found("x"), Spread(), [national_day])  # raise 0 is still a period
    assert condition_failures(anyone, found("x"), Spread(), []) == ["period: no sensitive period in force"]
    assert matches(named, found("x"), Spread(), [two_sessions])
    assert condition_failures(named, found("x"), Spread(), [national_day]) == [
        "period: none of 全国两会, 春节 in force (国庆 in force)"]


def test_near_misses_only_for_rules_with_a_keyword_found() -> None:
    rules = [
        rule("gathering", all=[拆迁, term("聚集")]),
        rule("violence", all=[term("爆炸")]),
        replace(rule("near"), when=Condition(near=(Near(拆迁, 冲突, 1),))),
        rule("hit", all=[拆迁]),
    ]
    analysis = found("拆迁队有人打人", "拆迁", "打人")
    missed = near_misses(rules, analysis, Spread(), [], AT)
    assert [(r.id, failed) for r, failed in missed] == [
        ("gathering", ["all: 聚集 not found"]),
        ("near", ["near: 拆迁 and 冲突 are 3 characters apart, more than 1"]),
    ]
