"""The reference semantics of a rule, in plain Python.

``rules.engine`` evaluates the same rules on durable_rules for speed; this module is what they mean.
It explains near misses (``yuqing explain --verbose``, failing rule tests) and is the oracle the
engine is tested against, so the two must agree on every rule and every message.

- ``all``: every term is present; ``any``: at least one term is present (when ``any`` is given);
  ``none``: no term is present. A term is present when any of its words was hit as a whole word.
- ``sources``: empty means any source.
- ``spread``: every comparison holds. Numbers are compared in fixed point (``fixed``), exactly as the
  engine compares them, so a threshold such as ``growth: "> 0.5"`` means the same in both.
- ``near``: for every pair, some hit of one term and some hit of the other are at most ``within``
  characters apart (the characters *between* them; overlapping or adjacent hits are 0 apart).
- ``regex``: at least one pattern is found in ``Message.body`` as written (title and text).
- ``accounts``: the author's id or name is one of them; ``regions``: the message region is one of
  them or contains one (石桥镇 matches 青岚县石桥镇); ``min_followers``: the author has at least that
  many; ``verified``: the author's verified flag is that (unknown counts as not verified).
- ``period``: ``true`` (stored as an empty set) means any sensitive period is in force; a list means
  one of the named periods is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Protocol

from rules.county import SHANGHAI
from rules.model import SOURCES, ActivePeriod, Analysis, Comparison, Level, Message, Near, Rule, Spread, Term

try:  # RE2 runs in time linear in the text: no pattern can backtrack catastrophically.
    import re2  # type: ignore[import-untyped,import-not-found,unused-ignore]  # no stubs
except ImportError:  # pragma: no cover - google-re2 is a dependency; the fallback is for odd platforms
    re2 = None

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


def condition_failures(rule: Rule, analysis: Analysis, spread: Spread,
                       periods: Sequence[ActivePeriod] = ()) -> list[str]:
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
    failures += [f"near: {why}" for near in when.near if (why := near_failure(near, analysis))]
    if when.regex and not regex_holds(when.regex, analysis.message):
        failures.append(f"regex: none of {', '.join(f'/{p}/' for p in when.regex)} found")
    return failures + _author_failures(rule, analysis.message) + _period_failures(rule, periods)


def _author_failures(rule: Rule, message: Message) -> list[str]:
    when, author = rule.when, message.author
    failures = []
    if when.accounts and not account_holds(when.accounts, message):
        who = " / ".join(x for x in (author.name, author.id) if x) if author else ""
        failures.append(f"accounts: author {who or '(unknown)'} not in {', '.join(sorted(when.accounts))}")
    if when.regions and not region_holds(when.regions, message):
        failures.append(f"regions: region {message.region or '(unknown)'} not in "
                        f"{', '.join(sorted(when.regions))}")
    if when.min_followers is not None and followers(message) < when.min_followers:
        failures.append(f"min_followers: author has {followers(message)}, fewer than {when.min_followers}")
    if when.verified is not None and is_verified(message) != when.verified:
        failures.append("verified: author is not verified" if when.verified else "verified: author is verified")
    return failures


def _period_failures(rule: Rule, periods: Sequence[ActivePeriod]) -> list[str]:
    wanted = rule.when.period
    if wanted is None or period_holds(wanted, periods):
        return []
    if not wanted:
        return ["period: no sensitive period in force"]
    active = f" ({', '.join(p.name for p in periods)} in force)" if periods else ""
    return [f"period: none of {', '.join(sorted(wanted))} in force{active}"]


def matches(rule: Rule, analysis: Analysis, spread: Spread, periods: Sequence[ActivePeriod] = ()) -> bool:
    return not condition_failures(rule, analysis, spread, periods)


def near_misses(rules: Iterable[Rule], analysis: Analysis, spread: Spread, periods: Sequence[ActivePeriod],
                at: datetime) -> list[tuple[Rule, list[str]]]:
    """Live rules that did not match although at least one of their keyword terms was found, each
    with what failed. Rules with no keyword found are left out: listing them would only be noise."""
    words = analysis.words
    missed = []
    for rule in rules:
        when = rule.when
        wanted = (*when.all, *when.any, *(t for n in when.near for t in (n.left, n.right)))
        if not is_live(rule, at) or not any(found(t, words) for t in wanted):
            continue
        if failures := condition_failures(rule, analysis, spread, periods):
            missed.append((rule, failures))
    return missed


# ---------------------------------------------------------------- near


def term_spans(term: Term, analysis: Analysis) -> list[tuple[int, int]]:
    """(start, end) of every hit of the term's words, in ``Message.body`` offsets."""
    return sorted((start, start + len(h.word)) for h in analysis.hits if h.word in term.words
                  for start in h.positions)


