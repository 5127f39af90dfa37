"""rules.loader: one YAML file per validation error under data/rules/, with the exact message asserted."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.errors import ConfigError, Problem
from rules.loader import load_rules
from rules.model import Comparison, Level

DATA = Path(__file__).parent / "data" / "rules"
EXAMPLES = Path(__file__).parents[2] / "examples" / "rules"
SHANGHAI = ZoneInfo("Asia/Shanghai")

DESIGN_EXAMPLE = """\
keywords:
  拆迁: [拆迁, 强拆, 征地, 补偿款]
  聚集: [聚集, 围堵, 堵路, 上访, 拉横幅]
  广告: [招聘, 优惠, 团购]
rules:
  - id: land-mass-gathering
    title: 征地拆迁引发聚集
    category: 征地拆迁
    level: yellow
    when:
      all: [拆迁, 聚集]        # named sets or literal words
      none: [广告]
      sources: [weibo, douyin, wechat, board]
      spread: {platforms: ">= 2", reposts: ">= 100"}
    raise_in_period: true
    notify: [宣传部, 信访局]
    tests:
      - {text: "城东拆迁户今天在县政府门口聚集，要求补偿款", source: weibo,
         metrics: {reposts: 300}, expect: yellow}
      - {text: "拆迁办招聘文员，待遇优惠", source: weibo, expect: none}
