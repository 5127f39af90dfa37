"""The rules folder (``*.yaml``/``*.yml``) parsed and validated into a ``RuleSet``.

Every file is read before anything is judged, and every problem is collected, so one ``yuqing check``
shows all of them with ``path:line:col``. Keyword sets are shared by all files: a rule may name a set
defined in another file. Errors make the whole folder unusable (the daemon keeps the old rules);
warnings are returned beside the rule set.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import structlog
import yaml

from rules.conditions import (
    parse_min_followers,
    parse_names,
    parse_near,
    parse_period,
    parse_regex,
    resolve_term,
)
from rules.county import LEVEL_NAMES
from rules.errors import ConfigError, Problem, did_you_mean
from rules.message import MessageError, message_from_dict, to_time
from rules.model import (
    GENRE_MODES,
    NEGATION_MODES,
    SOURCES,
    SPREAD_FIELDS,
    Comparison,
    Condition,
    Level,
    Location,
    Message,
    Rule,
    RuleSet,
    RuleTest,
    Term,
)
from rules.yamlsrc import Node, check_keys, parse_text

log = structlog.get_logger(__name__)
T = TypeVar("T")

FILE_KEYS = ("keywords", "rules", "tests")
SET_KEYS = ("words", "pinyin")
RULE_KEYS = ("id", "title", "category", "level", "when", "raise_in_period", "notify", "enabled",
             "expires", "tests", "ladder", "negation", "genres")
LADDER_KEYS = ("level", "spread")
WHEN_KEYS = ("all", "any", "none", "near", "regex", "sources", "accounts", "regions", "min_followers",
             "verified", "spread", "period", "place")
SELECTING_KEYS = ("all", "any", "near", "regex", "accounts")  # a rule needs one: the rest only narrow
_MESSAGE_KEYS = ("id", "source", "title", "text", "url", "author", "published_at", "region", "metrics")
TEST_KEYS = (*_MESSAGE_KEYS, "at", "expect", "category")
FILE_TEST_KEYS = (*TEST_KEYS, "rule")
RULE_LEVELS = LEVEL_NAMES
PLACE_CONDITIONS = ("local",)  # a local or neighbouring place is named (rules.places)
EXPECT_LEVELS = ("none", *RULE_LEVELS)

_RULE_ID = re.compile(r"[a-z0-9][a-z0-9\-_.]*")
_COMPARISON = re.compile(r"\s*(>=|<=|==|!=|>|<)?\s*([0-9]+(?:\.[0-9]+)?)\s*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class _Load:
    """State of one load: what was found so far, and where (for duplicate and cross-reference errors)."""

    problems: list[Problem] = field(default_factory=list)
    sets: dict[str, frozenset[str]] = field(default_factory=dict)
    set_at: dict[str, Location] = field(default_factory=dict)
    pinyin: set[str] = field(default_factory=set)  # sets also looked for in pinyin spellings
    rule_at: dict[str, Location] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    tests: list[RuleTest] = field(default_factory=list)
    current: str = ""  # the file being read: PyYAML's own errors only know "<unicode string>"

    def attempt(self, parse: Callable[[], T]) -> T | None:
        """Run one parsing step; its problems are recorded and the load goes on."""
        try:
            return parse()
        except ConfigError as exc:
            self.problems += exc.problems
        except yaml.MarkedYAMLError as exc:  # a tag such as !!binary or !!python/… that safe YAML refuses
            mark = exc.problem_mark or exc.context_mark
            where = Location(self.current, mark.line + 1, mark.column + 1) if mark else None
            self.problems.append(Problem(f"YAML: {exc.problem or exc.context}", where, self.current))
        return None

    def warn(self, message: str, where: Location) -> None:
        self.problems.append(Problem(message, where, severity="warning"))

    @property
    def failed(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")


def load_rules(folder: Path) -> tuple[RuleSet, list[Problem]]:
    """Every rule file of ``folder`` (sorted by name, not recursive) as one ``RuleSet`` and its warnings.

    Raises ``ConfigError`` carrying all errors (and warnings) found in all files.
    """
    if not folder.is_dir():
        raise ConfigError([Problem("rules folder not found", path=str(folder))])
    state = _Load()
    digest = hashlib.sha256()
    files: list[tuple[str, dict[str, Node]]] = []
    for path in _rule_files(folder):
        state.current = str(path)
        top = state.attempt(partial(_read, path, digest))
        if top:
            files.append((str(path), top))
    # Every file's keyword sets before any rule: a rule may name a set from another file.
    for key, parse in (("keywords", _keyword_sets), ("rules", _rules), ("tests", _file_tests)):
        for state.current, top in files:
            if key in top and not top[key].is_null:
                state.attempt(partial(parse, top[key], state))
    state.problems.sort(key=_reading_order)
    if state.failed:
        raise ConfigError(state.problems)
    ruleset = RuleSet(tuple(state.rules), dict(state.sets), digest.hexdigest()[:12], tuple(state.tests),
                      frozenset(state.pinyin))
    log.debug("rules.loaded", folder=str(folder), rules=len(state.rules), version=ruleset.version,
              warnings=len(state.problems))
    return ruleset, list(state.problems)


def _reading_order(problem: Problem) -> tuple[str, int, int]:
    where = problem.location
    return (where.path, where.line, where.column) if where else (problem.path, 0, 0)


def _rule_files(folder: Path) -> list[Path]:
    # Dot-files are editor swap and lock files, not rules.
    return sorted(
        (p for p in folder.iterdir()
         if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()),
        key=lambda p: p.name,
    )


def _read(path: Path, digest: hashlib._Hash) -> dict[str, Node]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(f"cannot read: {exc.strerror}", path=str(path))]) from None
    digest.update(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(f"not UTF-8 text (byte {exc.start})", path=str(path))]) from None
    root = parse_text(text, str(path))
    if root is None:
        return {}
    fields = root.mapping('a mapping with "keywords", "rules" or "tests"')
    problems = check_keys(root, FILE_KEYS, "rules file")
    if problems:
        raise ConfigError(problems)
    return fields


# ---------------------------------------------------------------- keyword sets


def _keyword_sets(node: Node, state: _Load) -> None:
    where = node.keys_at()
    for name, value in node.mapping("a mapping of keyword set names to lists of words").items():
        at = where[name]
        if not name.strip():
            state.problems.append(Problem("keyword set name is empty", at))
            continue
        if name in state.set_at:
            state.problems.append(
                Problem(f'duplicate keyword set "{name}" (first defined at {state.set_at[name]})', at))
            continue
        state.set_at[name] = at
        if value.is_mapping:  # 拆迁: {words: [...], pinyin: true}
            state.problems += check_keys(value, SET_KEYS, f'keyword set "{name}"', required=("words",))
            fields = value.mapping()
            if "pinyin" in fields and state.attempt(fields["pinyin"].bool):
                state.pinyin.add(name)
            if "words" not in fields:
                state.sets[name] = frozenset()
                continue
            value = fields["words"]
        items = [] if value.is_null else state.attempt(partial(value.items, "a list of words"))
        words = [w for w in (_word(i, f'keyword set "{name}"', state) for i in items or []) if w]
        state.sets[name] = frozenset(words)
        if not words and items is not None:
            state.warn(f'keyword set "{name}" is empty: it never matches anything', at)


def _word(node: Node, where: str, state: _Load) -> str | None:
    text = state.attempt(lambda: node.str("a word"))
    if text is None:
        return None
    if not text.strip():
        state.problems.append(node.problem(f"empty word in {where}"))
        return None
    return text.strip()


# ---------------------------------------------------------------- rules


def _rules(node: Node, state: _Load) -> None:
    for item in node.sequence("a list of rules"):
        rule = state.attempt(partial(_rule, item, state))
        if rule is not None:
            state.rules.append(rule)
            ladder = item.mapping().get("ladder")
            if ladder is not None:
                state.rules.extend(state.attempt(partial(_ladder, ladder, rule, state)) or ())


def _ladder(node: Node, rule: Rule, state: _Load) -> list[Rule]:
    """``ladder:`` grades a rule in steps by spread (blue on one platform, yellow at ≥ 3 …). Each step is
    the same rule with the step's spread added, as ``<id>.<level>``: the engine needs nothing new."""
    steps: list[Rule] = []
    below = rule.level
    for item in node.sequence("a list of steps such as {level: yellow, spread: {platforms: \">= 3\"}}"):
        state.problems += check_keys(item, LADDER_KEYS, "ladder step", required=("level", "spread"))
        fields = item.mapping()
        if "level" not in fields or "spread" not in fields:
            continue
        level = _level(fields["level"])
        if level <= below:
            raise fields["level"].fail(f"ladder levels must rise: {level} is not above {below}")
        extra = _spread(fields["spread"], state=state)
        step_id = f"{rule.id}.{level}"
        if step_id in state.rule_at:
            raise item.fail(f'duplicate rule id "{step_id}" (first defined at {state.rule_at[step_id]})')
        state.rule_at[step_id] = item.location
        when = dataclasses.replace(rule.when, spread=(*rule.when.spread, *extra))
        steps.append(dataclasses.replace(rule, id=step_id, level=level, when=when, location=item.location,
                                         tests=()))
        below = level
    return steps


