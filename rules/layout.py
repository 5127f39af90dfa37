"""How a rule set is laid out on durable_rules: groups, shards, rule definitions and facts.

Pure compilation, no engine calls: ``rules.engine`` registers what this module builds. Numbers in
FIELD-GUIDE §1.

- Keywords reach the fact as *groups*, not words. Every distinct word set a rule asks about (an
  ``all`` term, the union of its ``any`` terms, the union of its ``none`` terms) is a group, and so is
  every distinct condition computed in Python before the fact is asserted: ``near`` (hit offsets),
  ``regex`` (RE2: the engine's own ``matches`` backtracks and ignores text past 64 KB), ``accounts``
  and ``regions`` (lists of any length, where ``$or`` is capped at 512 and multiplies out across a
  rule) and ``period`` (the active periods are not part of the message). durable_rules still makes
  every decision, combining the groups with the source, the spread, ``min_followers`` and ``verified``.
- A group present in the message is a field ``"g<n>": 1`` of the fact; a rule asks for it with
  ``{"g<n>": 1}`` and for its absence with ``$nex``. Hashed field tests cost a third of ``$iany`` over
  a list (3.1 µs against 7.4 µs for a 16-rule shard where a rule fired, 0.8 against 3.6 µs where none
  did). A fact with 254 top-level keys fails (error 302), so a shard's rules mention at most
  ``MAX_GROUPS`` groups; a rule that alone mentions more (hundreds of ``all`` terms) gets a shard of
  its own where the groups go in a list ``k`` with a sentinel (``$iall`` over an empty list is false).
- Rules are cut into shards of at most ``SHARD_SIZE``: a fact satisfying more than 64 rules of one
  ruleset fails with error 303 and fires none, and an assert costs more the more rules its ruleset
  holds. A shard is asserted only when one of its rules has every group it needs (``candidates``).
- Every condition starts with ``t == "msg"``: the engine re-asserts its session state after each action
  of the host's own path, and a condition that state could satisfy would loop forever.
- Spread numbers go in as fixed-point integers (``rules.evaluate.fixed``): the engine's parser rejects
  floats such as ``5e-05``. The fact carries only the figures some rule compares.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rules.evaluate import (
    RegexBank,
    account_holds,
    fixed,
    followers,
    is_verified,
    near_holds,
    period_holds,
    region_holds,
)
from rules.model import SPREAD_FIELDS, ActivePeriod, Analysis, Comparison, Condition, Message, Near, Rule, Spread

# A condition computed in Python before the fact is asserted.
Computed = Callable[[Analysis, Sequence[ActivePeriod]], bool]

# At most 64 (durable_rules MAX_STACK_SIZE, error 303). At 1,000 rules × 50,000 keywords a message
# cost 50 µs with shards of 1 to 4 rules, 53 µs at 8, 58 µs at 16 and 65 µs at 32; shards of 1 or 4
# rules take twice or 1.2 times the memory of 8 (97, 55 and 48 MB), and 16 no less than 8.
SHARD_SIZE = 8
# A fact with 254 or more top-level keys fails (error 302): room for the fixed fields (id, t, source,
# followers, verified, nine spread figures).
MAX_GROUPS = 200
SENTINEL = -1  # always in a listed fact's "k", so that "no group g" can be written as allItems(!= g)

_OPS = {">=": "$gte", "<=": "$lte", ">": "$gt", "<": "$lt", "!=": "$neq"}


@dataclass(frozen=True)
class Shard:
    members: tuple[int, ...]  # indices of its rules
    uses: frozenset[int]  # every group its rules mention
    listed: bool  # groups go in a list "k", not one field each (a rule mentions more than MAX_GROUPS)


class Layout:
    """Groups and shards of the enabled rules ``rules`` (indices below are into that sequence)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self.groups: dict[frozenset[str], int] = {}
        self.computed: dict[tuple[object, ...], tuple[int, Computed]] = {}
        self.needs: list[tuple[int, ...]] = []  # per rule: the groups it cannot match without
        self.excluded: list[int | None] = []  # per rule: the group of its `none` words
        self.regexes = RegexBank(p for rule in self.rules for p in rule.when.regex)
        for rule in self.rules:
            self._assign(rule.when)
        self._sort_computed()
        self.uses = [frozenset(needs) | ({excluded} if excluded is not None else set())
                     for needs, excluded in zip(self.needs, self.excluded, strict=True)]
        self.shards = self._packed()
        self.shard_of = [0] * len(self.rules)
        for number, shard in enumerate(self.shards):
            for index in shard.members:
                self.shard_of[index] = number
        word_groups: dict[str, list[int]] = {}
        for words, group in self.groups.items():
            for word in words:
                word_groups.setdefault(word, []).append(group)
        self.word_groups = {word: tuple(groups) for word, groups in word_groups.items()}
        self._field = [f', "g{g}": 1' for g in range(len(self.groups) + len(self.computed))]
        self._sole: dict[int, set[int]] = {}  # group → shards of the rules that need this group alone
        self._needers: dict[int, list[int]] = {}  # group → the rules that need it and more groups
        self._always = {self.shard_of[i] for i, needs in enumerate(self.needs) if not needs}
        for index, needs in enumerate(self.needs):
            if len(needs) == 1:
                self._sole.setdefault(needs[0], set()).add(self.shard_of[index])
            for group in needs if len(needs) > 1 else ():
                self._needers.setdefault(group, []).append(index)
        whens = [rule.when for rule in self.rules]
        self._spread_fields = [f for f in SPREAD_FIELDS if any(c.field == f for w in whens for c in w.spread)]
        self._wants_followers = any(w.min_followers is not None for w in whens)
        self._wants_verified = any(w.verified is not None for w in whens)

    # ------------------------------------------------------------ groups

    def _group(self, words: frozenset[str]) -> int:
        return self.groups.setdefault(words, len(self.groups) + len(self.computed))

    def _computed_group(self, key: tuple[object, ...], holds: Computed) -> int:
        if key not in self.computed:
            self.computed[key] = (len(self.groups) + len(self.computed), holds)
        return self.computed[key][0]

    def _assign(self, when: Condition) -> None:
        needs = [self._group(term.words) for term in when.all]
        if when.any:
            needs.append(self._group(frozenset().union(*(term.words for term in when.any))))
        needs += [self._computed_group(key, holds) for key, holds in _computed_conditions(when, self.regexes)]
        nothing = frozenset().union(*(term.words for term in when.none))
        self.needs.append(tuple(dict.fromkeys(needs)))
        self.excluded.append(self._group(nothing) if nothing else None)

    def _packed(self) -> list[Shard]:
        """Rules in order, cut into shards of at most SHARD_SIZE rules and MAX_GROUPS groups."""
        shards: list[Shard] = []
        members: list[int] = []
        uses: frozenset[int] = frozenset()
        for index, used in enumerate(self.uses):
            listed = len(used) > MAX_GROUPS
            if members and (listed or len(members) == SHARD_SIZE or len(uses | used) > MAX_GROUPS):
                shards.append(Shard(tuple(members), uses, listed=False))
                members, uses = [], frozenset()
            if listed:
                shards.append(Shard((index,), used, listed=True))
                continue
            members.append(index)
            uses |= used
        if members:
            shards.append(Shard(tuple(members), uses, listed=False))
        return shards

    # ------------------------------------------------------------ durable_rules definitions

    def definition(self, index: int, listed: bool) -> list[dict[str, Any]]:
        """The ``$and`` list of one rule's condition on the fact."""
        when = self.rules[index].when
        conditions: list[dict[str, Any]] = [{"t": "msg"}]
        if listed:
            conditions += [{"$iany": {"k": {"$i": group}}} for group in self.needs[index]]
        else:
            conditions += [{f"g{group}": 1} for group in self.needs[index]]
        if (excluded := self.excluded[index]) is not None:
            conditions.append({"$iall": {"k": {"$neq": {"$i": excluded}}}} if listed
                              else {"$nex": {f"g{excluded}": 1}})
        if when.sources:
            alternatives = [{"source": source} for source in sorted(when.sources)]
            conditions.append(alternatives[0] if len(alternatives) == 1 else {"$or": alternatives})
        conditions += [_comparison(c) for c in when.spread]
        if when.min_followers is not None:
            conditions.append({"$gte": {"followers": when.min_followers}})
        if when.verified is not None:
            conditions.append({"verified": int(when.verified)})
        return conditions

    # ------------------------------------------------------------ per message

    def present(self, analysis: Analysis, periods: Sequence[ActivePeriod]) -> set[int]:
        """The groups present in the message: its keyword groups and the computed conditions that hold."""
        words = analysis.words
        groups = {g for word in words if word in self.word_groups for g in self.word_groups[word]}
        # Only the near conditions one of whose first term's words occurs can hold; regexes in one pass.
        near = {entry for word in words for entry in self._near_by_word.get(word, ())}
        groups.update(g for g, holds in near if holds(analysis, periods))
        if self._regex_groups and (words or not self._regex_needs_words) and (
                found := self.regexes.matching(analysis.message)):
            groups.update(g for g, patterns in self._regex_groups if not patterns.isdisjoint(found))
        groups.update(g for g, holds in self._other_computed if holds(analysis, periods))
        return groups

    def _sort_computed(self) -> None:
        """Index the computed conditions so that a message pays only for those that can hold."""
        self._near_by_word: dict[str, list[tuple[int, Computed]]] = {}
        self._regex_groups: list[tuple[int, frozenset[int]]] = []
        self._other_computed: list[tuple[int, Computed]] = []
        for (kind, value), (group, holds) in self.computed.items():
            if kind == "near" and isinstance(value, Near):
                for word in value.left.words:
                    self._near_by_word.setdefault(word, []).append((group, holds))
            elif kind == "regex" and isinstance(value, tuple):
                self._regex_groups.append((group, frozenset(self.regexes.index[p] for p in value)))
            else:
                self._other_computed.append((group, holds))
        # When every rule with a regex also needs a keyword, a message without keywords skips the regexes.
        keyword_groups = set(self.groups.values())
        regex_groups = {group for group, _patterns in self._regex_groups}
        self._regex_needs_words = all(not keyword_groups.isdisjoint(needs) for needs in self.needs
                                      if not regex_groups.isdisjoint(needs))

    def candidates(self, groups: set[int]) -> list[int]:
        """Shards with a rule whose needed groups are all present, in order."""
        shards = set(self._always)
        count: dict[int, int] = {}
        for group in groups:
            if group in self._sole:
                shards.update(self._sole[group])
            for index in self._needers.get(group, ()):
                count[index] = count.get(index, 0) + 1
        shards.update(self.shard_of[i] for i, n in count.items() if n == len(self.needs[i]))
        return sorted(shards)

    def fact_head(self, message: Message, spread: Spread) -> str:
        """The fact's fields other than its id and groups, JSON without braces."""
        head = f'"t": "msg", "source": {_json_string(message.source)}'
        if self._wants_followers:
            head += f', "followers": {min(followers(message), 2**62)}'
        if self._wants_verified:
            head += f', "verified": {int(is_verified(message))}'
        return head + "".join(f', "{name}": {fixed(getattr(spread, name))}' for name in self._spread_fields)

    def fact_groups(self, shard: Shard, groups: set[int]) -> str:
        """The fact's groups for ``shard``: only those its rules mention (the engine's cost grows with
        the number of fields), with a leading comma."""
        mentioned = groups & shard.uses
        if shard.listed:
            return f', "k": [{", ".join(map(str, [SENTINEL, *sorted(mentioned)]))}]'
        return "".join(map(self._field.__getitem__, mentioned))


