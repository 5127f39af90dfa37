"""A rule set compiled onto durable_rules, and the verdict it gives a message.

How the rules are laid out on the engine, and why (numbers in FIELD-GUIDE §1):

- One module-level ``QuietHost`` without background threads and one module-level lock around every
  engine call: the C extension has no locks of its own and loses actions under threads.
- A message is a *fact*, asserted then retracted, so that every matching rule fires (an event would
  fire one). Asserting goes straight to the C engine (``_assert``): the host's Python layer would build a
  Closure and round-trip the session state through JSON for every rule that fires, which cost more than
  the matching itself; our actions only record which rule fired.
- A shard is asserted only when one of its rules has every keyword group it requires present (an index
  from group to rules), and its fact lists only the groups its rules mention.
- Every condition starts with ``t == "msg"``: the engine re-asserts its session state after each action
  of the host's own path, and a condition that state could satisfy would loop forever.
- Rules are sharded into rulesets of 16 (at most 64: a fact satisfying more than 64 rules of one ruleset
  fails with error 303 and fires none).
- Keywords reach the fact as *term groups*, not words. Every distinct word set a rule asks about
  (an ``all`` term, the union of its ``any`` terms, the union of its ``none`` terms) gets an index, and
  the fact carries the indices of the groups present in a list ``k`` (plus a sentinel, because
  ``allItems`` over an empty list is false). A list has no size limit, where 254 top-level keys fail
  with error 302; and no rule needs an ``$or`` over words, which durable_rules caps at 512 and
  multiplies out across a rule (12 × 12 alternatives already fail with error 113).
- Spread numbers go in as fixed-point integers (``rules.evaluate.fixed``): the engine's parser rejects
  floats such as ``5e-05``.
- Conditions durable_rules cannot express well are computed in Python *before* the fact is asserted,
  and reach it as more group indices in ``k``: ``near`` (hit offsets), ``regex`` (RE2: the engine's own
  ``matches`` backtracks and ignores text past 64 KB), ``accounts`` and ``regions`` (lists of any
  length, where ``$or`` is capped), and ``period`` (the active periods are not part of the message).
  Each distinct such condition is one group, evaluated once per message with the reference functions
  of ``rules.evaluate``; durable_rules still makes every decision, by combining the groups with the
  keywords, the source, the spread, ``min_followers`` and ``verified`` (plain fact fields).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import durable_rules_engine as dre
import structlog
from durable import engine as durable

from rules.evaluate import (
    account_holds,
    fixed,
    followers,
    gap,
    grade,
    is_live,
    is_verified,
    near_holds,
    number,
    ordered_sources,
    period_holds,
    regex_holds,
    region_holds,
)
from rules.model import (
    SPREAD_FIELDS,
    ActivePeriod,
    Analysis,
    Comparison,
    Condition,
    KeywordHit,
    Level,
    Near,
    Rule,
    RuleMatch,
    RuleSet,
    Spread,
    Verdict,
)

# A condition computed in Python before the fact is asserted (see the module docstring).
Computed = Callable[[Analysis, Sequence[ActivePeriod]], bool]

log = structlog.get_logger(__name__)

# At most 64: more simultaneous matches in one ruleset fail (durable_rules MAX_STACK_SIZE, error 303).
# Smaller is faster, since an assert costs more the more rules its ruleset holds and shards without a
# candidate rule are skipped: at 1,000 rules × 50,000 keywords, 16 took 0.77 ms a message, 64 took 1.0 ms.
SHARD_SIZE = 16
SENTINEL = -1  # always in the fact's group list, so that "no group g" can be written as allItems(!= g)
_ACTION = re.compile(r'\s*\{\s*"r(\d+)"')  # the fired rule's name opens the action message
SID = "0"  # the one session every fact goes to (each extra sid costs memory per rule)

_OPS = {">=": "$gte", "<=": "$lte", ">": "$gt", "<": "$lt", "!=": "$neq"}


class QuietHost(durable.Host):  # type: ignore[misc]
    """A durable_rules host without its dispatcher and timer threads: everything runs inside the
    caller's ``assert_fact``. This project uses neither timers nor queued actions."""

    def _run(self) -> None:
        pass


_host = QuietHost()
_lock = threading.Lock()
_compiles = itertools.count(1)


