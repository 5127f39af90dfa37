"""Rule backtest (``yuqing replay``): what a new rule set would have decided on messages already stored,
beside what the live rules decided then. The gate before a reload, as ``promtool test rules`` is.

Nothing is written anywhere: the store is opened read-only by the caller (``Store(read_only=True)``),
no incident is opened, no timer scheduled, no story re-clustered. Each stored message is graded again
as the pipeline graded it when it arrived:

- at its ``received_at`` (so the sensitive periods in force then apply, from the new rulebook's calendar),
- on its own figures as stored (``Spread.of_message``: reposts, views, followers …), and compared with
  its stored verdict JSON, which is what the live rules decided: a *message* difference;
- a member of an incident is also graded with the story's spread as stored in the incidents table (no
  clustering re-run). The story's new level (the highest of its members, own or story grade, as
  ``Pipeline._join`` keeps the best) is compared with the incident's stored level: a *story*
  difference. Only incidents opened inside the span are compared, since a story's earlier members are
  what set its level.

A message given in a file is compared with its stored verdict when the store has it (same id or
content), otherwise with the live rules (``config.rules_dir``) evaluated now.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from channels.masking import mask
from daemon import incidents
from daemon.clock import from_epoch, local
from daemon.store import Store, messages
from daemon.store.messages import MessageRecord
from daemon.triage.rulebook import Rulebook
from rules.message import message_from_dict
from rules.model import SPREAD_FIELDS, Level, Message, Spread, Verdict, content_hash
from rules.text import Analyzer

Kind = Literal["new", "lost", "level", "rules"]
KINDS: tuple[Kind, ...] = ("new", "lost", "level", "rules")
EXCERPT_CHARS = 80  # enough to recognise a post; the full text is one `yuqing explain` away
FROM_STORE = "store"  # a difference's origin when the message was read from the store


@dataclass(frozen=True)
class Match:
    rule: str
    category: str
    level: Level


@dataclass(frozen=True)
class Decision:
    """A verdict reduced to what a replay compares: the level and the rules that matched."""

    level: Level
    matches: tuple[Match, ...] = ()

    @property
    def rules(self) -> frozenset[str]:
        return frozenset(m.rule for m in self.matches)

    @property
    def category(self) -> str:
        """The category of the match that set the level (first in rule order), "" for none."""
        top = [m for m in self.matches if m.level == self.level]
        return top[0].category if top else ""


def stored_decision(verdict: Mapping[str, Any]) -> Decision:
    """What the live rules decided, from a message's stored verdict JSON (``pipeline.verdict_to_dict``)."""
    matches = tuple(Match(str(r.get("id") or ""), str(r.get("category") or ""),
                          Level.parse(str(r.get("level") or "none"))) for r in verdict.get("rules") or ())
    return Decision(Level.parse(str(verdict.get("level") or "none")), matches)


def decision_of(verdict: Verdict) -> Decision:
    return Decision(verdict.level, tuple(Match(m.rule_id, m.category, m.level) for m in verdict.matches))


def kind_of(live: Decision, new: Decision) -> Kind | None:
    """new: graded now and not before; lost: the reverse; level: graded both times, another level;
    rules: the same level from other rules. None: the same decision."""
    if live.level == new.level:
        return "rules" if live.rules != new.rules else None
    if live.level == Level.NONE:
        return "new"
    return "lost" if new.level == Level.NONE else "level"


def excerpt(message: Message, chars: int = EXCERPT_CHARS) -> str:
    """The start of the message, one line, personal numbers masked (it is printed and shared)."""
    text = " ".join(message.body.split())
    return mask(text if len(text) <= chars else text[:chars] + "…")


@dataclass(frozen=True)
class Difference:
    kind: Kind
    message_id: str
    source: str
    at: datetime  # when it was graded: its receipt, or the replay's time for a file's message not stored
    incident_id: str | None
    origin: str  # FROM_STORE, or the file the message came from
    live: Decision
    new: Decision
    excerpt: str  # masked


