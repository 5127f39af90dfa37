"""The second look at a rule whose condition held: negated keywords, genre and place.

The engine finds the rules whose condition holds; before one counts, it is screened here:

1. ``negation: skip`` (the default): its keywords' negated occurrences (没有地沟油, ``rules.negation``)
   do not count; when the condition no longer holds without them, the rule is suppressed.
2. ``genres: skip`` (the default): the rule is suppressed on a review, fiction, a game or history
   (``rules.genre``).
3. ``when: {place: local}``: the rule is suppressed unless the message names a local or neighbouring
   place (``rules.places``).
4. Once the county has named its places: a message that names only places outside the county is
   lowered one level, but not below blue (it stays in the digest, never pages anyone).

Each of these runs only for messages some rule's condition held for, and each at most once per message:
ordinary messages, which no rule fires on, never pay for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rules.evaluate import matches
from rules.genre import genre_in
from rules.model import ActivePeriod, Analysis, Level, Place, Rule, Spread
from rules.negation import Negations, without_negated
from rules.places import Found, Places
from rules.text import compact, normalize

NEARBY = (Place.LOCAL, Place.NEIGHBOUR)


@dataclass(frozen=True)
class Judgement:
    """A screened rule: the level it now has, why it was suppressed (when it was), and notes."""

    level: Level
    suppressed: str | None = None  # "negated: 没有 地沟油", "genre: review", "place: elsewhere (河南省)"
    notes: tuple[str, ...] = ()


@dataclass
class Screen:
    """The screening of one message; genre and place are looked at once, when first needed."""

    analysis: Analysis
    spread: Spread
    periods: Sequence[ActivePeriod]
    places: Places
    _normalized: str | None = field(default=None, init=False)
    _text: str | None = field(default=None, init=False)
    _genre: tuple[str | None] | None = field(default=None, init=False)
    _found: Found | None = field(default=None, init=False)
    _negations: Negations | None = field(default=None, init=False)

    @property
    def normalized(self) -> str:
        """The body normalised once (``rules.text.normalize``: same offsets) for negation, genre and place."""
        if self._normalized is None:
            self._normalized = normalize(self.analysis.message.body)
        return self._normalized

    @property
    def text(self) -> str:
        """The body as the analysis reads it (``rules.text.clean``), for genre and place."""
        if self._text is None:
            self._text = compact(self.normalized)[0]
        return self._text

    @property
    def genre(self) -> str | None:
        if self._genre is None:
            self._genre = (genre_in(self.text),)
        return self._genre[0]

    @property
    def found(self) -> Found:
        if self._found is None:
            self._found = self.places.find_in(self.text, self.analysis.message.region)
        return self._found

    def judge(self, rule: Rule, level: Level, words: frozenset[str]) -> Judgement:
        """``rule`` (whose condition held, at ``level`` after any period raise) screened; ``words`` are
        the words of its ``all``, ``any`` and ``near`` terms."""
        if rule.negation == "skip" and (negated := self._negated_words(rule, words)):
            return Judgement(Level.NONE, f"negated: {', '.join(negated)}")
        if rule.genres == "skip" and self.genre is not None:
            return Judgement(Level.NONE, f"genre: {self.genre}")
        if rule.when.place is not None and self.found.place not in NEARBY:
            return Judgement(Level.NONE, f"place: {self.found.describe()} (the rule needs a local place)")
        if self.places.configured and self.found.place is Place.ELSEWHERE:
            # Lowered, never below blue: a story elsewhere in a watched risk area still reaches the daily
            # digest (stories cross county lines: the same employer, the same product, copycat gatherings),
            # it only never pages anyone at night.
            if level <= Level.BLUE:
                return Judgement(level, notes=(f"place: {self.found.describe()}: {level} stays {level}",))
            lowered = Level(int(level) - 1)
            return Judgement(lowered, notes=(f"place: {self.found.describe()}: {level} → {lowered}",))
        return Judgement(level)

    def _negated_words(self, rule: Rule, wanted: frozenset[str]) -> list[str]:
        """The negated occurrences ("没有 地沟油") of the rule's keywords, when without them the rule's
        condition no longer holds; else nothing."""
        if self._negations is None:
            self._negations = Negations(self.analysis, self.normalized)
        if not self._negations.possible():
            return []
        kept, negated = without_negated(self.analysis, wanted, self._negations)
        if not negated or matches(rule, kept, self.spread, self.periods):
            return []
        return negated

