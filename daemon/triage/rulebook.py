"""The rules in force: rule set, compiled engine and period calendar, built together and swapped whole.

A rulebook is built off to the side and only replaces the running one when it loaded without errors,
so no message is ever evaluated against a half-loaded set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from daemon.config import Config
from rules.engine import Engine
from rules.errors import Problem
from rules.loader import load_rules
from rules.model import Analysis, Message, RuleSet, Spread, Verdict
from rules.periods import Calendar, load_periods
from rules.text import Analyzer, Keywords


@dataclass
class Rulebook:
    ruleset: RuleSet
    engine: Engine
    calendar: Calendar
    warnings: list[Problem] = field(default_factory=list)
    keywords: Keywords | None = None  # this set's keywords: evaluation never mixes two sets' words

    @property
    def version(self) -> str:
        return self.ruleset.version

    def evaluate(self, analyzer: Analyzer, message: Message, at: datetime,
                 spread: Spread | None = None) -> tuple[Analysis, Verdict]:
        analysis = analyzer.analyze(message, self.keywords)
        verdict = self.engine.evaluate(analysis, spread or Spread.of_message(message),
                                       self.calendar.active(at), at)
        return analysis, verdict

    def grade(self, analysis: Analysis, spread: Spread, at: datetime) -> Verdict:
        """An already analysed message with its story's spread: how the story now grades."""
        return self.engine.evaluate(analysis, spread, self.calendar.active(at), at)

    def close(self) -> None:
        self.engine.close()


def build_rulebook(config: Config, analyzer: Analyzer, *, activate: bool = True) -> Rulebook:
    """Load rules and periods, compile, and teach the analyzer the new words. Raises ConfigError.

    ``activate=False`` builds off to the side: the analyzer's words in use stay as they are (the
    rulebook carries its own), so a rule set that is then rejected changes nothing.
    """
    ruleset, warnings = load_rules(config.rules_dir)
    calendar = load_periods(config.periods)
    keywords = analyzer.prepare(ruleset.words, ruleset.pinyin_words)
    engine = Engine(ruleset, config.places)
    if activate:
        analyzer.use(keywords)
    return Rulebook(ruleset, engine, calendar, warnings, keywords)


def new_analyzer(config: Config) -> Analyzer:
    config.cache_dir.mkdir(parents=True, exist_ok=True)
    dictionary: Path | None = config.dictionary
    analyzer = Analyzer(dictionary=dictionary, cache_dir=config.cache_dir)
    analyzer.initialize()
    return analyzer
