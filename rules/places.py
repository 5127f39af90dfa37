"""Where a message places its story: in the county, next door, or only elsewhere.

The county names its own places in config.yaml (``places: {local: [...], neighbours: [...]}``:
towns, villages, 街道, 小区, and the neighbouring counties); the places outside the county are the
built-in gazetteer ``rules/data/places.txt`` (every province and prefecture-level city of China, full
names and safe short forms). A message is

- ``local`` when it names any local place (its ``region`` counts too: a grid report from 石桥镇), or
  speaks of the writer's own place (本县, 我们村),
- else ``neighbour`` when it names a neighbouring one,
- else ``elsewhere`` when it names a place of the gazetteer,
- else ``unknown``.

A gazetteer line that shares a name with the county's own list is left out, so a county that puts its
province and city among its neighbours never has its own stories placed elsewhere. A short form
(河南, 北京) does not count inside a street, dish, dialect or origin (北京路, 湖南菜, 河南话, 河南籍,
四川人), nor a full name ending in 市 before 场 (吉林市场).

Only looked at for a message some rule's condition held for: ordinary messages never pay for it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources

import ahocorasick

from rules.model import Message, Place
from rules.text import clean

_GAZETTEER = "data/places.txt"
# What may follow a short form without it naming where the story happens.
_NOT_A_PLACE_AFTER = re.compile(r"路|街|大道|巷|胡同|时间|籍|人|话|口音|菜|味|风味|卫视|大学|银行|队|老乡|商会|牌")


# Words by which a writer places a story where they live: as local as a name.
HERE = ("本县", "我县", "我们县", "咱县", "咱们县", "全县", "本镇", "我镇", "我们镇", "本乡", "我乡", "本村", "我村",
        "我们村", "咱村", "咱们村")
_NEARNESS = (Place.UNKNOWN, Place.ELSEWHERE, Place.NEIGHBOUR, Place.LOCAL)


@dataclass(frozen=True)
class Found:
    """The place a message is given, and the names that gave it (in order of first mention)."""

    place: Place
    names: tuple[str, ...] = ()

    def describe(self) -> str:
        """``elsewhere (河南省, 郑州)``, ``local (石桥镇)``, ``unknown``."""
        return f"{self.place} ({', '.join(self.names)})" if self.names else str(self.place)


@functools.cache
def gazetteer() -> tuple[tuple[str, ...], ...]:
    """The built-in places outside any county: one tuple of names per place, the full name first."""
    text = resources.files("rules").joinpath(_GAZETTEER).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].split() for line in text.splitlines())
    return tuple(tuple(names) for names in lines if names)


@dataclass(frozen=True)
class Places:
    """The county's own place names and its neighbours'; the rest of China from the gazetteer."""

    local: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()
    _automaton: ahocorasick.Automaton = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        own = {clean(name): place for place, names in ((Place.NEIGHBOUR, self.neighbours), (Place.LOCAL, self.local))
               for name in names if clean(name)}
        kinds: dict[str, tuple[Place, bool]] = {}  # name → (place, is a short form)
        for names in gazetteer():
            # The county's own province or city: all its names are the county's (河南 for 河南省).
            mine = [place for name in names for key, place in own.items()
                    if len(key) > 1 and (key in name or name in key)]
            for position, name in enumerate(names):
                kinds.setdefault(clean(name), (max(mine, key=_NEARNESS.index) if mine else Place.ELSEWHERE,
                                               position > 0))
        for key, place in (*((here, Place.LOCAL) for here in HERE), *own.items()):
            kinds[key] = (place, False)
        automaton = ahocorasick.Automaton()
        for key, (place, short) in kinds.items():
            automaton.add_word(key, (key, place, short))
        automaton.make_automaton()
        object.__setattr__(self, "_automaton", automaton)

    @property
    def configured(self) -> bool:
        """Whether the county named its own places: without them nothing is lowered."""
        return bool(self.local)

    def find(self, message: Message) -> Found:
        """Where ``message`` (its title, text and region) places its story."""
        return self.find_in(clean(message.body), message.region)

    def find_in(self, text: str, region: str | None = None) -> Found:
        """``find`` for a body already cleaned (``rules.text.clean``) and the message's region."""
        if region:
            text = f"{text}\n{clean(region)}"
        named: dict[Place, dict[str, None]] = {}
        for end, (key, place, short) in self._automaton.iter_long(text):
            after = text[end + 1:end + 4]
            if (short and _NOT_A_PLACE_AFTER.match(after)) or (key.endswith("市") and after.startswith("场")):
                continue
            named.setdefault(place, {})[key] = None
        for place in (Place.LOCAL, Place.NEIGHBOUR, Place.ELSEWHERE):
            if place in named:
                return Found(place, tuple(named[place]))
        return Found(Place.UNKNOWN)
