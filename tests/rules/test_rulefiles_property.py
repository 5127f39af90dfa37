"""Property tests over whole rule files: arbitrary YAML never crashes the loader, and generated rule
files' own tests give what evaluating the same messages the way ``yuqing explain`` does gives."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import Engine
from rules.errors import ConfigError, Problem
from rules.evaluate import grade, is_live, matches
from rules.loader import FILE_KEYS, RULE_KEYS, TEST_KEYS, WHEN_KEYS, load_rules
from rules.model import Level, Spread
from rules.periods import Calendar, Period
from rules.ruletests import run_rule_tests
from rules.text import Analyzer

CST = timezone(timedelta(hours=8))


class _Dumper(yaml.SafeDumper):
    """Writes shared values out each time: rule files refuse aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True)
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=CST)

# ---------------------------------------------------------------- arbitrary structures

KEYS = st.sampled_from([*FILE_KEYS, *RULE_KEYS, *WHEN_KEYS, *TEST_KEYS, "x", "拆迁"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=8), st.sampled_from(["red", "weibo", ">= 3", "(", "a*", "2026-10-01"]))
STRUCTURES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(KEYS, inner, max_size=5), max_leaves=25)


def _load(text: str) -> tuple[Problem, ...]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "r.yaml").write_text(text, encoding="utf-8")
        try:
            load_rules(Path(folder))
        except ConfigError as exc:
            return exc.problems or (Problem("a ConfigError without problems"),)
    return ()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(FILE_KEYS), STRUCTURES, max_size=3)
       | st.fixed_dictionaries({"rules": st.lists(st.dictionaries(KEYS, STRUCTURES, max_size=6), max_size=3)}))
def test_any_structure_loads_or_raises_config_error(structure: Any) -> None:
    problems = _load(dump(structure))
    assert all(p.location or p.path for p in problems)


# ---------------------------------------------------------------- generated rule files

WORDS = ["拆迁", "上访", "打人", "爆炸", "起火", "工资"]
CALENDAR = Calendar((Period("两会", 1, yearly=((3, 3), (3, 15))), Period("国庆", 2, yearly=((10, 1), (10, 7)))))
TIMES = st.sampled_from([NOW, datetime(2026, 3, 5, 10, tzinfo=CST), datetime(2026, 10, 2, 10, tzinfo=CST)])

conditions = st.fixed_dictionaries(
    {"any": st.lists(st.sampled_from([*WORDS, "事件"]), min_size=1, max_size=3)},
    optional={
        "all": st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
        "none": st.lists(st.sampled_from(WORDS), min_size=1, max_size=1),
        "near": st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS), st.sampled_from([0, 2, 8]))
                         .map(list), min_size=1, max_size=1),
        "regex": st.sampled_from(["1[3-9]\\d{9}", "拆迁|爆炸"]),
        "sources": st.lists(st.sampled_from(["weibo", "douyin"]), min_size=1, max_size=2),
        "accounts": st.lists(st.sampled_from(["1001", "青岚那些事儿"]), min_size=1, max_size=2),
        "min_followers": st.sampled_from([0, 5000]),
        "verified": st.booleans(),
        "period": st.just(True) | st.lists(st.sampled_from(["两会", "国庆"]), min_size=1, max_size=1),
        "spread": st.just({"reposts": ">= 100"}),
    },
)


@st.composite
def samples(draw: st.DrawFn) -> dict[str, Any]:
    words = draw(st.lists(st.sampled_from(WORDS), max_size=4))
    fillers = draw(st.lists(st.sampled_from(["，", "今天在村里", "的事情", "电话13800000001"]),
                            min_size=len(words), max_size=len(words)))
    sample: dict[str, Any] = {
        "text": "".join(f + w for f, w in zip(fillers, words, strict=True)) or "今天天气不错",
        "source": draw(st.sampled_from(["weibo", "douyin", "news"])),
        "metrics": {"reposts": draw(st.sampled_from([0, 100]))},
        "at": draw(TIMES).isoformat(),
        "expect": draw(st.sampled_from(["none", "blue", "yellow", "red"])),
    }
    if draw(st.booleans()):
        sample["author"] = {"id": draw(st.sampled_from(["1001", "2002"])), "name": "青岚那些事儿",
                            "followers": draw(st.sampled_from([10, 9000])), "verified": draw(st.booleans())}
    return sample


rule_files = st.lists(st.fixed_dictionaries({
    "level": st.sampled_from(["blue", "yellow", "red"]), "when": conditions, "raise_in_period": st.booleans(),
    "tests": st.lists(samples(), min_size=1, max_size=3),
}), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_files)
def test_rule_tests_agree_with_explain(analyzer: Analyzer, rules: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        text = dump({"rules": [{"id": f"r{i}", **r} for i, r in enumerate(rules)]})
        (Path(folder) / "r.yaml").write_text(text, encoding="utf-8")
        ruleset, _ = load_rules(Path(folder))
    analyzer.use_words(ruleset.words)
    with Engine(ruleset) as engine:
        results = run_rule_tests(ruleset, engine, analyzer, CALENDAR.active, NOW)
    assert len(results) == sum(len(r["tests"]) for r in rules)
    for result in results:
        at = result.test.at or NOW
        # The way `yuqing explain` reads a message, judged by the reference evaluator.
        analysis = analyzer.analyze(result.test.message)
        periods = CALENDAR.active(at)
        spread = Spread.of_message(result.test.message)
        live = [r for r in ruleset.rules if is_live(r, at) and matches(r, analysis, spread, periods)]
        level = max((grade(r, periods)[0] for r in live), default=Level.NONE)
        assert (result.got, result.passed) == (level, level == result.test.expect), result.detail
