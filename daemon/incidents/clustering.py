"""Which story (舆情事件) a message belongs to: near-duplicate text or shared distinctive terms.

Two signals, both cheap to index so that joining a message never scans the store:
- near-duplicates: MinHash over character 3-gram shingles with LSH banding. Character shingles need no
  segmentation, and *containment* (shared / smaller set) instead of Jaccard lets a repost that adds its
  own commentary (``转发理由 //@原博: 原文``) still match the original.
- distinctive terms: the rule keywords the message hit (the event: 强拆, 燃气 泄漏 …) together with a
  place it names below the county (河湾村, 城东街道 …). Keywords are weighed by how rare they are in
  general Chinese (jieba's dictionary frequencies): 强拆 alone tells a story, 村民 or 学生 do not.
- a veto: two messages that each name a site (a village, an estate, a hospital) but no common one are
  about different places, however alike their wording (news accounts write every gas leak the same way).

Measured on tests/daemon/data/clusters.jsonl; see docs/incidents.md "How clustering is evaluated".
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import marshal
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import ahocorasick  # type: ignore[import-not-found,unused-ignore]  # no stubs
import structlog

log = structlog.get_logger(__name__)

K = TypeVar("K")
SHINGLE = 3
PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
NEAR_DUPLICATE = 0.6  # containment of shingles
EVENT_WEIGHT = 14.0  # summed rarity of the shared keywords: one rare word (强拆 15.8) or two common ones
POSTINGS = 16  # incidents remembered per index key, most recently active last: bounds the cost of find
_VALUE_BITS = 58  # a shingle hash: low 6 bits pick the MinHash bin, the rest is the value
_EMPTY = 1 << 64

# Mentions name the reposter, not the story: @滨江花园业主 is no report about 滨江花园.
_MENTION = re.compile(r"@[\w\-\u4e00-\u9fff]{1,30}")
# Repost boilerplate, links and punctuation say nothing about the story either.
_NOISE = re.compile(r"https?://\S+|//|转发微博|转发|回复|#|\s+|[^\w\u4e00-\u9fff]")

COUNTY, AREA, SITE = 0, 1, 2  # place levels: the county itself, a township or zone, one site in it
_COUNTY_SUFFIXES = ("县", "市", "省", "州")
_AREA_SUFFIXES = ("镇", "乡", "街道", "开发区", "经开区", "新区", "园区", "工业园", "产业园", "河", "江", "山", "湖")


def clean(text: str) -> str:
    """``text`` without mentions, links, repost boilerplate and punctuation, lower-cased."""
    return _NOISE.sub("", _MENTION.sub("", text.lower()))


def shingles(text: str) -> frozenset[int]:
    body = clean(text)
    if len(body) < SHINGLE:
        return frozenset({_hash(body)}) if body else frozenset()
    return frozenset(_hash(body[i:i + SHINGLE]) for i in range(len(body) - SHINGLE + 1))


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def minhash(items: frozenset[int]) -> tuple[int, ...]:
    """One-permutation MinHash: each shingle hash lands in one of PERMUTATIONS bins and each bin keeps
    its minimum; one pass instead of 64 (pure Python, so this is what keeps indexing cheap). An empty
    bin borrows from the next filled one to its right, offset by the distance, so that two sets agree
    on a bin about as often as their Jaccard similarity."""
    if not items:
        return (0,) * PERMUTATIONS
    bins = [_EMPTY] * PERMUTATIONS
    for item in items:
        slot = item & (PERMUTATIONS - 1)
        value = item >> 6
        if value < bins[slot]:
            bins[slot] = value
    if _EMPTY not in bins:
        return tuple(bins)
    filled = [value for value in bins if value != _EMPTY]
    assert filled  # items is not empty
    out = []
    for slot, value in enumerate(bins):
        distance = 0
        while value == _EMPTY:
            distance += 1
            value = bins[(slot + distance) % PERMUTATIONS]
        out.append(value + (distance << _VALUE_BITS))
    return tuple(out)


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


FREQUENCIES_CACHE = "jieba-frequencies.marshal"
_frequency_table: tuple[dict[str, int], int] | None = None
_frequency_lock = threading.Lock()


def load_frequencies(cache_dir: Path | None = None) -> tuple[dict[str, int], int]:
    """jieba's own dictionary (word frequency a line), read once per process without initialising a
    tokenizer. Parsing its 350,000 lines takes a third of a second; with ``cache_dir`` a marshal copy is
    kept there (remade when jieba's file changes) and read in a third of that."""
    global _frequency_table
    with _frequency_lock:
        if _frequency_table is None:
            source = _jieba_dictionary()
            _frequency_table = _read_cached(source, cache_dir) if cache_dir else _parse_frequencies(source)
        return _frequency_table


def _jieba_dictionary() -> Path:
    """jieba's dict.txt, found without importing jieba (the rjieba backend never needs it)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise RuntimeError("jieba is not installed")
    return Path(spec.origin).with_name("dict.txt")


def _parse_frequencies(source: Path) -> tuple[dict[str, int], int]:
    counts: dict[str, int] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts, sum(counts.values())


def _read_cached(source: Path, cache_dir: Path) -> tuple[dict[str, int], int]:
    stat = source.stat()
    stamp = (str(source), stat.st_size, stat.st_mtime_ns)
    cache = cache_dir / FREQUENCIES_CACHE
    try:
        kept_stamp, counts, total = marshal.loads(cache.read_bytes())
        if tuple(kept_stamp) == stamp and isinstance(counts, dict) and isinstance(total, int):
            return counts, total
    except (OSError, ValueError, EOFError, TypeError):
        pass  # missing, stale or damaged: parse again
    counts, total = _parse_frequencies(source)
    try:
        partial = cache.with_name(f".{cache.name}.{os.getpid()}")
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(marshal.dumps((stamp, counts, total)))
        os.replace(partial, cache)
    except OSError as exc:  # a cache we cannot write only costs time; a half-written one would cost space
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        log.warning("clustering.frequency_cache_unwritable", path=str(cache), error=str(exc))
    return counts, total


@functools.cache
def term_weight(word: str) -> float:
    """How distinctive ``word`` is: log inverse frequency in general Chinese (村民 10.8, 强拆 15.8)."""
    counts, total = load_frequencies()
    return math.log(total / (counts.get(word, 0) + 1))


@dataclass(frozen=True)
class Fingerprint:
    shingles: frozenset[int]
    signature: tuple[int, ...]
    events: frozenset[str]  # rule keywords hit, outside mentions and place names
    places: frozenset[str]  # places below the county level
    sites: frozenset[str] = frozenset()  # the finest places: villages, estates, institutions
    # What the events are about, with how distinctive each is: the rule keyword sets they belong to
    # (强拆 and 拆迁户 are both 拆迁), a word of no set standing for itself.
    topics: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, text: str, events: Iterable[str] = (), places: Iterable[str] = (),
           sites: Iterable[str] = (), keyword_sets: Mapping[str, Iterable[str]] | None = None) -> Fingerprint:
        """``keyword_sets`` maps a keyword to the names of the rule keyword sets it is in."""
        body = clean(text)
        where = frozenset(p for p in places if p in body)
        # 卫生院 inside 桃源镇卫生院 is the place again, not an event.
        what = frozenset(e for e in events if e in body and not any(e in p for p in where))
        weights: dict[str, float] = {}
        for word in what:
            for topic in (keyword_sets or {}).get(word) or (word,):
                weights[topic] = max(weights.get(topic, 0.0), term_weight(word))
        grams = shingles(text)
        return cls(grams, minhash(grams), what, where, frozenset(s for s in sites if s in where),
                   tuple(sorted(weights.items())))

    def bands(self) -> list[tuple[int, int]]:
        return [(band, hash(self.signature[band * ROWS:(band + 1) * ROWS])) for band in range(BANDS)]

    def terms(self) -> list[tuple[str, str]]:
        """Index keys of the term signal: every (place, topic) pair."""
        return [(place, topic) for place in self.places for topic, _weight in self.topics]


def similarity(a: Fingerprint, b: Fingerprint) -> tuple[float, str] | None:
    """How strongly ``a`` and ``b`` are about the same story (higher is stronger) and why, or None."""
    if a.sites and b.sites and not a.sites & b.sites:
        return None  # two different sites: 滨江花园 and 锦绣华庭 each had a gas leak
    overlap = containment(a.shingles, b.shingles)
    if overlap >= NEAR_DUPLICATE:
        return 1.0 + overlap, "near-duplicate"
    if not a.places & b.places:
        return None
    theirs = dict(b.topics)
    weight = sum(min(w, theirs[topic]) for topic, w in a.topics if topic in theirs)
    if weight >= EVENT_WEIGHT:
        return weight / (weight + EVENT_WEIGHT) + overlap / 2, "shared place and event terms"
    return None


def same_story(a: Fingerprint, b: Fingerprint) -> str | None:
    """Why ``a`` and ``b`` are about the same story, or None."""
    found = similarity(a, b)
    return None if found is None else found[1]


class Gazetteer:
    """Place names (地名 ``ns``, institutions ``nt``) of the county's jieba user dictionary, found in text
    with an Aho-Corasick automaton. Overlapping names resolve to the longest: 青岚县人民医院 is one place,
    not 青岚县 as well."""

    TAGS = frozenset({"ns", "nt"})

    def __init__(self, names: Iterable[str], institutions: Iterable[str] = ()) -> None:
        sites = frozenset(institutions)
        self.names = frozenset(name for name in (*names, *sites) if name)
        counties = {name for name in self.names if name.endswith(_COUNTY_SUFFIXES) and name not in sites}
        self.levels: dict[str, int] = {}
        for name in self.names:
            if name in counties or any(c.startswith(name) for c in counties):
                self.levels[name] = COUNTY  # 青岚 is short for 青岚县
            elif name not in sites and name.endswith(_AREA_SUFFIXES):
                self.levels[name] = AREA
            else:
                self.levels[name] = SITE
        self._automaton: ahocorasick.Automaton | None = None
        if self.names:
            automaton = ahocorasick.Automaton()
            for name in self.names:
                automaton.add_word(name, name)
            automaton.make_automaton()
            self._automaton = automaton

    @classmethod
    def from_dictionary(cls, path: Path) -> Gazetteer:
        """Read a jieba user dictionary (``word [freq] [tag]`` a line) and keep the ns and nt words."""
        names: list[str] = []
        institutions: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[-1] in cls.TAGS:
                (institutions if parts[-1] == "nt" else names).append(parts[0])
        return cls(names, institutions)

    def find(self, text: str) -> frozenset[str]:
        """The places ``text`` names; of overlapping matches the longest wins (then the leftmost)."""
        if self._automaton is None:
            return frozenset()
        spans = sorted(((end - len(name) + 1, end + 1, name) for end, name in self._automaton.iter(text)),
                       key=lambda span: (span[0] - span[1], span[0]))
        taken: list[tuple[int, int]] = []
        found: set[str] = set()
        for start, stop, name in spans:
            if all(stop <= s or start >= e for s, e in taken):
                taken.append((start, stop))
                found.add(name)
        return frozenset(found)



class Fingerprinter:
    """Fingerprints with the county's places and the rule keyword sets: what the daemon uses."""

    def __init__(self, gazetteer: Gazetteer, keyword_sets: Mapping[str, Iterable[str]] | None = None,
                 cache_dir: Path | None = None) -> None:
        self.gazetteer = gazetteer
        sets: dict[str, list[str]] = {}
        for name, words in (keyword_sets or {}).items():
            for word in words:
                sets.setdefault(word, []).append(name)
        self._sets = {word: tuple(names) for word, names in sets.items()}
        # jieba's 350,000 word frequencies (seconds to read) are read now, at start-up: the first file after
        # a restart is not held for them, and a daemon killed soon after each start never dies on that file.
        load_frequencies(cache_dir)

    def of(self, text: str, events: Iterable[str] = ()) -> Fingerprint:
        """The fingerprint of ``text`` that hit the rule keywords ``events`` (``Analysis.words``)."""
        places = self.gazetteer.find(_MENTION.sub("", text))
        levels = self.gazetteer.levels
        return Fingerprint.of(text, events, (p for p in places if levels[p] > COUNTY),
                              (p for p in places if levels[p] == SITE), self._sets)


@dataclass
class ClusterIndex:
    """Open incidents' fingerprints, indexed by LSH band and by (place, event). Kept in memory and
    rebuilt from the store at start-up; bounded by ``per_incident`` fingerprints for each incident and
    by POSTINGS incidents for each index key, so that finding costs the same at any size."""

    per_incident: int = 8
    _members: dict[str, list[Fingerprint]] = field(default_factory=dict)
    _last: dict[str, datetime] = field(default_factory=dict)
    _bands: dict[tuple[int, int], dict[str, None]] = field(default_factory=dict)
    _terms: dict[tuple[str, str], dict[str, None]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._members)

    def add(self, incident_id: str, fingerprint: Fingerprint, at: datetime | None = None) -> None:
        """Remember ``fingerprint`` as a member of ``incident_id``, active at ``at``."""
        if at is not None:
            self._last[incident_id] = max(at, self._last.get(incident_id, at))
        members = self._members.setdefault(incident_id, [])
        if len(members) >= self.per_incident:
            return  # the first messages of a story describe it best; later ones are mostly reposts
        members.append(fingerprint)
        for key in fingerprint.bands():
            _post(self._bands, key, incident_id)
        for term in fingerprint.terms():
            _post(self._terms, term, incident_id)

    def remove(self, incident_id: str) -> None:
        self._last.pop(incident_id, None)
        for fingerprint in self._members.pop(incident_id, []):
            for key in fingerprint.bands():
                _discard(self._bands, key, incident_id)
            for term in fingerprint.terms():
                _discard(self._terms, term, incident_id)

    def expire(self, before: datetime) -> list[str]:
        """Forget the incidents last active before ``before`` (the clustering window); their ids."""
        stale = sorted(incident for incident, last in self._last.items() if last < before)
        for incident_id in stale:
            self.remove(incident_id)
        return stale

    def candidates(self, fingerprint: Fingerprint) -> set[str]:
        found: set[str] = set()
        for key in fingerprint.bands():
            found.update(self._bands.get(key, ()))
        for term in fingerprint.terms():
            found.update(self._terms.get(term, ()))
        return found

    def find(self, fingerprint: Fingerprint) -> tuple[str, str] | None:
        """The incident ``fingerprint`` is most like, with the reason, or None."""
        best: tuple[float, str, str] | None = None
        for incident_id in sorted(self.candidates(fingerprint)):
            for member in self._members.get(incident_id, ()):
                found = similarity(fingerprint, member)
                if found is not None and (best is None or found[0] > best[0]):
                    best = (found[0], incident_id, found[1])
        return None if best is None else (best[1], best[2])

    def members(self, incident_id: str) -> tuple[Fingerprint, ...]:
        return tuple(self._members.get(incident_id, ()))


def _post(index: dict[K, dict[str, None]], key: K, incident_id: str) -> None:
    ids = index.setdefault(key, {})
    ids.pop(incident_id, None)
    ids[incident_id] = None  # most recent last
    if len(ids) > POSTINGS:
        del ids[next(iter(ids))]


def _discard(index: dict[K, dict[str, None]], key: K, incident_id: str) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.pop(incident_id, None)
        if not ids:
            del index[key]