class Engine:
    """One compiled rule set. ``evaluate`` may be called from any thread; ``close`` frees the engine's
    memory (call it when a reload replaced this engine)."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._rules = tuple(r for r in ruleset.rules if r.enabled)
        self._groups: dict[frozenset[str], int] = {}
        self._word_groups: dict[str, list[int]] = {}
        self._computed: dict[tuple[object, ...], tuple[int, Computed]] = {}
        self._fired: list[int] = []
        self._facts = itertools.count(1)
        self._closed = False
        self._names: list[str] = []
        self._handles: dict[str, int] = {}
        self._stateful: set[str] = set()  # shards where a rule fired, so the session state exists
        self._needs: list[frozenset[int]] = []  # per rule: the groups it cannot match without
        self._wanted = [frozenset().union(*(t.words for t in (*r.when.all, *r.when.any))) for r in self._rules]
        self._shard_of: list[int] = []  # per rule: its shard
        self._needers: dict[int, list[int]] = {}  # group → the rules that need it
        self._always: set[int] = set()  # shards with a rule that needs no group
        self._uses: list[frozenset[int]] = []  # per rule: every group its condition mentions
        self._shard_uses: list[frozenset[int]] = []
        definitions = [self._rule_definition(rule) for rule in self._rules]
        for word_set, group in self._groups.items():
            for word in word_set:
                self._word_groups.setdefault(word, []).append(group)
        self._register(definitions)
        for index, needs in enumerate(self._needs):
            for group in needs:
                self._needers.setdefault(group, []).append(index)
            if not needs:
                self._always.add(self._shard_of[index])
        log.info("engine.compiled", version=ruleset.version, rules=len(self._rules), shards=len(self._names),
                 groups=len(self._groups))

    # ------------------------------------------------------------ compile

    def _group(self, words: frozenset[str]) -> int:
        return self._groups.setdefault(words, len(self._groups) + len(self._computed))

    def _computed_group(self, key: tuple[object, ...], holds: Computed) -> int:
        """The group index of a condition computed in Python; one per distinct condition."""
        if key not in self._computed:
            self._computed[key] = (len(self._groups) + len(self._computed), holds)
        return self._computed[key][0]

    def _python_conditions(self, when: Condition) -> list[dict[str, Any]]:
        keys_and_tests: list[tuple[tuple[object, ...], Computed]] = [
            (("near", near), _near_test(near)) for near in when.near]
        if when.regex:
            keys_and_tests.append((("regex", when.regex), lambda a, _p: regex_holds(when.regex, a.message)))
        if when.accounts:
            keys_and_tests.append((("accounts", when.accounts),
                                   lambda a, _p: account_holds(when.accounts, a.message)))
        if when.regions:
            keys_and_tests.append((("regions", when.regions), lambda a, _p: region_holds(when.regions, a.message)))
        if (period := when.period) is not None:
            keys_and_tests.append((("period", period), lambda _a, p: period_holds(period, p)))
        return [{"$iany": {"k": {"$i": self._computed_group(key, test)}}} for key, test in keys_and_tests]

    def _rule_definition(self, rule: Rule) -> list[dict[str, Any]]:
        """The ``$and`` list of one rule's condition on the fact."""
        when = rule.when
        conditions: list[dict[str, Any]] = [{"t": "msg"}]
        needs = [self._group(term.words) for term in when.all]
        if when.any:
            needs.append(self._group(frozenset().union(*(term.words for term in when.any))))
        conditions += [{"$iany": {"k": {"$i": group}}} for group in needs]
        nothing = frozenset().union(*(term.words for term in when.none))
        uses = set(needs)
        if nothing:
            uses.add(self._group(nothing))
            conditions.append({"$iall": {"k": {"$neq": {"$i": self._group(nothing)}}}})
        if when.sources:
            alternatives = [{"source": source} for source in sorted(when.sources)]
            conditions.append(alternatives[0] if len(alternatives) == 1 else {"$or": alternatives})
        conditions += [_comparison(c) for c in when.spread]
        if when.min_followers is not None:
            conditions.append({"$gte": {"followers": when.min_followers}})
        if when.verified is not None:
            conditions.append({"verified": int(when.verified)})
        computed = self._python_conditions(when)
        self._needs.append(frozenset(needs) | {c["$iany"]["k"]["$i"] for c in computed})
        self._uses.append(frozenset(uses) | self._needs[-1])
        return conditions + computed

    def _register(self, definitions: list[list[dict[str, Any]]]) -> None:
        version = re.sub(r"[^0-9A-Za-z]", "", self.ruleset.version)[:16] or "v"
        compiled = next(_compiles)
        try:
            for shard, start in enumerate(range(0, len(definitions), SHARD_SIZE)):
                name = f"yq_{version}_{compiled}_{shard}"
                rules = {
                    f"r{i}": {"all": [{"m": {"$and": definitions[i]}}], "run": self._action(i)}
                    for i in range(start, min(start + SHARD_SIZE, len(definitions)))
                }
                _host.register_rulesets({name: rules})
                self._names.append(name)
                self._handles[name] = _host._ruleset_directory[name]._handle
                self._shard_of += [shard] * (min(start + SHARD_SIZE, len(definitions)) - start)
                self._shard_uses.append(frozenset().union(*self._uses[start:start + SHARD_SIZE]))
        except Exception as exc:
            self.close()
            ids = ", ".join(r.id for r in self._rules[start:start + SHARD_SIZE])
            raise RuntimeError(f"durable_rules rejected rules {ids}: {exc}") from exc

    def _action(self, index: int) -> Callable[[object], None]:
        # Exceptions in actions are swallowed by the engine: keep this one too simple to fail.
        def fired(_closure: object) -> None:
            self._fired.append(index)

        return fired

    # ------------------------------------------------------------ evaluate

    def evaluate(self, analysis: Analysis, spread: Spread, periods: Sequence[ActivePeriod],
                 at: datetime) -> Verdict:
        """The verdict of the live rules on one message: level, matches in rule order, reasons."""
        hits = self._matching(analysis, spread, periods)
        by_word = {h.word: h for h in analysis.hits} if hits else {}
        matches: list[RuleMatch] = []
        reasons: list[str] = []
        period: str | None = None
        for index in hits:
            rule = self._rules[index]
            if not is_live(rule, at):
                reasons.append(f"rule {rule.id}: expired on {rule.expires}, ignored")
                continue
            level, raised_by, period_reasons = grade(rule, periods)
            period = period or raised_by
            matches.append(RuleMatch(rule.id, rule.title, rule.category, rule.level, level, rule.notify,
                                     rule.location))
            found = [by_word[w] for w in self._wanted[index] & by_word.keys()]
            reasons += [*_explain(rule, found, analysis, spread), *period_reasons]
        level = max((m.level for m in matches), default=Level.NONE)
        return Verdict(level, tuple(matches), period, tuple(reasons))

    def _matching(self, analysis: Analysis, spread: Spread, periods: Sequence[ActivePeriod]) -> list[int]:
        """Indices of the compiled rules whose condition holds, in rule order."""
        groups = {g for word in analysis.words for g in self._word_groups.get(word, ())}
        groups |= {g for g, holds in self._computed.values() if holds(analysis, periods)}
        message = analysis.message
        fact: dict[str, Any] = {"t": "msg", "source": message.source,
                                "followers": min(followers(message), 2**62), "verified": int(is_verified(message))}
        fact |= {name: fixed(getattr(spread, name)) for name in SPREAD_FIELDS}
        with _lock:
            if self._closed:
                raise RuntimeError("engine is closed")
            fact["id"] = f"f{next(self._facts)}"  # a fact asserted twice would be rejected
            self._fired.clear()
            # A shard none of whose rules has its required groups present cannot match: it is not asserted
            # (most of the cost of a message with a large rule set). The fact carries only the groups the
            # shard's rules mention: the engine's cost grows with the list's length.
            head = json.dumps(fact, ensure_ascii=False)[:-1]  # encoded once; only "k" differs per shard
            for shard in self._candidate_shards(groups):
                name, uses = self._names[shard], self._shard_uses[shard]
                handle = self._handles[name]
                text = f'{head}, "k": [{SENTINEL}{"".join(f", {g}" for g in sorted(groups & uses))}]}}'
                if not _assert(handle, text, self._fired):
                    continue  # no rule of this shard matched; nothing was stored
                self._stateful.add(name)
                _retract(handle, text)
            return sorted(self._fired)

    def _candidate_shards(self, groups: set[int]) -> list[int]:
        """Shards with a rule whose required groups are all present, in order."""
        present: dict[int, int] = {}
        for group in groups:
            for index in self._needers.get(group, ()):
                present[index] = present.get(index, 0) + 1
        shards = set(self._always)
        shards.update(self._shard_of[i] for i, n in present.items() if n == len(self._needs[i]))
        return sorted(shards)

    # ------------------------------------------------------------ close

    def close(self) -> None:
        """Free the compiled rulesets. Later ``evaluate`` calls raise ``RuntimeError``."""
        with _lock:
            self._closed = True
            names, self._names = self._names, []
            for name in names:
                _release(name, name in self._stateful)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _assert(handle: int, fact: str, fired: list[int]) -> bool:
    """Assert ``fact`` and note every rule that fired, straight on the C engine.

    ``durable.engine.Host.assert_fact`` does the same through a Closure, a JSON round trip of the session
    state and a Python callback per fired rule; our actions only record the rule, so this loop skips that
    (it is what keeps a message that matches many rules cheap). False when no rule matched."""
    code, state = dre.assert_fact(handle, fact)
    if code == 1:  # not handled: nothing stored
        return False
    if code not in (0, 3):
        raise RuntimeError(f"durable_rules assert_fact returned {code}")
    result = dre.start_action_for_state(handle, state)
    message = result[1] if result else None
    while message:
        fired.append(int(_ACTION.match(message).group(1)))  # type: ignore[union-attr]
        message = dre.complete_and_start_action(handle, state)
    return True