def gap(near: Near, analysis: Analysis) -> int | None:
    """The fewest characters between a hit of one term and a hit of the other; None if one is absent."""
    left, right = term_spans(near.left, analysis), term_spans(near.right, analysis)
    if not left or not right:
        return None
    return max(0, min(max(b0 - a1, a0 - b1) for a0, a1 in left for b0, b1 in right))


def near_holds(near: Near, analysis: Analysis) -> bool:
    # Most messages hold neither term: a set test says so before any span is built.
    if near.left.words.isdisjoint(analysis.words) or near.right.words.isdisjoint(analysis.words):
        return False
    distance = gap(near, analysis)
    return distance is not None and distance <= near.within


def near_failure(near: Near, analysis: Analysis) -> str | None:
    distance = gap(near, analysis)
    if distance is None:
        absent = [t.name for t in (near.left, near.right) if not term_spans(t, analysis)]
        return f"{' and '.join(absent)} not found"
    if distance > near.within:
        return f"{near.left.name} and {near.right.name} are {distance} characters apart, more than {near.within}"
    return None


# ---------------------------------------------------------------- regex

MAX_REGEX_TEXT = 20_000  # without RE2, patterns only ever see this many characters of a message
_NESTED = re.compile(r"\\([1-9]|[gk]<)|\(\?P=|\([^()]*[+*}]\)[+*{]")


class PatternError(ValueError):
    """A ``regex`` that cannot be used: bad syntax, or (without RE2) one that could backtrack."""


class _Searcher(Protocol):
    def search(self, text: str) -> object: ...


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> _Searcher:
    """The compiled pattern, RE2 when installed. Raises ``PatternError`` with the reason."""
    if re2 is not None:
        options = re2.Options()
        options.log_errors = False  # RE2 would print every bad pattern on stderr through absl
        try:
            compiled: _Searcher = re2.compile(pattern, options)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            text = reason.decode() if isinstance(reason, bytes) else str(reason)
            if re.match(r"invalid escape sequence: \\[1-9]|invalid perl operator: \(\?", text):
                text += " (RE2 has no backreferences or lookarounds)"
            raise PatternError(text) from None
        return compiled
    if _NESTED.search(pattern):  # pragma: no cover - only without RE2
        raise PatternError("nested quantifiers and backreferences are not allowed (they can backtrack "
                           "for hours); rewrite the pattern")
    try:  # pragma: no cover - only without RE2
        return re.compile(pattern)
    except re.error as exc:  # pragma: no cover
        raise PatternError(str(exc)) from None


class RegexBank:
    """Every ``regex`` pattern of a rule set, searched in one pass over a message (an RE2 set), instead
    of one search per pattern and rule: a rule set that spells context out as patterns pays once."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(dict.fromkeys(patterns))
        self.index = {pattern: i for i, pattern in enumerate(self.patterns)}
        self._set: Any = None
        if re2 is not None and self.patterns:
            options = re2.Options()
            options.log_errors = False
            self._set = re2.Set.SearchSet(options)
            for pattern in self.patterns:
                self._set.Add(pattern)
            self._set.Compile()
        self._last: tuple[str, frozenset[int]] | None = None

    def matching(self, message: Message) -> frozenset[int]:
        """Indexes of the patterns found in the message (the last message's answer is kept: every
        regex condition of a rule set asks about the same message in turn)."""
        text = message.body
        if self._last is not None and self._last[0] == text:
            return self._last[1]
        if self._set is not None:
            found = frozenset(self._set.Match(text) or ())
        else:  # pragma: no cover - only without RE2
            found = frozenset(i for i, p in enumerate(self.patterns) if regex_holds((p,), message))
        self._last = (text, found)
        return found

    def holds(self, patterns: Iterable[str], message: Message) -> bool:
        found = self.matching(message)
        return any(self.index[p] in found for p in patterns)


def regex_holds(patterns: Iterable[str], message: Message) -> bool:
    text = message.body if re2 is not None else message.body[:MAX_REGEX_TEXT]
    return any(compile_pattern(p).search(text) is not None for p in patterns)


# ---------------------------------------------------------------- author, region, period


def account_holds(accounts: frozenset[str], message: Message) -> bool:
    author = message.author
    return author is not None and bool({author.id, author.name} & accounts)


def region_holds(regions: frozenset[str], message: Message) -> bool:
    region = (message.region or "").strip()
    return bool(region) and any(name in region for name in regions)


def followers(message: Message) -> int:
    return (message.author.followers or 0) if message.author else 0


def is_verified(message: Message) -> bool:
    return bool(message.author and message.author.verified)


def period_holds(wanted: frozenset[str], periods: Sequence[ActivePeriod]) -> bool:
    return bool(periods) if not wanted else any(p.name in wanted for p in periods)


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
    if not periods or not rule.raise_in_period:
        return rule.level, None, []
    raising = [p for p in periods if p.raise_by > 0]
    if not raising:
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
