"""Which story (舆情事件) a message belongs to: near-duplicate text or shared distinctive terms.

Two signals, both cheap to index so that joining a message never scans the store:
- near-duplicates: MinHash over character 3-gram shingles with LSH banding. Character shingles need no
  segmentation, and *containment* (shared / smaller set) instead of Jaccard lets a repost that adds its
  own commentary (``转发理由 //@原博: 原文``) still match the original.
- distinctive terms: the rule keywords the message hit (the event: 爆炸, 聚集 …) together with the places
  it names (河湾村, 城东街道 …). Sharing a place alone is not enough: two stories about the same village
  must stay apart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

K = TypeVar("K")
SHINGLE = 3
PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
NEAR_DUPLICATE = 0.6  # containment of shingles
MIN_SHARED_EVENT_TERMS = 2
_PRIME = (1 << 61) - 1

# Fixed coefficients: fingerprints must be comparable across restarts.
_COEFFS = [
    (int.from_bytes(hashlib.blake2b(f"a{i}".encode(), digest_size=8).digest(), "big") % _PRIME | 1,
     int.from_bytes(hashlib.blake2b(f"b{i}".encode(), digest_size=8).digest(), "big") % _PRIME)
    for i in range(PERMUTATIONS)
]
# Repost boilerplate, links and mentions say nothing about the story.
_NOISE = re.compile(r"https?://\S+|@[\w\-\u4e00-\u9fff]{1,30}|//|转发微博|转发|回复|#|\s+|[^\w\u4e00-\u9fff]")


def shingles(text: str) -> frozenset[int]:
    clean = _NOISE.sub("", text.lower())
    if len(clean) < SHINGLE:
        return frozenset({_hash(clean)}) if clean else frozenset()
    return frozenset(_hash(clean[i:i + SHINGLE]) for i in range(len(clean) - SHINGLE + 1))


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def minhash(items: frozenset[int]) -> tuple[int, ...]:
    if not items:
        return (0,) * PERMUTATIONS
    return tuple(min((a * x + b) % _PRIME for x in items) for a, b in _COEFFS)


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


@dataclass(frozen=True)
class Fingerprint:
    shingles: frozenset[int]
    signature: tuple[int, ...]
    events: frozenset[str]  # rule keywords hit
    places: frozenset[str]

    @classmethod
    def of(cls, text: str, events: Iterable[str] = (), places: Iterable[str] = ()) -> Fingerprint:
        grams = shingles(text)
        return cls(grams, minhash(grams), frozenset(events), frozenset(places))

    def bands(self) -> list[tuple[int, int]]:
        return [(band, hash(self.signature[band * ROWS:(band + 1) * ROWS])) for band in range(BANDS)]


def same_story(a: Fingerprint, b: Fingerprint) -> str | None:
    """Why ``a`` and ``b`` are about the same story, or None."""
    if containment(a.shingles, b.shingles) >= NEAR_DUPLICATE:
        return "near-duplicate"
    shared = a.events & b.events
    # A message with a single event term can share at most that one; otherwise two are needed.
    needed = max(1, min(MIN_SHARED_EVENT_TERMS, len(a.events), len(b.events)))
    if a.places & b.places and len(shared) >= needed:
        return "shared place and event terms"
    return None


@dataclass
class ClusterIndex:
    """Open incidents' fingerprints, indexed by LSH band and by place. Kept in memory and rebuilt from the
    store at start-up; bounded by ``per_incident`` fingerprints for each incident."""

    per_incident: int = 8
    _members: dict[str, list[Fingerprint]] = field(default_factory=dict)
    _bands: dict[tuple[int, int], set[str]] = field(default_factory=dict)
    _places: dict[str, set[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._members)

    def add(self, incident_id: str, fingerprint: Fingerprint) -> None:
        members = self._members.setdefault(incident_id, [])
        if len(members) >= self.per_incident:
            return  # the first messages of a story describe it best; later ones are mostly reposts
        members.append(fingerprint)
        for key in fingerprint.bands():
            self._bands.setdefault(key, set()).add(incident_id)
        for place in fingerprint.places:
            self._places.setdefault(place, set()).add(incident_id)

    def remove(self, incident_id: str) -> None:
        for fingerprint in self._members.pop(incident_id, []):
            for key in fingerprint.bands():
                _discard(self._bands, key, incident_id)
            for place in fingerprint.places:
                _discard(self._places, place, incident_id)

    def find(self, fingerprint: Fingerprint) -> tuple[str, str] | None:
        """The incident ``fingerprint`` belongs to, with the reason; near-duplicates win over terms."""
        candidates: set[str] = set()
        for key in fingerprint.bands():
            candidates |= self._bands.get(key, set())
        for place in fingerprint.places:
            candidates |= self._places.get(place, set())
        best: tuple[int, str, str] | None = None
        for incident_id in sorted(candidates):
            for member in self._members.get(incident_id, ()):
                reason = same_story(fingerprint, member)
                if reason is not None:
                    rank = 0 if reason == "near-duplicate" else 1
                    if best is None or rank < best[0]:
                        best = (rank, incident_id, reason)
                    break
        return None if best is None else (best[1], best[2])


def _discard(index: dict[K, set[str]], key: K, incident_id: str) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(incident_id)
        if not ids:
            del index[key]