"""


def _folder(tmp_path: Path, case: str) -> Path:
    """A rules folder holding only the data file (or files) of ``case``."""
    source = DATA / case
    folder = tmp_path / "rules"
    folder.mkdir()
    for file in sorted(source.iterdir()) if source.is_dir() else [source]:
        shutil.copy(file, folder / file.name)
    return folder


def _errors(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_rules(folder)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("yaml-syntax.yaml", "4:20: error: YAML syntax: expected ',' or ']', but got '}'"),
        ("unknown-field-when.yaml", '6:7: error: unknown field "sourcse" in when (did you mean "sources"?)'),
        ("unknown-field-file.yaml",
         '1:1: error: unknown field "keyword" in rules file (did you mean "keywords"?)'),
        ("not-a-mapping.yaml",
         '1:1: error: expected a mapping with "keywords", "rules" or "tests", got a list'),
        ("bad-level.yaml",
         '3:12: error: bad level "yelow": expected blue, yellow or red (did you mean "yellow"?)'),
        ("missing-id.yaml", '2:5: error: rule needs "id"'),
        ("bad-id.yaml", '2:9: error: bad rule id "Mass Gathering": use lowercase letters, digits, "-", "_" '
                        'and ".", starting with a letter or digit'),
        ("missing-when.yaml", '2:5: error: rule needs "when"'),
        ("when-without-words.yaml",
         '5:7: error: when needs "all", "any", "near", "regex" or "accounts"'),
        ("bad-source.yaml", '6:24: error: unknown source "wiebo" (did you mean "weibo"?)'),
        ("bad-spread-field.yaml",
         '6:16: error: unknown spread field "repost" (did you mean "reposts"?)'),
        ("bad-comparison.yaml", '7:18: error: bad comparison "about 100" for "reposts": expected a number '
                                'or an operator and a number, such as ">= 100"'),
        ("bad-expect.yaml", '7:32: error: bad expect "nothing": expected none, blue, yellow or red'),
        ("bad-test-message.yaml",
         '7:28: error: "metrics.reposts": expected a whole number >= 0, got "abc"'),
        ("bad-test-at.yaml", '6:28: error: bad at "next tuesday": expected an ISO date or time such as '
                             "2026-03-05T10:00:00+08:00"),
        ("unknown-test-rule.yaml",
         '6:5: error: unknown rule "gatherin" in test (did you mean "gathering"?)'),
        ("empty-word.yaml", '2:12: error: empty word in keyword set "聚集"'),
        ("bad-expires.yaml", '5:14: error: bad expires "end of march": expected a date YYYY-MM-DD'),
    ],
)
def test_one_error_per_file(tmp_path: Path, case: str, expected: str) -> None:
    folder = _folder(tmp_path, case)
    assert _errors(folder) == [f"{folder / case}:{expected}"]


def test_unknown_rule_field_names_the_key_and_the_missing_one(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "unknown-field-rule.yaml")
    path = folder / "unknown-field-rule.yaml"
    assert _errors(folder) == [
        f'{path}:2:5: error: rule needs "when"',
        f'{path}:4:5: error: unknown field "whne" in rule (did you mean "when"?)',
    ]


def test_duplicate_rule_id_across_files_names_the_first(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "duplicate-id")
    assert _errors(folder) == [
        f'{folder / "b.yaml"}:6:5: error: duplicate rule id "gathering" '
        f'(first defined at {folder / "a.yaml"}:2:5)'
    ]


def test_duplicate_keyword_set_across_files_names_both(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "duplicate-set")
    assert _errors(folder) == [
        f'{folder / "b.yaml"}:3:3: error: duplicate keyword set "聚集" '
        f'(first defined at {folder / "a.yaml"}:2:3)'
    ]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("overlap-warning.yaml",
         '8:18: warning: word "强拆" is in both "all" and "none": a message with it can never match'),
        ("empty-set-warning.yaml", '2:3: warning: keyword set "待定" is empty: it never matches anything'),
    ],
)
def test_warnings_do_not_stop_the_load(tmp_path: Path, case: str, expected: str) -> None:
    folder = _folder(tmp_path, case)
    ruleset, warnings = load_rules(folder)
    assert [str(w) for w in warnings] == [f"{folder / case}:{expected}"]
    assert [w.severity for w in warnings] == ["warning"]
    assert len(ruleset.rules) == 1


def test_all_errors_of_all_files_are_collected_in_reading_order(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    for case in ("bad-level.yaml", "yaml-syntax.yaml"):
        shutil.copy(DATA / case, folder / case)
    (folder / "bad-source.yaml").write_text(  # another id: the same one would be a duplicate
        (DATA / "bad-source.yaml").read_text(encoding="utf-8").replace("gathering", "other-id"),
        encoding="utf-8",
    )
    errors = _errors(folder)
    assert [e.split(": error: ")[0] for e in errors] == [
        f"{folder / 'bad-level.yaml'}:3:12", f"{folder / 'bad-source.yaml'}:6:24",
        f"{folder / 'yaml-syntax.yaml'}:4:20",
    ]


def test_the_design_example_loads(tmp_path: Path) -> None:
    (tmp_path / "land.yaml").write_text(DESIGN_EXAMPLE, encoding="utf-8")
    ruleset, warnings = load_rules(tmp_path)
    assert warnings == []
    (rule,) = ruleset.rules
    assert (rule.id, rule.title, rule.category, rule.level) == (
        "land-mass-gathering", "征地拆迁引发聚集", "征地拆迁", Level.YELLOW)
    assert [(t.name, t.is_set) for t in rule.when.all] == [("拆迁", True), ("聚集", True)]
    assert rule.when.all[0].words == frozenset({"拆迁", "强拆", "征地", "补偿款"})
    assert rule.when.none[0].words == frozenset({"招聘", "优惠", "团购"})
    assert rule.when.sources == frozenset({"weibo", "douyin", "wechat", "board"})
    assert rule.when.spread == (Comparison("platforms", ">=", 2), Comparison("reposts", ">=", 100))
    assert (rule.raise_in_period, rule.notify, rule.enabled) == (True, ("宣传部", "信访局"), True)
    assert str(rule.location) == f"{tmp_path / 'land.yaml'}:6:5"
    first, second = rule.tests
    assert (first.expect, first.message.source, first.message.metrics.reposts) == (Level.YELLOW, "weibo", 300)
    assert second.expect is Level.NONE
    assert str(second.location) == f"{tmp_path / 'land.yaml'}:20:9"
    assert ruleset.keyword_sets["广告"] == frozenset({"招聘", "优惠", "团购"})
    assert "补偿款" in ruleset.words


def test_sets_are_shared_across_files_and_literals_stay_words(tmp_path: Path) -> None:
    (tmp_path / "a-sets.yml").write_text("keywords:\n  聚集: [' 上访 ', 围堵]\n", encoding="utf-8")
    (tmp_path / "b-rules.yaml").write_text(
        "rules:\n"
        "  - id: petition.v2\n"
        "    level: RED\n"
        "    when: {any: [聚集, ' 跳楼 '], spread: {views: 5000, growth: '> 2.5', authors: '== 1'}}\n"
        "    notify: 值班\n"
        "    enabled: false\n"
        "    expires: 2026-12-31\n"
        "    tests:\n"
        "      - {text: 有人跳楼, expect: red, at: '2026-03-05T10:00:00', category: 信访}\n"
        "      - {text: 有人跳楼, expect: red, at: 2026-03-05}\n",
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not a rule file", encoding="utf-8")
    (tmp_path / ".#b-rules.yaml").write_text("{{ editor lock", encoding="utf-8")
    ruleset, _ = load_rules(tmp_path)
    (rule,) = ruleset.rules
    assert [(t.name, t.words, t.is_set) for t in rule.when.any] == [
        ("聚集", frozenset({"上访", "围堵"}), True), ("跳楼", frozenset({"跳楼"}), False)]
    assert rule.when.spread == (Comparison("views", ">=", 5000), Comparison("growth", ">", 2.5),
                                Comparison("authors", "==", 1))
    assert (rule.level, rule.title, rule.notify, rule.enabled) == (Level.RED, "petition.v2", ("值班",), False)
    assert rule.expires == date(2026, 12, 31)
    # No source listed: tests default to "other"; naive times are Asia/Shanghai.
    first, second = rule.tests
    assert first.message.source == "other"
    assert first.at == datetime(2026, 3, 5, 10, tzinfo=SHANGHAI)
    assert first.expect_category == "信访"
    assert second.at == datetime(2026, 3, 5, tzinfo=SHANGHAI)


def test_file_level_tests_and_default_source(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n"
        "  - id: gathering\n"
        "    level: yellow\n"
        "    when: {all: [上访], sources: [douyin, weibo]}\n"
        "    tests: [{text: 集体上访, expect: yellow}]\n"
        "tests:\n"
        "  - {text: 集体上访, source: weibo, expect: yellow, rule: gathering, category: 信访}\n"
        "  - {text: 马上访问, expect: none}\n",
        encoding="utf-8",
    )
    ruleset, _ = load_rules(tmp_path)
    assert ruleset.rules[0].tests[0].message.source == "douyin"  # the rule's first listed source
    first, second = ruleset.tests
    assert (first.expect, first.expect_rule, first.expect_category) == (Level.YELLOW, "gathering", "信访")
    assert (second.expect, second.expect_rule, second.message.source) == (Level.NONE, None, "other")


def test_version_is_the_digest_of_the_files_by_name(tmp_path: Path) -> None:
    b = b"rules:\n  - {id: b, level: blue, when: {all: [b]}}\n"
    a = b"rules:\n  - {id: a, level: red, when: {all: [a]}}\n"
    (tmp_path / "b.yaml").write_bytes(b)
    (tmp_path / "a.yaml").write_bytes(a)
    ruleset, _ = load_rules(tmp_path)
    assert ruleset.version == hashlib.sha256(a + b).hexdigest()[:12]
    assert [r.id for r in ruleset.rules] == ["a", "b"]


def test_an_empty_folder_is_an_empty_rule_set(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing yet\n", encoding="utf-8")
    ruleset, warnings = load_rules(tmp_path)
    assert (ruleset.rules, ruleset.tests, warnings) == ((), (), [])
    assert ruleset.version == hashlib.sha256(b"# nothing yet\n").hexdigest()[:12]


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert _errors(missing) == [f"{missing}: error: rules folder not found"]


def test_unsafe_yaml_tags_are_errors_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - {id: x, level: !!python/name:os.system red, when: {all: [a]}}\n", encoding="utf-8")
    (problem,) = _errors(tmp_path)
    assert problem.startswith(f"{tmp_path / 'r.yaml'}:2:20: error: YAML: could not determine a constructor")


def test_examples_load() -> None:
    if not EXAMPLES.is_dir():
        pytest.skip("examples/rules/ is not written yet")
    ruleset, warnings = load_rules(EXAMPLES)
    assert [str(w) for w in warnings] == []
    assert ruleset.rules, "the example rules folder should hold rules"
    assert all(rule.tests for rule in ruleset.rules), "every example rule should show its tests"


_yaml_text = st.lists(
    st.sampled_from(["rules:", "keywords:", "tests:", "  - id: x", "    level: red", "    when:",
                     "      all: [a, b]", "      none: [a]", "      spread: {reposts: '>= 1'}",
                     "  k: [v]", "    tests: [{text: t, expect: red}]", "- [", "{", "  : x", "\t",
                     "    sources: weibo", "  - !!binary abc"]),
    max_size=12,
).map("\n".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(_yaml_text, st.text(max_size=80)))
def test_any_text_loads_or_raises_config_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "fuzz.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    problems: tuple[Problem, ...] = ()
    try:
        load_rules(tmp_path)
    except ConfigError as exc:
        problems = exc.problems or (Problem("a ConfigError without problems"),)
    assert all(p.location or p.path for p in problems)


PINYIN_SETS = """\
keywords:
  拆迁:
    words: [拆迁, 强拆]
    pinyin: true
  聚集: [聚集, 上访]
  补偿:
    words: [补偿款]
    pinyin: false
