"""Negation, genre and place end to end: rule files with `negation`, `genres` and `when: {place}`,
their own tests (expect none for a suppressed message), the engine's verdict and its reasons."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rules.engine import Engine
from rules.errors import ConfigError
from rules.loader import load_rules
from rules.model import Level, Message, Place, Spread, Suppression, Verdict
from rules.places import Places
from rules.ruletests import run_rule_tests
from rules.text import Analyzer

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=8)))
COUNTY = Places(local=("青岚县", "石桥镇", "柳河村"), neighbours=("云溪县",))

RULES = """\
keywords:
  食品安全: [地沟油, 病死猪肉]
  骚乱: [骚乱, 暴乱]
rules:
  - id: food
    level: blue
    when: {any: [食品安全]}
    tests:
      - {text: 饭店被查出使用地沟油, expect: blue}
      - {text: 本店承诺没有地沟油，放心吃, expect: none}
      - {text: 说没有地沟油？后厨被拍到在用地沟油, expect: blue}
  - id: food-all
    level: yellow
    negation: count
    when: {all: [地沟油, 举报]}
    tests:
      - {text: 举报：本店没有地沟油, expect: yellow}
  - id: riot
    level: red
    when: {any: [骚乱]}
    tests:
      - {text: 石桥镇某小区发生骚乱, expect: red}
      - {text: 《黑暗时刻》读后感：书中描写的那场骚乱让人久久不能平静, expect: none}
      - {text: 河南省某市一小区发生骚乱, expect: yellow}
  - id: riot-local
    level: blue
    genres: any
    when: {any: [打砸], place: local}
    tests:
      - {text: 柳河村有人打砸, expect: blue}
      - {text: 有人打砸, expect: none}
      - {text: 云溪县有人打砸, expect: blue}
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer) -> Iterator[tuple[Engine, Analyzer]]:
    folder = tmp_path_factory.mktemp("rules")
    (folder / "r.yaml").write_text(RULES, encoding="utf-8")
    ruleset, problems = load_rules(folder)
    assert problems == []
    view = analyzer.view(analyzer.prepare(ruleset.words))
    engine = Engine(ruleset, COUNTY)
    yield engine, view
    engine.close()


def test_rule_tests_can_expect_none_for_a_suppressed_message(loaded: tuple[Engine, Analyzer]) -> None:
    engine, analyzer = loaded
    results = run_rule_tests(engine.ruleset, engine, analyzer, lambda _at: (), NOW)
    assert [r.detail for r in results if not r.passed] == []
    assert len(results) == 10


def verdict(loaded: tuple[Engine, Analyzer], text: str, region: str | None = None) -> Verdict:
    engine, analyzer = loaded
    message = Message("m", "weibo", text, region=region)
    return engine.evaluate(analyzer.analyze(message), Spread.of_message(message), (), NOW)


def test_a_negated_keyword_is_suppressed_with_the_cue(loaded: tuple[Engine, Analyzer]) -> None:
    found = verdict(loaded, "本店承诺没有地沟油")
    assert found.level is Level.NONE
    assert found.suppressed == (Suppression("food", "negated: 没有 地沟油"),)
    assert "rule food: suppressed, negated: 没有 地沟油" in found.reasons


def test_a_review_is_suppressed_with_its_genre(loaded: tuple[Engine, Analyzer]) -> None:
    found = verdict(loaded, "这本书讲述了一场骚乱，作者文笔细腻，值得一读")
    assert found.suppressed == (Suppression("riot", "genre: review"),)


def test_a_story_placed_elsewhere_is_lowered_one_level(loaded: tuple[Engine, Analyzer]) -> None:
    found = verdict(loaded, "河南省郑州市一小区发生骚乱")
    assert (found.level, found.place) == (Level.YELLOW, Place.ELSEWHERE)
    assert [(m.rule_id, m.base_level, m.level) for m in found.matches] == [("riot", Level.RED, Level.YELLOW)]
    assert "place: elsewhere (河南省, 郑州市): red → yellow" in found.reasons
    # Blue stays blue: a story elsewhere in a watched risk area still reaches the daily digest (linked
    # stories cross county lines), it only never pages anyone.
    blue = verdict(loaded, "郑州一饭店被查出使用地沟油")
    assert blue.level is Level.BLUE
    assert blue.suppressed == ()
    assert "place: elsewhere (郑州): blue stays blue" in blue.reasons


def test_a_local_story_is_recorded_as_local(loaded: tuple[Engine, Analyzer]) -> None:
    found = verdict(loaded, "郑州来的老板在石桥镇引发骚乱")
    assert (found.level, found.place) == (Level.RED, Place.LOCAL)
    assert verdict(loaded, "小区发生骚乱").place is Place.UNKNOWN
    assert verdict(loaded, "小区发生骚乱", region="青岚县").place is Place.LOCAL


def test_a_rule_asking_for_a_local_place_says_what_it_found(loaded: tuple[Engine, Analyzer]) -> None:
    found = verdict(loaded, "郑州有人打砸")
    assert found.suppressed == (Suppression("riot-local", "place: elsewhere (郑州) (the rule needs a local place)"),)


def test_nothing_is_lowered_before_the_county_names_its_places(tmp_path: Path, analyzer: Analyzer) -> None:
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    ruleset, _ = load_rules(tmp_path)
    view = analyzer.view(analyzer.prepare(ruleset.words))
    message = Message("m", "weibo", "河南省郑州市一小区发生骚乱")
    with Engine(ruleset) as engine:
        found = engine.evaluate(view.analyze(message), Spread.of_message(message), (), NOW)
    assert (found.level, found.place) == (Level.RED, Place.ELSEWHERE)


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("negation", "ignore", '5:15: error: bad negation "ignore": expected skip or count'),
    ("genres", "skipp", '5:13: error: bad genres "skipp": expected skip or any (did you mean "skip"?)'),
])
def test_bad_rule_options_are_errors_at_their_value(tmp_path: Path, field: str, value: str, expected: str) -> None:
    text = f"rules:\n  - id: r\n    level: blue\n    when: {{any: [骚乱]}}\n    {field}: {value}\n"
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path)
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / 'r.yaml'}:{expected}"]


def test_a_bad_place_condition_is_an_error_at_its_value(tmp_path: Path) -> None:
    text = "rules:\n  - id: r\n    level: blue\n    when:\n      any: [骚乱]\n      place: nearby\n"
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'r.yaml'}:6:14: error: bad place \"nearby\": expected local"]


def test_a_failing_rule_test_says_which_rule_was_suppressed_and_why(tmp_path: Path, analyzer: Analyzer) -> None:
    text = "rules:\n  - id: food\n    level: blue\n    when: {any: [地沟油]}\n    tests:\n" \
           "      - {text: 本店承诺没有地沟油, expect: blue}\n"
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    ruleset, _ = load_rules(tmp_path)
    with Engine(ruleset) as engine:
        [result] = run_rule_tests(ruleset, engine, analyzer.view(analyzer.prepare(ruleset.words)),
                                  lambda _at: (), NOW)
    assert not result.passed
    assert result.detail.splitlines()[:2] == ["expected blue, got none",
                                              "no rule matched; food suppressed (negated: 没有 地沟油)"]
