"""A rule set compiled onto durable_rules, and the verdict it gives a message.

``rules.layout`` decides how the rules are laid out (groups, shards, facts); this module runs them:

- One module-level ``QuietHost`` without background threads and one module-level lock around every
  engine call: the C extension has no locks of its own and loses actions under threads.
- A message is a *fact*, asserted then retracted, so that every matching rule fires (an event would
  fire one). Asserting goes straight to the C engine (``_assert``): the host's Python layer would build a
  Closure and round-trip the session state through JSON for every rule that fires, which cost more than
  the matching itself; our actions only record which rule fired.
- Only the shards with a candidate rule are asserted, each with a fact naming only the groups its
  rules mention; the JSON of the rest of the fact is encoded once per message.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

import durable_rules_engine as dre
import structlog
from durable import engine as durable

from rules.evaluate import followers, gap, grade, is_live, number, ordered_sources, regex_holds
from rules.layout import Layout
from rules.model import (
    ActivePeriod,
    Analysis,
    KeywordHit,
    Level,
    Rule,
    RuleMatch,
    RuleSet,
    Spread,
    Suppression,
    Verdict,
)
from rules.places import Places
from rules.screen import Screen

log = structlog.get_logger(__name__)

_ACTION = re.compile(r'\s*\{\s*"r(\d+)"')  # the fired rule's name opens the action message
SID = "0"  # the one session every fact goes to (each extra sid costs memory per rule)
_NOTHING = Verdict(Level.NONE, (), None, ())  # most messages: immutable, so one instance serves them all
PRIMER = "primer"  # a rule and fact of every ruleset that only create its session state (see _prime)


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

    def __init__(self, ruleset: RuleSet, places: Places | None = None) -> None:
        self.ruleset = ruleset
        self.places = places or Places()
        self._rules = tuple(r for r in ruleset.rules if r.enabled)
        self._layout = Layout(self._rules)
        self._fired: list[int] = []
        self._facts = itertools.count(1)
        self._closed = False
        self._names: list[str] = []
        self._handles: list[int] = []
        self._wanted = [frozenset().union(*(t.words for t in (*r.when.all, *r.when.any))) for r in self._rules]
        self._positive = [frozenset().union(*(t.words for t in (*r.when.all, *r.when.any, *r.when.near_terms)))
                          for r in self._rules]  # the words whose negated occurrences do not count
        self._sources_text = [", ".join(ordered_sources(r.when.sources)) for r in self._rules]
        self._register()
        log.info("engine.compiled", version=ruleset.version, rules=len(self._rules), shards=len(self._names),
                 groups=len(self._layout.groups) + len(self._layout.computed))

    def _register(self) -> None:
        version = re.sub(r"[^0-9A-Za-z]", "", self.ruleset.version)[:16] or "v"
        compiled = next(_compiles)
        for position, shard in enumerate(self._layout.shards):
            name = f"yq_{version}_{compiled}_{position}"
            rules = {f"r{i}": {"all": [{"m": {"$and": self._layout.definition(i, shard.listed)}}],
                               "run": self._action(i)} for i in shard.members}
            rules[PRIMER] = {"all": [{"m": {"t": PRIMER}}], "run": _ignore}
            try:
                _host.register_rulesets({name: rules})
            except Exception as exc:
                self.close()
                ids = ", ".join(self._rules[i].id for i in shard.members)
                raise RuntimeError(f"durable_rules rejected rules {ids}: {exc}") from exc
            self._names.append(name)
            self._handles.append(_host._ruleset_directory[name]._handle)
            with _lock:
                _prime(self._handles[-1])

    def _action(self, index: int) -> Callable[[object], None]:
        # Exceptions in actions are swallowed by the engine: keep this one too simple to fail.
        def fired(_closure: object) -> None:
            self._fired.append(index)

        return fired

    # ------------------------------------------------------------ evaluate

    def evaluate(self, analysis: Analysis, spread: Spread, periods: Sequence[ActivePeriod],
                 at: datetime) -> Verdict:
        """The verdict of the live rules on one message: level, matches in rule order, reasons, and the
        rules whose condition held but that were screened out (``rules.screen``)."""
        fired = self._matching(analysis, spread, periods)
        if not fired:
            return _NOTHING
        by_word = {h.word: h for h in analysis.hits}
        matches: list[RuleMatch] = []
        reasons: list[str] = []
        suppressed: list[Suppression] = []
        period: str | None = None
        screen = Screen(analysis, spread, periods, self.places)
        for index in fired:
            rule = self._rules[index]
            if not is_live(rule, at):
                reasons.append(f"rule {rule.id}: expired on {rule.expires}, ignored")
                continue
            level, raised_by, period_reasons = grade(rule, periods)
            judged = screen.judge(rule, level, self._positive[index])
            if judged.suppressed is not None:
                suppressed.append(Suppression(rule.id, judged.suppressed))
                reasons.append(f"rule {rule.id}: suppressed, {judged.suppressed}")
                continue
            period = period or raised_by
            matches.append(RuleMatch(rule.id, rule.title, rule.category, rule.level, judged.level, rule.notify,
                                     rule.location))
            found = [by_word[w] for w in self._wanted[index].intersection(by_word)]
            reasons += [*_explain(rule, found, analysis, spread, self._sources_text[index]), *period_reasons,
                        *judged.notes]
        level = max((m.level for m in matches), default=Level.NONE)
        return Verdict(level, tuple(matches), period, tuple(reasons), tuple(suppressed), screen.found.place)

    def _matching(self, analysis: Analysis, spread: Spread, periods: Sequence[ActivePeriod]) -> list[int]:
        """Indices of the compiled rules whose condition holds, in rule order."""
        layout = self._layout
        groups = layout.present(analysis, periods)
        shards = layout.candidates(groups)
        if not shards:
            return []
        head = layout.fact_head(analysis.message, spread)
        with _lock:
            if self._closed:
                raise RuntimeError("engine is closed")
            self._fired.clear()
            head = f'{{"id": "f{next(self._facts)}", {head}'  # a fact asserted twice would be rejected
            for shard in shards:
                fact = f"{head}{layout.fact_groups(layout.shards[shard], groups)}}}"
                if not _assert(self._handles[shard], fact, self._fired):
                    continue  # no rule of this shard matched; nothing was stored
                _retract(self._handles[shard], fact)
            return sorted(self._fired)

    # ------------------------------------------------------------ close

    def close(self) -> None:
        """Free the compiled rulesets. Later ``evaluate`` calls raise ``RuntimeError``."""
        with _lock:
            self._closed = True
            names, self._names = self._names, []
            for name in names:
                _release(name)

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


def _prime(handle: int) -> None:
    """Give a new ruleset its session state through a rule of its own, so that ``_release`` can free it.

    ``delete_state`` crashes the process (segmentation fault) on a ruleset whose state came from asserts
    that never matched, and without it the state leaks (200 reloads of 100 rules in shards of 8 grew
    RSS by 41 MB). A primed state is freed whatever happens to the ruleset later."""
    fact = json.dumps({"id": PRIMER, "t": PRIMER})
    code, state = dre.assert_fact(handle, fact)
    if code not in (0, 3):
        raise RuntimeError(f"durable_rules assert_fact returned {code} for the primer")
    if dre.start_action_for_state(handle, state):
        while dre.complete_and_start_action(handle, state):
            pass
    _retract(handle, fact)


def _ignore(_closure: object) -> None:
    pass


def _release(name: str) -> None:
    """Drop one ruleset from the host. There is no API for it; this is FIELD-GUIDE's reload recipe:
    without ``delete_state`` each reload keeps about 1 MB per 100 rules."""
    _host.delete_state(name, SID)
    ruleset = _host._ruleset_directory.pop(name, None)
    if ruleset is not None:
        _host._ruleset_list.remove(ruleset)
        dre.delete_ruleset(ruleset._handle)


def _explain(rule: Rule, found: list[KeywordHit], analysis: Analysis, spread: Spread, sources: str) -> list[str]:
    """Why a matching rule matched, for IT staff: the keywords it found, the source, the spread.
    ``sources`` is the rule's sources as listed (computed once per rule)."""
    found.sort(key=lambda h: (h.positions[:1], h.word))
    keywords = ", ".join(h.word for h in found) if found else "(none required)"
    if analysis.spelled:
        written = [f"{word} as {spelling}" for word, spelling in analysis.spelled if word in {h.word for h in found}]
        keywords += f" (pinyin: {', '.join(written)})" if written else ""
    lines = [f"rule {rule.id}: keywords {keywords}"]
    if sources:
        lines.append(f"source {analysis.message.source} in {sources}")
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