@dataclass(frozen=True)
class StoryDifference:
    incident_id: str
    title: str  # masked
    category: str
    live: Level
    new: Level

    @property
    def kind(self) -> Kind:
        return "new" if self.live == Level.NONE else "lost" if self.new == Level.NONE else "level"


@dataclass
class RuleCount:
    category: str
    gained: int = 0  # messages the rule matches now and did not
    lost: int = 0  # messages it matched and no longer does


@dataclass
class Report:
    version: str  # of the new rule set
    start: datetime | None = None
    end: datetime | None = None
    files: list[str] = field(default_factory=list)
    replayed: int = 0
    seconds: float = 0.0
    limit: int | None = None  # differences listed at most (counts are always complete)
    totals: dict[Kind, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    differences: list[Difference] = field(default_factory=list)
    stories: list[StoryDifference] = field(default_factory=list)
    by_rule: dict[str, RuleCount] = field(default_factory=dict)
    by_category: dict[str, dict[Kind, int]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.totals.values()) or bool(self.stories)

    @property
    def rate(self) -> float:
        """Messages replayed per second."""
        return self.replayed / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Story:
    """What the incidents table keeps of a story for grading: its spread as last stored, and when its
    level was last set (a rise may have come in a sensitive period after its members arrived)."""

    spread: Spread
    level_at: datetime


def story_of(incident: incidents.Incident) -> Story | None:
    """None when the incident has no stored spread (never refreshed)."""
    stored = incident.spread
    if not stored:
        return None
    counts = {k: int(stored[k]) for k in SPREAD_FIELDS if k in stored and k != "growth"}
    spread = dataclasses.replace(Spread(growth=float(stored.get("growth", 0.0))), **counts)
    return Story(spread, incident.level_at)


class Replayer:
    """Grades messages with ``rulebook`` and tallies what differs from the live decision."""

    def __init__(self, rulebook: Rulebook, analyzer: Analyzer, report: Report) -> None:
        self.rulebook = rulebook
        self.analyzer = analyzer
        self.report = report
        self._story_levels: dict[str, Level] = {}  # incident → its story's new level so far

    def grade(self, message: Message, at: datetime, story: Story | None) -> tuple[Decision, Level]:
        """The message's own decision, and the best of it and its story's grade (with the stored spread,
        at the message's time and at the time the story's level was last set)."""
        analysis, verdict = self.rulebook.evaluate(self.analyzer, message, at)
        best = verdict.level
        if story is not None:
            for moment in (at, story.level_at):
                best = max(best, self.rulebook.grade(analysis, story.spread, moment).level)
        return decision_of(verdict), best

    def compare(self, message: Message, at: datetime, live: Decision, new: Decision, *,
                incident_id: str | None = None, origin: str = FROM_STORE) -> None:
        report = self.report
        report.replayed += 1
        kind = kind_of(live, new)
        if kind is None:
            return
        report.totals[kind] += 1
        category = live.category if kind == "lost" else new.category
        counts = report.by_category.setdefault(category, dict.fromkeys(KINDS, 0))
        counts[kind] += 1
        categories = {m.rule: m.category for m in (*live.matches, *new.matches)}
        for rule in new.rules - live.rules:
            report.by_rule.setdefault(rule, RuleCount(categories[rule])).gained += 1
        for rule in live.rules - new.rules:
            report.by_rule.setdefault(rule, RuleCount(categories[rule])).lost += 1
        if report.limit is None or len(report.differences) < report.limit:
            report.differences.append(Difference(kind, message.id, message.source, at, incident_id, origin,
                                                 live, new, excerpt(message)))

    def track(self, incident_id: str, level: Level) -> None:
        """A member's best level under the new rules counts towards its story's level."""
        self._story_levels[incident_id] = max(level, self._story_levels.get(incident_id, Level.NONE))

    def record(self, record: MessageRecord, stories: Mapping[str, Story | None], tracked: Iterable[str]) -> None:
        """One stored message: graded at its receipt, compared with its stored verdict."""
        message = message_from_dict(record.data)
        at = from_epoch(record.received_at)
        incident_id = record.incident_id
        own, best = self.grade(message, at, stories.get(incident_id) if incident_id else None)
        self.compare(message, at, stored_decision(record.verdict), own, incident_id=incident_id)
        if incident_id is not None and incident_id in tracked:
            self.track(incident_id, best)

    def story_differences(self, opened: Iterable[incidents.Incident]) -> None:
        for incident in opened:
            new = self._story_levels.get(incident.id, Level.NONE)
            if new != incident.level:
                self.report.stories.append(StoryDifference(
                    incident.id, mask(incident.title), incident.category, incident.level, new))


def replay_span(store: Store, rulebook: Rulebook, analyzer: Analyzer, report: Report) -> None:
    """Every message received in [report.start, report.end), inside one read transaction so that the
    daemon's commits meanwhile do not mix into the figures."""
    started = time.perf_counter()
    replayer = Replayer(rulebook, analyzer, report)
    with store.snapshot():
        ids = sorted(messages.incidents_with_messages_between(store, report.start, report.end))
        found = incidents.by_ids(store, ids)
        stories = {i.id: story_of(i) for i in found}
        opened = [i for i in found if (report.start is None or i.opened_at >= report.start)
                  and (report.end is None or i.opened_at < report.end)]
        tracked = {i.id for i in opened}
        for record in messages.received_between(store, report.start, report.end):
            replayer.record(record, stories, tracked)
    replayer.story_differences(opened)
    report.seconds += time.perf_counter() - started


def replay_files(store: Store, rulebook: Rulebook, analyzer: Analyzer, report: Report,
                 given: Iterable[tuple[str, Message]], live: Callable[[], Rulebook], now: datetime) -> None:
    """Messages given in files: against their stored verdict when stored, else against the live rules
    (``live()`` builds them, once, when first needed) evaluated at ``now``."""
    started = time.perf_counter()
    replayer = Replayer(rulebook, analyzer, report)
    live_rulebook: Rulebook | None = None
    for origin, message in given:
        seen = messages.find(store, message.id, content_hash(message.source, message.title, message.text))
        record = messages.by_ids(store, [seen.id]).get(seen.id) if seen else None
        if record is None:
            live_rulebook = live_rulebook or live()
            decided = decision_of(live_rulebook.evaluate(analyzer, message, now)[1])
            new, _ = replayer.grade(message, now, None)
            replayer.compare(message, now, decided, new, origin=origin)
            continue
        at = from_epoch(record.received_at)
        story = story_of(incidents.by_ids(store, [record.incident_id])[0]) if record.incident_id else None
        new, _ = replayer.grade(message, at, story)
        replayer.compare(message, at, stored_decision(record.verdict), new, incident_id=record.incident_id,
                         origin=origin)
    report.seconds += time.perf_counter() - started


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON form (``yuqing replay --format json``); its keys are documented in docs/rules.md and stay."""
    def when(at: datetime | None) -> str | None:
        return local(at).isoformat() if at else None

    def decision(d: Decision) -> dict[str, Any]:
        return {"level": str(d.level), "category": d.category, "rules": sorted(d.rules)}

    return {
        "rules_version": report.version,
        "from": when(report.start), "to": when(report.end), "files": list(report.files),
        "replayed": report.replayed, "seconds": round(report.seconds, 3),
        "changed": report.changed,
        "totals": {**report.totals, "stories": len(report.stories)},
        "by_rule": {rule: {"category": c.category, "gained": c.gained, "lost": c.lost}
                    for rule, c in sorted(report.by_rule.items())},
        "by_category": {category: dict(counts) for category, counts in sorted(report.by_category.items())},
        "listed": len(report.differences), "limit": report.limit,
        "differences": [{
            "kind": d.kind, "message": d.message_id, "source": d.source, "at": when(d.at),
            "incident": d.incident_id, "origin": d.origin, "live": decision(d.live), "new": decision(d.new),
            "excerpt": d.excerpt} for d in report.differences],
        "stories": [{"kind": s.kind, "incident": s.incident_id, "title": s.title, "category": s.category,
                     "live": str(s.live), "new": str(s.new)} for s in report.stories],
    }
