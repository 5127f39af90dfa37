"""Typed values of the decision layer. Imports nothing from the project.

``Message`` → ``Analysis`` → (with ``Spread`` and active periods) → ``Verdict``.
The rule model (``Rule``, ``Condition`` …) is separate from YAML parsing (``rules.loader``).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple


class Level(enum.IntEnum):
    """预警等级. Ordered so that ``max()`` picks the most severe."""

    NONE = 0
    BLUE = 1
    YELLOW = 2
    RED = 3

    @classmethod
    def parse(cls, text: str) -> Level:
        return cls[text.strip().upper()]

    @property
    def label(self) -> str:
        return {Level.NONE: "无", Level.BLUE: "蓝色", Level.YELLOW: "黄色", Level.RED: "红色"}[self]

    def raised(self, steps: int) -> Level:
        """One step up per ``steps``, capped at red; NONE never rises (nothing matched)."""
        if self is Level.NONE or steps <= 0:
            return self
        return Level(min(int(Level.RED), int(self) + steps))

    def __str__(self) -> str:
        return self.name.lower()


SOURCES: tuple[str, ...] = (
    "weibo", "douyin", "kuaishou", "wechat", "toutiao", "bilibili", "zhihu", "tieba",
    "forum", "news", "board", "complaint", "hotline", "grid", "overseas", "other",
)


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class Author:
    name: str | None = None
    id: str | None = None
    followers: int | None = None
    verified: bool | None = None


@dataclass(frozen=True)
class Metrics:
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    views: int = 0


@dataclass(frozen=True)
class Message:
    """舆情信息: one inbound post, article or complaint (DESIGN's inbound format)."""

    id: str
    source: str
    text: str
    title: str = ""
    url: str | None = None
    author: Author | None = None
    published_at: datetime | None = None  # always timezone-aware
    region: str | None = None
    metrics: Metrics = field(default_factory=Metrics)

    @property
    def body(self) -> str:
        """Title and text together: what the rules read."""
        return f"{self.title}\n{self.text}" if self.title else self.text


def content_hash(source: str, title: str, text: str) -> str:
    """Stable id for messages that arrive without one."""
    digest = hashlib.sha256(f"{source}\x00{title}\x00{text}".encode()).hexdigest()
    return f"sha256-{digest[:32]}"


# ---------------------------------------------------------------- analysis


class KeywordHit(NamedTuple):
    """A rule keyword found as a whole word, with character offsets into ``Message.body``.

    A named tuple rather than a frozen dataclass: a message has a dozen of them, and a tuple is made
    several times faster (it is just as immutable)."""

    word: str
    positions: tuple[int, ...]


@dataclass(frozen=True)
class Analysis:
    message: Message
    hits: tuple[KeywordHit, ...] = ()
    spelled: tuple[tuple[str, str], ...] = ()  # (keyword, how the text wrote it) for pinyin spellings
    words: frozenset[str] = field(init=False, repr=False, compare=False)  # the hit keywords

    def __post_init__(self) -> None:
        # Set once here: a functools.cached_property takes a lock on first use, which cost more than this.
        object.__setattr__(self, "words", frozenset(h.word for h in self.hits))


@dataclass(frozen=True)
class Spread:
    """扩散 of the story a message belongs to. A lone message is one platform, one author."""

    messages: int = 1
    platforms: int = 1
    authors: int = 1
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    views: int = 0
    max_followers: int = 0
    growth: float = 0.0  # messages per hour

    @classmethod
    def of_message(cls, message: Message) -> Spread:
        m = message.metrics
        followers = message.author.followers if message.author and message.author.followers else 0
        if not (m.reposts or m.comments or m.likes or m.views or followers):
            return _LONE  # most messages: immutable, so one instance serves them all
        return cls(reposts=m.reposts, comments=m.comments, likes=m.likes, views=m.views,
                   max_followers=followers)


_LONE = Spread()


@dataclass(frozen=True)
class ActivePeriod:
    """A sensitive period (敏感时期) in force at evaluation time."""

    name: str
    raise_by: int


# ---------------------------------------------------------------- rule model


@dataclass(frozen=True)
class Location:
    path: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


SPREAD_FIELDS: tuple[str, ...] = (
    "messages", "platforms", "authors", "reposts", "comments", "likes", "views", "max_followers", "growth",
)
COMPARATORS: tuple[str, ...] = (">=", "<=", "==", "!=", ">", "<")


@dataclass(frozen=True)
class Comparison:
    """``reposts: ">= 100"`` → Comparison("reposts", ">=", 100)."""

    field: str
    op: str
    value: float

    def holds(self, actual: float) -> bool:
        return {
            ">=": actual >= self.value, "<=": actual <= self.value, "==": actual == self.value,
            "!=": actual != self.value, ">": actual > self.value, "<": actual < self.value,
        }[self.op]

    def __str__(self) -> str:
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.field} {self.op} {value}"


@dataclass(frozen=True)
class Term:
    """One entry of ``all``/``any``/``none``: a named keyword set or a literal word.

    A term is present when any of its ``words`` occurs as a whole word.
    """

    name: str
    words: frozenset[str]
    is_set: bool