def _retract(handle: int, fact: str) -> None:
    code, state = dre.retract_fact(handle, fact)
    if code == 0:
        result = dre.start_action_for_state(handle, state)
        while result and dre.complete_and_start_action(handle, state):
            pass


def _release(name: str, stateful: bool) -> None:
    """Drop one ruleset from the host. There is no API for it; this is FIELD-GUIDE's reload recipe:
    without ``delete_state`` each reload keeps about 1 MB per 100 rules.

    ``delete_state`` only where a rule once fired: on a ruleset that was asserted to but never
    matched it crashes the process (segmentation fault), and on a fresh one it raises error 309.
    """
    if stateful:
        _host.delete_state(name, SID)
    ruleset = _host._ruleset_directory.pop(name, None)
    if ruleset is not None:
        _host._ruleset_list.remove(ruleset)
        dre.delete_ruleset(ruleset._handle)


def _near_test(near: Near) -> Computed:
    return lambda analysis, _periods: near_holds(near, analysis)


def _comparison(comparison: Comparison) -> dict[str, Any]:
    value = fixed(comparison.value)
    if comparison.op == "==":
        return {comparison.field: value}
    return {_OPS[comparison.op]: {comparison.field: value}}


def _explain(rule: Rule, found: list[KeywordHit], analysis: Analysis, spread: Spread) -> list[str]:
    """Why a matching rule matched, for IT staff: the keywords it found, the source, the spread."""
    hits = sorted(found, key=lambda h: (h.positions[:1], h.word))
    keywords = ", ".join(h.word for h in hits) if hits else "(none required)"
    lines = [f"rule {rule.id}: keywords {keywords}"]
    if rule.when.sources:
        lines.append(f"source {analysis.message.source} in {', '.join(ordered_sources(rule.when.sources))}")
    lines += [f"spread {c.field} {number(getattr(spread, c.field))} {c.op} {number(c.value)}"
              for c in rule.when.spread]
    return lines + _explain_more(rule, analysis)


def _explain_more(rule: Rule, analysis: Analysis) -> list[str]:
    when, message = rule.when, analysis.message
    lines = [f"near {n.left.name} and {n.right.name}: {gap(n, analysis)} characters apart (at most {n.within})"
             for n in when.near]
    if when.regex:
        lines.append(f"regex {', '.join(f'/{p}/' for p in when.regex if regex_holds((p,), message))} found")
    author = message.author
    if when.accounts and author:
        lines.append(f"account {' / '.join(x for x in (author.name, author.id) if x)}")
    if when.regions:
        lines.append(f"region {message.region}")
    if when.min_followers is not None:
        lines.append(f"author followers {followers(message)} >= {when.min_followers}")
    if when.verified is not None:
        lines.append("author verified" if when.verified else "author not verified")
    return lines
