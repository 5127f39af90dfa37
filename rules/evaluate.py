"""The reference semantics of a rule, in plain Python.

``rules.engine`` evaluates the same rules on durable_rules for speed; this module is what they mean.
It explains near misses (``yuqing explain --verbose``, failing rule tests) and is the oracle the
engine is tested against, so the two must agree on every rule and every message.

- ``all``: every term is present; ``any``: at least one term is present (when ``any`` is given);
  ``none``: no term is present. A term is present when any of its words was hit as a whole word.
- ``sources``: empty means any source.
- ``spread``: every comparison holds. Numbers are compared in fixed point (``fixed``), exactly as the
  engine compares them, so a threshold such as ``growth: "> 0.5"`` means the same in both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone

from rules.model import SOURCES, ActivePeriod, Analysis, Comparison, Level, Rule, Spread, Term

# China has one time zone and no daylight saving: a fixed offset needs no tzdata on the server.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

SCALE = 1000  # spread values and thresholds are compared to 0.001
LIMIT = 2**62  # beyond this the engine's integers would overflow; nothing real comes close


def fixed(value: float) -> int:
    """``value`` in thousandths, clamped: the integer both evaluators compare.

    durable_rules cannot parse floats such as ``5e-05`` (error 204), so the engine only ever sees
    integers; the reference uses the same numbers so that both agree to the last digit.
    """
    if math.isnan(value):
        return 0
    if math.isinf(value):
        return LIMIT if value > 0 else -LIMIT
    return max(-LIMIT, min(LIMIT, round(value * SCALE)))


def compare(op: str, left: int, right: int) -> bool:
    return {
        ">=": left >= right, "<=": left <= right, "==": left == right,
        "!=": left != right, ">": left > right, "<": left < right,
    }[op]


def spread_holds(comparison: Comparison, spread: Spread) -> bool:
    actual: float = getattr(spread, comparison.field)
    return compare(comparison.op, fixed(actual), fixed(comparison.value))


def found(term: Term, words: frozenset[str]) -> list[str]:
    """The term's words that were hit, sorted: empty when the term is absent."""
    return sorted(term.words & words)


def condition_failures(rule: Rule, analysis: Analysis, spread: Spread) -> list[str]:
    """Why ``rule`` does not match: one line per failed part, empty when it matches."""
    when, words = rule.when, analysis.words
    failures = [f"all: {term.name} not found" for term in when.all if not found(term, words)]
    if when.any and not any(found(term, words) for term in when.any):
        failures.append(f"any: none of {', '.join(t.name for t in when.any)} found")
    for term in when.none:
        if hits := found(term, words):
            failures.append(f"none: {term.name} found ({', '.join(hits)})")
    source = analysis.message.source
    if when.sources and source not in when.sources:
        failures.append(f"sources: {source} not in {', '.join(ordered_sources(when.sources))}")
    for comparison in when.spread:
        if not spread_holds(comparison, spread):
            actual = number(getattr(spread, comparison.field))
            failures.append(f"spread: {comparison.field} {actual} is not {comparison.op} "
                            f"{number(comparison.value)}")
    return failures


def matches(rule: Rule, analysis: Analysis, spread: Spread) -> bool:
    return not condition_failures(rule, analysis, spread)


def is_live(rule: Rule, at: datetime) -> bool:
    """Enabled and not expired. ``expires`` is the last day the rule applies, in Asia/Shanghai."""
    return rule.enabled and (rule.expires is None or local_day(at) <= rule.expires)


def local_day(at: datetime) -> date:
    """The Asia/Shanghai calendar day of ``at``; a naive time is already Asia/Shanghai."""
    return at.date() if at.tzinfo is None else at.astimezone(SHANGHAI).date()


def grade(rule: Rule, periods: Sequence[ActivePeriod]) -> tuple[Level, str | None, list[str]]:
    """The rule's level with sensitive periods applied: (level, name of the raising period, reasons).

    A ``raise_in_period`` rule rises by the largest ``raise_by`` of the active periods (the first of
    them on a tie). The period is named only when the level actually rose.
    """
    raising = [p for p in periods if p.raise_by > 0]
    if not rule.raise_in_period or not raising:
        return rule.level, None, []
    period = max(raising, key=lambda p: p.raise_by)
    level = rule.level.raised(period.raise_by)
    if level == rule.level:
        return level, None, [f"sensitive period {period.name}: +{period.raise_by} ({rule.level} is the most "
                             "it can be)"]
    return level, period.name, [f"sensitive period {period.name}: +{period.raise_by} "
                                f"({rule.level} → {level})"]


def ordered_sources(sources: Iterable[str]) -> list[str]:
    """Sources in DESIGN's order (weibo, douyin, …), unknown ones after, alphabetically."""
    rank = {name: i for i, name in enumerate(SOURCES)}
    return sorted(sources, key=lambda s: (rank.get(s, len(rank)), s))


def number(value: float) -> str:
    """300 rather than 300.0; 2.5 stays 2.5."""
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"