def _rule(node: Node, state: _Load) -> Rule | None:
    fields = node.mapping("a rule (a mapping with id, level and when)")
    before = state.failed
    state.problems += check_keys(node, RULE_KEYS, "rule", required=("id", "level", "when"))
    rule_id = state.attempt(lambda: _rule_id(fields["id"], node.location, state)) if "id" in fields else None
    level = state.attempt(lambda: _level(fields["level"])) if "level" in fields else None
    when = state.attempt(lambda: _condition(fields["when"], state)) if "when" in fields else None

    def text(key: str) -> str | None:
        return state.attempt(lambda: fields[key].str().strip()) if key in fields else None

    def flag(key: str, default: bool) -> bool:
        value = state.attempt(fields[key].bool) if key in fields else None
        return default if value is None else value

    title, category = text("title"), text("category")
    notify = state.attempt(lambda: _names(fields["notify"])) if "notify" in fields else []
    expires = state.attempt(lambda: _expires(fields["expires"])) if "expires" in fields else None
    negation = state.attempt(lambda: _choice(fields["negation"], "negation", NEGATION_MODES)) \
        if "negation" in fields else None
    genres = state.attempt(lambda: _choice(fields["genres"], "genres", GENRE_MODES)) if "genres" in fields else None
    tests: list[RuleTest] = []
    if "tests" in fields and not fields["tests"].is_null:
        default_source = when[1][0] if when and when[1] else "other"
        tests = state.attempt(lambda: _tests(fields["tests"], default_source, TEST_KEYS, state)) or []
    if state.failed > before or rule_id is None or level is None or when is None:
        return None
    return Rule(
        id=rule_id, title=title or rule_id, level=level, when=when[0], location=node.location,
        category=category or "", raise_in_period=flag("raise_in_period", False),
        notify=tuple(name for name, _ in notify or ()), enabled=flag("enabled", True), expires=expires,
        tests=tuple(tests), notify_at=tuple(at for _, at in notify or ()),
        negation=negation or NEGATION_MODES[0], genres=genres or GENRE_MODES[0],
    )