@functools.lru_cache(maxsize=256)
def _json_string(text: str) -> str:
    """``text`` as a JSON string; sources are few, so each is encoded once."""
    return json.dumps(text, ensure_ascii=False)


def _computed_conditions(when: Condition, regexes: RegexBank) -> list[tuple[tuple[object, ...], Computed]]:
    """The parts of ``when`` computed in Python, each with a key naming the distinct condition."""
    found: list[tuple[tuple[object, ...], Computed]] = [(("near", near), _near_test(near)) for near in when.near]
    if regex := when.regex:
        found.append((("regex", regex), lambda a, _p: regexes.holds(regex, a.message)))
    if accounts := when.accounts:
        found.append((("accounts", accounts), lambda a, _p: account_holds(accounts, a.message)))
    if regions := when.regions:
        found.append((("regions", regions), lambda a, _p: region_holds(regions, a.message)))
    if (period := when.period) is not None:
        found.append((("period", period), lambda _a, p: period_holds(period, p)))
    return found


def _near_test(near: Near) -> Computed:
    return lambda analysis, _periods: near_holds(near, analysis)


def _comparison(comparison: Comparison) -> dict[str, Any]:
    value = fixed(comparison.value)
    if comparison.op == "==":
        return {comparison.field: value}
    return {_OPS[comparison.op]: {comparison.field: value}}