@dataclass(frozen=True)
class Near:
    """``near: [[拆迁, 打人, 10]]``: both terms occur with at most ``within`` characters between them."""

    left: Term
    right: Term
    within: int

    def __str__(self) -> str:
        return f"{self.left.name} ~{self.within}~ {self.right.name}"


@dataclass(frozen=True)
class Condition:
    all: tuple[Term, ...] = ()
    any: tuple[Term, ...] = ()
    none: tuple[Term, ...] = ()
    sources: frozenset[str] = frozenset()  # empty: any source
    spread: tuple[Comparison, ...] = ()
    near: tuple[Near, ...] = ()  # every pair must hold
    regex: tuple[str, ...] = ()  # RE2 patterns; at least one must match the message body
    accounts: frozenset[str] = frozenset()  # author ids or names; empty: any author
    regions: frozenset[str] = frozenset()  # the message region is or contains one of them
    min_followers: int | None = None  # the message author's followers
    verified: bool | None = None  # None: either
    period: frozenset[str] | None = None  # None: no condition; empty: any sensitive period; else one of these
    place: str | None = None  # "local": the message names a local or neighbouring place (rules.places)

    @property
    def near_terms(self) -> tuple[Term, ...]:
        return tuple(t for n in self.near for t in (n.left, n.right))

    @property
    def terms(self) -> tuple[Term, ...]:
        """Every keyword term of the condition, ``near`` pairs included."""
        return (*self.all, *self.any, *self.none, *(t for n in self.near for t in (n.left, n.right)))


@dataclass(frozen=True)
class RuleTest:
    """A sample message in a rule file with the level (and category) it must get."""

    message: Message
    expect: Level
    location: Location
    expect_category: str | None = None
    at: datetime | None = None  # evaluation time, for period tests
    expect_rule: str | None = None  # file-level tests: this rule id must be among the matches


NEGATION_MODES: tuple[str, ...] = ("skip", "count")  # negated keyword occurrences: ignored, or counted
GENRE_MODES: tuple[str, ...] = ("skip", "any")  # reviews, fiction, games and history: not fired on, or fired on


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    level: Level
    when: Condition
    location: Location
    category: str = ""
    raise_in_period: bool = False
    notify: tuple[str, ...] = ()
    enabled: bool = True
    expires: date | None = None
    tests: tuple[RuleTest, ...] = ()
    notify_at: tuple[Location, ...] = ()  # where each ``notify`` team is written (for check_teams)
    negation: str = "skip"  # one of NEGATION_MODES
    genres: str = "skip"  # one of GENRE_MODES


@dataclass(frozen=True)
class RuleSet:
    """Every rule of the rules folder, validated. Swapped in whole on reload."""

    rules: tuple[Rule, ...]
    keyword_sets: dict[str, frozenset[str]] = field(default_factory=dict)
    version: str = ""  # content digest of the files it was built from
    tests: tuple[RuleTest, ...] = ()  # file-level tests, run against the whole set
    pinyin_sets: frozenset[str] = frozenset()  # keyword sets marked `pinyin: true`

    @property
    def words(self) -> frozenset[str]:
        """Every word any rule can look for: the analyzer adds them to jieba's dictionary."""
        found: set[str] = set()
        for rule in self.rules:
            for term in rule.when.terms:
                found |= term.words
        return frozenset(found)

    @property
    def pinyin_words(self) -> frozenset[str]:
        """The words rules look for that are also looked for in pinyin (拆qian for 拆迁)."""
        marked = frozenset().union(*(self.keyword_sets.get(name, frozenset()) for name in self.pinyin_sets))
        return marked & self.words


# ---------------------------------------------------------------- verdict


@dataclass(frozen=True)
class RuleMatch:
    rule_id: str
    title: str
    category: str
    base_level: Level
    level: Level  # after a sensitive-period raise
    notify: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class Suppression:
    """A rule whose condition held but that does not count: its keywords were negated (没有地沟油), the
    text is a review, fiction, a game or history, or the story is placed elsewhere."""

    rule_id: str
    reason: str  # "negated: 没有 地沟油", "genre: review", "place: elsewhere (河南省)"


class Place(enum.Enum):
    """Where a message places its story, as far as the ``places`` gazetteer can tell."""

    LOCAL = "local"  # names a town, village … of the county
    NEIGHBOUR = "neighbour"  # names a neighbouring county (and nothing of the county)
    ELSEWHERE = "elsewhere"  # names only places outside the county
    UNKNOWN = "unknown"  # names no place known

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Verdict:
    """What the rules decided for one message (or incident) at one time."""

    level: Level
    matches: tuple[RuleMatch, ...] = ()
    period: str | None = None
    reasons: tuple[str, ...] = ()
    suppressed: tuple[Suppression, ...] = ()
    place: Place | None = None  # looked for only when some rule's condition held

    @property
    def top(self) -> RuleMatch | None:
        """The match that set the level (first in rule order among the highest)."""
        best = [m for m in self.matches if m.level == self.level]
        return best[0] if best else None

    @property
    def teams(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for m in self.matches:
            for team in m.notify:
                seen.setdefault(team, None)
        return tuple(seen)