rules:
  - id: land
    title: 拆迁
    category: 征地拆迁
    level: blue
    when: {all: [拆迁], any: [聚集, 补偿]}
"""


def test_a_keyword_set_may_be_a_mapping_that_asks_for_pinyin(tmp_path: Path) -> None:
    (tmp_path / "land.yaml").write_text(PINYIN_SETS, encoding="utf-8")
    ruleset, _warnings = load_rules(tmp_path)
    assert ruleset.keyword_sets == {"拆迁": {"拆迁", "强拆"}, "聚集": {"聚集", "上访"}, "补偿": {"补偿款"}}
    assert ruleset.pinyin_sets == {"拆迁"}
    assert ruleset.pinyin_words == {"拆迁", "强拆"}


@pytest.mark.parametrize(("text", "expected"), [
    ("keywords:\n  拆迁: {word: [拆迁], pinyin: true}\n",
     ['2:7: error: keyword set "拆迁" needs "words"',
      '2:8: error: unknown field "word" in keyword set "拆迁" (did you mean "words"?)']),
    ("keywords:\n  拆迁: {words: [拆迁], pinyin: 1}\n", ['2:29: error: expected true or false, got "1"']),
    ("keywords:\n  拆迁: {words: {拆迁: 1}}\n", ["2:15: error: expected a list of words, got a mapping"]),
])
def test_a_keyword_set_mapping_with_mistakes(tmp_path: Path, text: str, expected: list[str]) -> None:
    (tmp_path / "land.yaml").write_text(text, encoding="utf-8")
    assert _errors(tmp_path) == [f"{tmp_path / 'land.yaml'}:{e}" for e in expected]
