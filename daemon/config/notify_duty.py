"""The duty parts of notify.yaml, parsed for ``daemon.config.notify``: ``rota`` (值班表), ``routes`` (category →
teams), ``deadlines`` (时限), ``quiet_hours`` and ``limits``. Problems are collected with their
``path:line:col``; coverage gaps and overlaps of a rota are warnings, the file still loads.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import partial
from typing import Literal, cast

from channels.model import Person
from daemon.config.durations import DurationError, parse_duration
from daemon.config.notify_channels import Collector
from daemon.config.policy import Deadline, QuietHours, Route, SmsLimit
from daemon.config.rota import DAY_MINUTES, DAY_WORDS, Rota, Shift
from rules.county import BY_NAME
from rules.errors import ConfigError, Problem, did_you_mean, recorded
from rules.model import Level
from rules.yamlsrc import Node, check_keys

LEVELS = BY_NAME  # as notify.yaml names them
SHIFT_KEYS = ("name", "days", "dates", "from", "to", "people")
DEADLINE_KEYS = ("name", "within", "levels", "categories", "sources", "remind", "met_by", "notify", "via",
                 "escalate", "escalate_via")
QUIET_KEYS = ("from", "to", "levels")
LIMIT_KEYS = ("sms_per_hour", "overflow")
DEFAULT_REMIND: tuple[timedelta, ...] = (timedelta(minutes=10),)

TIME = re.compile(r"([01]?[0-9]|2[0-4]):([0-5][0-9])")
_WORKDAYS = re.compile(r"([0-9]+) *(?:workdays?|working days?|工作日)")
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATES = re.compile(rf"({_DATE})(?:\.\.({_DATE}))?")

Known = Mapping[str, object]


def hint(word: str, candidates: Iterable[str]) -> str:
    """``did_you_mean``, a little more lenient: team names are two or three characters (值斑 → 值班)."""
    names = list(candidates)
    if found := did_you_mean(word, names):
        return found
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.5)
    return f' (did you mean "{close[0]}"?)' if close else ""


class DutyParser(Collector):
    """Field helpers shared with ``notifyconf``, and the duty sections."""

    def _names(self, node: Node, what: str) -> list[tuple[str, Node]]:
        """A list of names (or one name) with where each is written."""
        items: list[Node] = recorded(self.problems, lambda: node.items(f"a list of {what}"), [])
        out = []
        for item in items:
            value = self._text(item, f"a {what} name")
            if value is not None:
                out.append((value, item))
        return out

    def _known(self, node: Node | None, what: str, known: Known) -> tuple[str, ...]:
        if node is None:
            return ()
        names = []
        for name, where in self._names(node, what):
            if name in known:
                names.append(name)
            else:
                self.problems.append(where.problem(f'unknown {what} "{name}"{hint(name, known)}'))
        return tuple(dict.fromkeys(names))

    def _choice(self, node: Node | None, key: str, only: str) -> str | None:
        if node is None or node.is_null:
            return None
        value = self._text(node)
        if value is not None and value != only:
            self.problems.append(node.problem(f'"{key}" can only be "{only}", got "{value}"'))
            return None
        return value

    def _duration(self, node: Node | None) -> timedelta | None:
        if node is None or node.is_null:
            return None
        text = self._text(node, "a duration such as 15m")
        if text is None:
            return None
        try:
            return parse_duration(text)
        except DurationError as exc:
            self.problems.append(node.problem(str(exc)))
            return None

    def _minutes(self, node: Node | None, key: str, default: int) -> int:
        """``"08:30"`` → 510. The raw text: YAML 1.1 reads an unquoted 8:30 as the number 510 (base 60)."""
        if node is None or node.is_null:
            return default
        raw = str(getattr(node.raw, "value", "")).strip()
        match = TIME.fullmatch(raw)
        minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
        if not 0 <= minutes <= DAY_MINUTES:
            self.problems.append(node.problem(f'{key}: expected a time like "08:30", got {node.kind}'))
            return default
        return minutes

    def _levels(self, node: Node | None, default: frozenset[Level]) -> frozenset[Level]:
        if node is None or node.is_null:
            return default
        return frozenset(LEVELS[name] for name in self._known(node, "level", LEVELS))

    def _words(self, node: Node | None, what: str) -> frozenset[str]:
        return frozenset(name for name, _ in self._names(node, what)) if node is not None else frozenset()

    # -- rota

    def rotas(self, node: Node | None, people: Mapping[str, Person], declared: Known) -> dict[str, Rota]:
        rotas: dict[str, Rota] = {}
        keys = node.keys_at() if node is not None else {}
        for team, value in self._mapping(node, "a rota (team: list of shifts)").items():
            items = recorded(self.problems, partial(value.sequence, f'a list of shifts for rota "{team}"'), None)
            if items is None:
                continue
            shifts = [self.shift(team, i, item, people, declared) for i, item in enumerate(items)]
            rotas[team] = Rota(team, tuple(s for s in shifts if s is not None), keys[team])
        return rotas

    def shift(self, team: str, index: int, node: Node, people: Mapping[str, Person],
              declared: Known) -> Shift | None:
        before = len(self.problems)
        what = f'shift of rota "{team}"'
        self.problems.extend(check_keys(node, SHIFT_KEYS, what, required=("people",)))
        fields = self._mapping(node, f"a {what} (days, from, to, people)")
        name = self._text(fields["name"]) if "name" in fields else None
        start = self._minutes(fields.get("from"), "from", 0)
        end = self._minutes(fields.get("to"), "to", start)
        days = self._days(fields.get("days"))
        dates = self._dates(fields.get("dates"))
        if "days" in fields and "dates" in fields:
            self.problems.append(fields["dates"].problem(f'{what}: give "days" or "dates", not both'))
        members = []
        for key, where in self._names(fields["people"], "person") if "people" in fields else ():
            if key in people:
                members.append(key)
            elif key not in declared:
                self.problems.append(where.problem(f'unknown person "{key}" in rota "{team}"{hint(key, declared)}'))
        if len(self.problems) > before:
            return None
        length = (end - start) % DAY_MINUTES or DAY_MINUTES
        return Shift(name or f"#{index + 1}", tuple(dict.fromkeys(members)), start % DAY_MINUTES, length,
                     node.location, days, dates)

    def _days(self, node: Node | None) -> frozenset[str]:
        words = set()
        for word, where in self._names(node, "day") if node is not None else ():
            if word.lower() in DAY_WORDS:
                words.add(word.lower())
            else:
                why = hint(word.lower(), DAY_WORDS) or ": expected workday, holiday, every or mon … sun"
                self.problems.append(where.problem(f'unknown day "{word}"{why}'))
        return frozenset(words)

    def _dates(self, node: Node | None) -> tuple[date, date] | None:
        if node is None or node.is_null:
            return None
        raw = str(getattr(node.raw, "value", "")).strip()
        match = _DATES.fullmatch(raw)
        try:
            if match is None:
                raise ValueError
            first = date.fromisoformat(match.group(1))
            last = date.fromisoformat(match.group(2) or match.group(1))
        except ValueError:
            self.problems.append(
                node.problem(f'dates: expected "2026-10-01" or "2026-10-01..2026-10-07", got {node.kind}'))
            return None
        if last < first:
            self.problems.append(node.problem(f"dates: {last} is before {first}"))
            return None
        return first, last

    # -- routes, deadlines, quiet hours, limits

    def routes(self, node: Node | None, teams: Known) -> tuple[Route, ...]:
        routes = []
        keys = node.keys_at() if node is not None else {}
        for team, value in self._mapping(node, 'routes (team: list of categories, or "*")').items():
            if team not in teams:
                self.problems.append(Problem(f'unknown team "{team}" in routes{hint(team, teams)}', keys[team]))
                continue
            routes += [Route(team, category, where.location) for category, where in self._names(value, "category")]
        return tuple(routes)

    def deadlines(self, node: Node | None, teams: Known, channels: Known) -> tuple[Deadline, ...]:
        if node is None or node.is_null:
            return ()
        items: list[Node] = recorded(self.problems, lambda: node.sequence("a list of deadlines"), [])
        out: dict[str, Deadline] = {}
        for item in items:
            deadline = self.deadline(item, teams, channels)
            if deadline is not None and deadline.name in out:
                self.problems.append(item.problem(f'deadline "{deadline.name}" is defined twice'))
            elif deadline is not None:
                out[deadline.name] = deadline
        return tuple(out.values())

    def deadline(self, node: Node, teams: Known, channels: Known) -> Deadline | None:
        before = len(self.problems)
        self.problems.extend(check_keys(node, DEADLINE_KEYS, "deadline", required=("name", "within", "notify", "via")))
        fields = self._mapping(node, "a deadline (name, within, notify, via …)")
        name = self._text(fields["name"], "a name") if "name" in fields else None
        within, workdays = self._within(fields.get("within"))
        remind = DEFAULT_REMIND
        if "remind" in fields:
            remind = tuple(d for d in map(self._duration, self._items(fields["remind"])) if d is not None)
        met_by = self._text(fields["met_by"]) if "met_by" in fields else "acknowledged"
        if met_by not in ("acknowledged", "resolved"):
            self.problems.append(fields["met_by"].problem(f'met_by must be acknowledged or resolved, got "{met_by}"'))
        deadline = Deadline(
            name=name or "", location=node.location, notify=self._known(fields.get("notify"), "team", teams),
            via=self._known(fields.get("via"), "channel", channels), within=within, workdays=workdays,
            levels=self._levels(fields.get("levels"), frozenset(LEVELS.values())),
            categories=self._words(fields.get("categories"), "category"),
            sources=self._words(fields.get("sources"), "source"), remind=remind,
            met_by=cast(Literal["acknowledged", "resolved"], met_by),
            escalate=self._known(fields.get("escalate"), "team", teams),
            escalate_via=self._known(fields.get("escalate_via"), "channel", channels))
        return None if len(self.problems) > before or not name else deadline

    def _items(self, node: Node | None) -> list[Node]:
        if node is None or node.is_null:
            return []
        return recorded(self.problems, lambda: node.items("a list of durations"), [])

    def _within(self, node: Node | None) -> tuple[timedelta, int]:
        """``2h`` or ``5 workdays`` (counted with the statutory holidays, rules.calendar)."""
        if node is None or node.is_null:
            return timedelta(0), 0
        text = self._text(node, "a time limit such as 2h or 5 workdays")
        if text is None:
            return timedelta(0), 0
        if match := _WORKDAYS.fullmatch(text.strip()):
            return timedelta(0), int(match.group(1))
        try:
            within = parse_duration(text)
        except DurationError:
            self.problems.append(node.problem(
                f'invalid time limit "{text}": use a duration such as 30m, 2h or 1d, or working days such as'
                " 5 workdays"))
            return timedelta(0), 0
        if within <= timedelta(0):
            self.problems.append(node.problem("within must be longer than 0s"))
        return within, 0

    def quiet(self, node: Node | None) -> QuietHours | None:
        if node is None or node.is_null:
            return None
        self.problems.extend(check_keys(node, QUIET_KEYS, "quiet_hours", required=("from", "to")))
        fields = self._mapping(node, "quiet hours (from, to, levels)")
        levels = self._levels(fields.get("levels"), frozenset((Level.BLUE, Level.YELLOW)))
        if Level.RED in levels:
            self.problems.append(fields["levels"].problem("quiet_hours: red is never held back"))
        start = self._minutes(fields.get("from"), "from", 0) % DAY_MINUTES
        end = self._minutes(fields.get("to"), "to", 0) % DAY_MINUTES
        if start == end and "from" in fields:
            self.problems.append(fields["from"].problem("quiet_hours: from and to are the same time"))
        return QuietHours(start, end, levels - {Level.RED})

    def limits(self, node: Node | None, channels: Known) -> SmsLimit | None:
        if node is None or node.is_null:
            return None
        self.problems.extend(check_keys(node, LIMIT_KEYS, "limits", required=("sms_per_hour",)))
        fields = self._mapping(node, "limits (sms_per_hour, overflow)")
        per_hour = 0
        if "sms_per_hour" in fields:
            try:
                per_hour = fields["sms_per_hour"].int("a whole number")
                if per_hour < 1:
                    self.problems.append(fields["sms_per_hour"].problem("sms_per_hour must be at least 1"))
            except ConfigError as exc:
                self.problems.extend(exc.problems)
        overflow = self._known(fields.get("overflow"), "channel", channels) if "overflow" in fields else ()
        return SmsLimit(per_hour, overflow[0] if overflow else None) if per_hour >= 1 else None
