"""Parsers for the ``when`` conditions beyond keywords: near, regex, accounts, regions, min_followers,
verified and period. Each takes a located YAML node and raises ``ConfigError`` pointing into it;
``rules.loader`` collects the problems.
"""

from __future__ import annotations

from collections.abc import Mapping

from rules.errors import ConfigError, Problem
from rules.evaluate import PatternError, compile_pattern
from rules.model import Near, Term
from rules.yamlsrc import Node

MAX_NEAR = 1000  # characters; farther apart than a long post is not "near"
_NEAR_SHAPE = "[word or set, word or set, characters], such as [拆迁, 打人, 10]"


def resolve_term(name: str, node: Node, sets: Mapping[str, frozenset[str]], problems: list[Problem]) -> Term:
    """A keyword set when ``name`` is one, else the literal word ``name``.

    An unknown name is a literal word by design, so there is no "unknown set" error; but a literal
    one edit away from a set name (拆签 for the set 拆迁) is most likely a typo, and is warned about,
    unless the word is itself a word of some set (伤者 beside the set 伤亡 is meant).
    """
    if name in sets:
        return Term(name, sets[name], is_set=True)
    if len(name) >= 2 and not any(name in words for words in sets.values()):
        close = sorted(s for s in sets if _one_edit(name, s))
        if close:
            problems.append(Problem(
                f'"{name}" is not a keyword set, so it matches only the word "{name}"; '
                f'did you mean the set "{close[0]}"?', node.location, severity="warning"))
    return Term(name, frozenset({name}), is_set=False)


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance exactly 1 (one character changed, added or removed)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def parse_near(node: Node, sets: Mapping[str, frozenset[str]], problems: list[Problem]) -> tuple[Near, ...]:
    """``[[拆迁, 打人, 10], …]``; a single ``[拆迁, 打人, 10]`` is taken as a list of one."""
    items = node.sequence(f"a list of {_NEAR_SHAPE}")
    if len(items) == 3 and not any(i.is_sequence or i.is_mapping for i in items):
        items = [node]
    found: list[Near] = []
    errors: list[Problem] = []
    for item in items:
        try:
            found.append(_near(item, sets, problems))
        except ConfigError as exc:
            errors += exc.problems
    if errors:
        raise ConfigError(errors)
    return tuple(found)


def _near(node: Node, sets: Mapping[str, frozenset[str]], problems: list[Problem]) -> Near:
    parts = node.sequence(_NEAR_SHAPE)
    if len(parts) != 3:
        raise node.fail(f"near needs {_NEAR_SHAPE}; got {len(parts)} values")
    left, right = (_name(part) for part in parts[:2])
    within = parts[2].int("a number of characters")
    if not 0 <= within <= MAX_NEAR:
        raise parts[2].fail(f"bad near distance {within}: expected 0 to {MAX_NEAR} characters")
    return Near(resolve_term(left, parts[0], sets, problems), resolve_term(right, parts[1], sets, problems), within)


def _name(node: Node) -> str:
    name = node.str("a word or keyword set name").strip()
    if not name:
        raise node.fail("empty word in near")
    return name


def parse_regex(node: Node) -> tuple[str, ...]:
    """One pattern or a list; each compiled now, so a bad one is an error at its line."""
    patterns: list[str] = []
    for item in node.items("a pattern or a list of patterns"):
        pattern = item.str("a regular expression")
        if not pattern.strip():
            raise item.fail("empty regex: it would match every message")
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise item.fail(f'bad regex "{pattern}": {exc}') from None
        if compile_pattern(pattern).search("") is not None:
            raise item.fail(f'bad regex "{pattern}": it matches an empty text, so every message')
        patterns.append(pattern)
    return tuple(dict.fromkeys(patterns))


def parse_names(node: Node, what: str, sets: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """``accounts`` and ``regions``: non-empty names, one or a list; a keyword set name stands for
    its words, so a list of accounts can be kept in one place."""
    names: set[str] = set()
    for item in node.items(f"a list of {what}"):
        name = item.str(f"a name in {what}").strip()
        if not name:
            raise item.fail(f"empty name in {what}")
        names |= sets.get(name, {name})
    if not names:
        raise node.fail(f"{what} is empty: leave it out to allow any")
    return frozenset(names)


def parse_min_followers(node: Node) -> int:
    value = node.int("a whole number of followers")
    if value < 0:
        raise node.fail(f"bad min_followers {value}: expected a whole number >= 0")
    return value


def parse_period(node: Node) -> frozenset[str]:
    """``true``: any sensitive period (an empty set); a name or a list: one of those periods."""
    value = node.scalar() if not node.is_sequence else None
    if value is True:
        return frozenset()
    if value is False:
        raise node.fail('period: false means no condition; leave "period" out, or write true or a list of '
                        "period names")
    names = set()
    for item in node.items("true or a list of period names"):
        name = item.str("a period name").strip()
        if not name:
            raise item.fail("empty period name")
        names.add(name)
    if not names:
        raise node.fail("period is an empty list: write true for any sensitive period, or name some")
    return frozenset(names)
