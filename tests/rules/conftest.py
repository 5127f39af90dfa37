"""Shared fixtures and builders for the rules tests: rule sets are built from rules.model types
directly, so these tests do not depend on the YAML loader."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import pytest

from rules.model import (
    Analysis,
    Comparison,
    Condition,
    KeywordHit,
    Level,
    Location,
    Message,
    Metrics,
    Rule,
    RuleTest,
    Term,
)
from rules.text import Analyzer

HERE = Location("rules/test.yaml", 1, 1)


def term(name: str, *words: str) -> Term:
    """A named set (``term("拆迁", "拆迁", "强拆")``) or, with no words, the literal word ``name``."""
    return Term(name, frozenset(words or (name,)), is_set=bool(words))


def comparison(text: str) -> Comparison:
    """``"reposts >= 100"`` → Comparison("reposts", ">=", 100)."""
    field, op, value = text.split()
    return Comparison(field, op, float(value))


def rule(rule_id: str, level: Level = Level.YELLOW, *, all: Iterable[Term] = (), any: Iterable[Term] = (),
         none: Iterable[Term] = (), sources: Iterable[str] = (), spread: Iterable[str] = (),
         category: str = "", raise_in_period: bool = False, enabled: bool = True,
         expires: date | None = None, tests: Iterable[RuleTest] = (), line: int = 1) -> Rule:
    when = Condition(tuple(all), tuple(any), tuple(none), frozenset(sources),
                     tuple(comparison(s) for s in spread))
    return Rule(rule_id, f"title of {rule_id}", level, when, Location("rules/test.yaml", line, 5),
                category=category, raise_in_period=raise_in_period, notify=(f"team-{rule_id}",),
                enabled=enabled, expires=expires, tests=tuple(tests))


def message(text: str, source: str = "weibo", *, title: str = "", reposts: int = 0, views: int = 0,
            id: str = "m1") -> Message:
    return Message(id=id, source=source, text=text, title=title, metrics=Metrics(reposts=reposts, views=views))


def analysis(words: Iterable[str], source: str = "weibo") -> Analysis:
    """An analysis as if ``words`` had been found, without jieba: for evaluation tests."""
    hits = tuple(KeywordHit(w, (i,)) for i, w in enumerate(words))
    return Analysis(message("".join(h.word for h in hits), source), hits)


def rule_test(text: str, expect: Level, *, source: str = "weibo", reposts: int = 0, line: int = 1,
              category: str | None = None, rule: str | None = None, at: datetime | None = None) -> RuleTest:
    return RuleTest(message(text, source, reposts=reposts), expect, Location("rules/test.yaml", line, 9),
                    expect_category=category, at=at, expect_rule=rule)


@pytest.fixture(scope="session")
def jieba_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One jieba cache for the whole run (tests/conftest.py points YUQING_CACHE_DIR at it)."""
    configured = os.environ.get("YUQING_CACHE_DIR")
    path = Path(configured) if configured else tmp_path_factory.mktemp("jieba")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def analyzer(jieba_cache: Path) -> Analyzer:
    """A real, initialised analyzer per test module (jieba's dictionary costs about a second)."""
    found = Analyzer(cache_dir=jieba_cache)
    found.initialize()
    return found
