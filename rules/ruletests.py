"""Run the ``tests:`` blocks of rule files, like promtool's rule unit tests.

A test is a sample message and the level the *whole rule set* must give it: "expect: yellow" is a
promise about the message, whichever rules fire. A test under a rule and a file-level test are run
the same way; a file-level test may also name a rule that must be among the matches.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rules.engine import Engine
from rules.evaluate import condition_failures, is_live
from rules.model import ActivePeriod, Level, RuleSet, RuleTest, Spread, Verdict
from rules.text import Analyzer


@dataclass(frozen=True)
class RuleTestResult:
    rule_id: str | None  # None for a file-level test
    test: RuleTest
    got: Level
    got_category: str | None
    passed: bool
    detail: str


def run_rule_tests(ruleset: RuleSet, engine: Engine, analyzer: Analyzer,
                   calendar_active: Callable[[datetime], tuple[ActivePeriod, ...]],
                   now: datetime) -> list[RuleTestResult]:
    """Every test of every rule (in rule order), then the file-level tests."""
    owned: list[tuple[str | None, RuleTest]] = [(r.id, t) for r in ruleset.rules for t in r.tests]
    owned += [(None, t) for t in ruleset.tests]
    return [_run(rule_id, test, ruleset, engine, analyzer, calendar_active, now) for rule_id, test in owned]


def _run(rule_id: str | None, test: RuleTest, ruleset: RuleSet, engine: Engine, analyzer: Analyzer,
         calendar_active: Callable[[datetime], tuple[ActivePeriod, ...]], now: datetime) -> RuleTestResult:
    at = test.at or now
    analysis = analyzer.analyze(test.message)
    spread = Spread.of_message(test.message)
    periods = calendar_active(at)
    verdict = engine.evaluate(analysis, spread, periods, at)
    top = verdict.top
    category = (top.category or None) if top else None
    problems = _problems(test, verdict, category)
    lines = [_summary(verdict)]
    if problems:
        lines.insert(0, "; ".join(problems))
        # The rule under test (or the one a file-level test names) and why it did not match.
        focus = rule_id or test.expect_rule
        rule = next((r for r in ruleset.rules if r.id == focus), None)
        if rule is not None and focus not in {m.rule_id for m in verdict.matches}:
            if not rule.enabled:
                lines.append(f"{rule.id} is disabled")
            elif not is_live(rule, at):
                lines.append(f"{rule.id} expired on {rule.expires} (the test runs at {at.isoformat()})")
            else:
                lines += [f"{rule.id} did not match: {f}"
                          for f in condition_failures(rule, analysis, spread, periods)]
    return RuleTestResult(rule_id, test, verdict.level, category, not problems, "\n".join(lines))


def _problems(test: RuleTest, verdict: Verdict, category: str | None) -> list[str]:
    problems = []
    if verdict.level != test.expect:
        problems.append(f"expected {test.expect}, got {verdict.level}")
    if test.expect_category is not None and category != test.expect_category:
        problems.append(f"expected category {test.expect_category}, got {category or '(none)'}")
    if test.expect_rule is not None and test.expect_rule not in {m.rule_id for m in verdict.matches}:
        problems.append(f"expected rule {test.expect_rule} to match")
    return problems


def _summary(verdict: Verdict) -> str:
    suppressed = "".join(f"; {s.rule_id} suppressed ({s.reason})" for s in verdict.suppressed)
    if not verdict.matches:
        return f"no rule matched{suppressed}"
    matched = ", ".join(f"{m.rule_id} ({m.level})" for m in verdict.matches)
    period = f"; period {verdict.period}" if verdict.period else ""
    return f"matched {matched}{period}{suppressed}"


# ---------------------------------------------------------------- table


def format_table(results: Sequence[RuleTestResult]) -> str:
    """A plain-text table, one row per test; a failed row is followed by its detail, indented."""
    header = ("RULE", "EXPECT", "GOT", "RESULT", "LOCATION")
    rows: list[tuple[tuple[str, ...], str | None]] = []
    for r in results:
        expect = str(r.test.expect) + (f" {r.test.expect_category}" if r.test.expect_category else "")
        got = str(r.got) + (f" {r.got_category}" if r.test.expect_category and r.got_category else "")
        rule = r.rule_id or (f"(file) {r.test.expect_rule}" if r.test.expect_rule else "(file)")
        cells = (rule, expect, got, "PASS" if r.passed else "FAIL", str(r.test.location))
        rows.append((cells, None if r.passed else r.detail))
    widths = [max(display_width(line[i]) for line in [header, *(c for c, _ in rows)]) for i in range(len(header))]
    lines = [_row(header, widths)]
    for row, detail in rows:
        lines.append(_row(row, widths))
        lines += [f"    {line}" for line in (detail or "").splitlines()]
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(lines)


def _row(cells: Iterable[str], widths: Sequence[int]) -> str:
    return "  ".join(c + " " * (w - display_width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()


def display_width(text: str) -> int:
    """Columns on a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