def _rule_id(node: Node, rule_at: Location, state: _Load) -> str:
    rule_id = node.str("a rule id").strip()
    if not _RULE_ID.fullmatch(rule_id):
        raise node.fail(f'bad rule id "{rule_id}": use lowercase letters, digits, "-", "_" and ".", '
                        "starting with a letter or digit")
    if rule_id in state.rule_at:
        raise ConfigError([Problem(
            f'duplicate rule id "{rule_id}" (first defined at {state.rule_at[rule_id]})', rule_at)])
    state.rule_at[rule_id] = rule_at
    return rule_id


def _level(node: Node, allowed: tuple[str, ...] = RULE_LEVELS, what: str = "level") -> Level:
    value = node.str("a level").strip()
    if value.lower() not in allowed:
        names = f'{", ".join(allowed[:-1])} or {allowed[-1]}'
        raise node.fail(f'bad {what} "{value}": expected {names}{did_you_mean(value, allowed)}')
    return Level.parse(value)


def _choice(node: Node, what: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed`` (written in any case), else an error at the value."""
    value = node.str(" or ".join(allowed)).strip()
    if value.lower() not in allowed:
        names = f'{", ".join(allowed[:-1])} or {allowed[-1]}' if len(allowed) > 1 else allowed[0]
        raise node.fail(f'bad {what} "{value}": expected {names}{did_you_mean(value, allowed)}')
    return value.lower()


def _names(node: Node) -> list[tuple[str, Location]]:
    """Team names, each once, with where it is written."""
    names: dict[str, Location] = {}
    for item in node.items("a list of team names"):
        name = item.str("a team name").strip()
        if not name:
            raise item.fail("empty team name")
        names.setdefault(name, item.location)
    return list(names.items())


def _expires(node: Node) -> date:
    value = node.scalar()
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = node.str("a date").strip()
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise node.fail(f'bad expires "{text}": expected a date YYYY-MM-DD')


# ---------------------------------------------------------------- when


def _condition(node: Node, state: _Load) -> tuple[Condition, list[str]] | None:
    """The condition and its sources in written order (the first is the tests' default source)."""
    fields = node.mapping("a mapping with all, any, none, near, sources, spread …")
    before = state.failed
    state.problems += check_keys(node, WHEN_KEYS, "when")
    terms = {key: _terms(fields[key], key, state) if key in fields else [] for key in ("all", "any", "none")}

    def part(key: str, parse: Callable[[Node], T]) -> T | None:
        return state.attempt(partial(parse, fields[key])) if key in fields else None

    sources = part("sources", _sources) or []
    spread = part("spread", partial(_spread, state=state)) or ()
    near = part("near", partial(parse_near, sets=state.sets, problems=state.problems)) or ()
    regex = part("regex", parse_regex) or ()
    accounts = part("accounts", partial(parse_names, what="accounts", sets=state.sets)) or frozenset()
    regions = part("regions", partial(parse_names, what="regions", sets=state.sets)) or frozenset()
    min_followers = part("min_followers", parse_min_followers)
    verified = part("verified", Node.bool)
    period = part("period", parse_period)
    place = part("place", partial(_choice, what="place", allowed=PLACE_CONDITIONS))
    if state.failed > before:
        return None
    if not (terms["all"] or terms["any"] or near or regex or accounts):  # `all: []` would match anything
        state.problems.append(node.problem(f"when needs {_quoted(SELECTING_KEYS)}"))
        return None
    _warn_overlap(terms, state)
    condition = Condition(
        all=tuple(t for t, _ in terms["all"]), any=tuple(t for t, _ in terms["any"]),
        none=tuple(t for t, _ in terms["none"]), sources=frozenset(sources), spread=spread, near=near,
        regex=regex, accounts=accounts, regions=regions, min_followers=min_followers, verified=verified,
        period=period, place=place,
    )
    return condition, sources


def _quoted(keys: tuple[str, ...]) -> str:
    return ", ".join(f'"{k}"' for k in keys[:-1]) + f' or "{keys[-1]}"'



def _terms(node: Node, key: str, state: _Load) -> list[tuple[Term, Node]]:
    items = state.attempt(lambda: node.items("a list of words or keyword set names")) or []
    terms = []
    for item in items:
        name = _word(item, f'"{key}"', state)
        if name is not None:
            terms.append((resolve_term(name, item, state.sets, state.problems), item))
    return terms


def _warn_overlap(terms: dict[str, list[tuple[Term, Node]]], state: _Load) -> None:
    """A word in both all/any and none: any message with it is excluded, so it can never match."""
    seen: set[str] = set()
    for term, item in terms["none"]:
        for word in sorted(term.words):
            key = next((k for k in ("all", "any") if any(word in t.words for t, _ in terms[k])), None)
            if key and word not in seen:
                seen.add(word)
                state.warn(f'word "{word}" is in both "{key}" and "none": a message with it can never match',
                           item.location)


def _sources(node: Node) -> list[str]:
    sources: list[str] = []
    for item in node.items("a list of sources"):
        source = item.str("a source").strip().lower()
        if source not in SOURCES:
            raise item.fail(f'unknown source "{source}"{did_you_mean(source, SOURCES)}')
        if source not in sources:
            sources.append(source)
    return sources


def _spread(node: Node, *, state: _Load) -> tuple[Comparison, ...]:
    where = node.keys_at()
    comparisons = []
    for name, value in node.mapping("a mapping such as {reposts: \">= 100\"}").items():
        if name not in SPREAD_FIELDS:
            hint = did_you_mean(name, SPREAD_FIELDS)
            state.problems.append(Problem(f'unknown spread field "{name}"{hint}', where[name]))
        elif (comparison := state.attempt(partial(_comparison, name, value))) is not None:
            comparisons.append(comparison)
    return tuple(comparisons)


def _comparison(name: str, node: Node) -> Comparison:
    value = node.scalar()
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return Comparison(name, ">=", float(value))
    found = _COMPARISON.fullmatch(value) if isinstance(value, str) else None
    if not found:
        shown = value if isinstance(value, str) else node.kind.strip('"')
        raise node.fail(f'bad comparison "{shown}" for "{name}": expected a number or an operator '
                        'and a number, such as ">= 100"')
    return Comparison(name, found[1] or ">=", float(found[2]))


# ---------------------------------------------------------------- tests


def _file_tests(node: Node, state: _Load) -> None:
    """Tests of the whole rule set; ``rule`` must name a rule of any file."""
    for test in _tests(node, "other", FILE_TEST_KEYS, state):
        if test.expect_rule and test.expect_rule not in state.rule_at:
            hint = did_you_mean(test.expect_rule, state.rule_at)
            state.problems.append(Problem(f'unknown rule "{test.expect_rule}" in test{hint}', test.location))
        state.tests.append(test)


def _tests(node: Node, default_source: str, keys: tuple[str, ...], state: _Load) -> list[RuleTest]:
    tests = []
    for item in node.sequence("a list of tests"):
        test = state.attempt(partial(_test, item, default_source, keys))
        if test is not None:
            tests.append(test)
    return tests


def _test(node: Node, default_source: str, keys: tuple[str, ...]) -> RuleTest:
    fields = node.mapping("a test such as {text: …, expect: none}")
    local = _Load(problems=check_keys(node, keys, "test", required=("text", "expect")))

    def value(key: str, parse: Callable[[Node], T]) -> T | None:
        return local.attempt(partial(parse, fields[key])) if key in fields else None

    expect = value("expect", partial(_level, allowed=EXPECT_LEVELS, what="expect"))
    at = value("at", _at)
    category = value("category", lambda n: n.str().strip())
    rule = value("rule", lambda n: n.str("a rule id").strip())
    message = None
    if "text" in fields:
        message = local.attempt(partial(_test_message, node, fields, default_source))
    if local.problems or message is None or expect is None:
        raise ConfigError(local.problems)
    return RuleTest(message=message, expect=expect, location=node.location,
                    expect_category=category or None, at=at, expect_rule=rule or None)


def _test_message(node: Node, fields: dict[str, Node], default_source: str) -> Message:
    """The test's sample message; format errors point at the field when it is written in the test."""
    plain = {key: fields[key].plain() for key in _MESSAGE_KEYS if key in fields}
    try:
        return message_from_dict(plain, default_source=default_source)
    except MessageError as exc:
        raise ConfigError([Problem(str(exc), _field_location(fields, exc.field) or node.location)]) from None


def _at(node: Node) -> datetime:
    """The evaluation time of a test: an ISO time or a date (its midnight); naive means Asia/Shanghai."""
    moment = to_time(node.scalar())
    if moment is None:
        raise node.fail(f"bad at {node.kind}: expected an ISO date or time such as 2026-03-05T10:00:00+08:00")
    return moment


def _field_location(fields: dict[str, Node], dotted: str | None) -> Location | None:
    """Where a message field such as ``metrics.reposts`` is written in a test, if it is."""
    head, _, rest = (dotted or "").partition(".")
    node = fields.get(head)
    inner = node.mapping().get(rest) if node and rest and node.is_mapping else None
    return (inner or node).location if node else None
