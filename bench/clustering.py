"""Clustering at scale: per-message find+add with 1,000 and with 100,000 indexed messages.

Run with ``python -m bench.clustering [--small N] [--large N] [--probes N]``. Messages are made from
the benchmark corpus of bench/corpus.py (reviews and headlines): two texts joined, and one in three starts
with a place of examples/dict.txt so that the place-and-event index is exercised, not only the LSH
bands. Events come from the real analyzer with the example rules. The issue's target: the large index
costs at most 2x the small one per message.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from bench.corpus import load_texts
from daemon.incidents.clustering import ClusterIndex, Fingerprint, Fingerprinter, Gazetteer
from rules.loader import load_rules
from rules.model import Message
from rules.text import Analyzer

ROOT = Path(__file__).resolve().parent.parent
PLACE_SHARE = 3  # one message in three names a place
HELD_OUT = 4_000  # corpus texts kept for the probes


def messages(corpus: list[str], places: list[str], seed: int) -> Iterator[str]:
    """Endless distinct-enough messages: two random corpus texts, sometimes after a place name."""
    rng = random.Random(seed)
    while True:
        body = f"{rng.choice(corpus)}，{rng.choice(corpus)}"
        yield f"{rng.choice(places)}{body}" if rng.randrange(PLACE_SHARE) == 0 else body


def fingerprints(source: Iterator[str], count: int, analyzer: Analyzer,
                 maker: Fingerprinter) -> list[Fingerprint]:
    found = []
    for _ in range(count):
        text = next(source)
        found.append(maker.of(text, analyzer.analyze(Message("bench", "weibo", text)).words))
    return found


def build(members: list[Fingerprint]) -> ClusterIndex:
    """An index holding ``members``, each joined or opened as the daemon does."""
    index = ClusterIndex()
    for number, fingerprint in enumerate(members):
        found = index.find(fingerprint)
        index.add(found[0] if found else f"i{number}", fingerprint)
    return index


def per_message(index: ClusterIndex, probes: list[Fingerprint]) -> float:
    """Median seconds of find+add for one probe; a probe that opened an incident is removed again
    (untimed) so that the index keeps its size."""
    times = []
    for number, probe in enumerate(probes):
        started = time.perf_counter()
        found = index.find(probe)
        incident = found[0] if found else f"probe{number}"
        index.add(incident, probe)
        times.append(time.perf_counter() - started)
        if found is None:
            index.remove(incident)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=2_000)
    parser.add_argument("--corpus", type=Path, help="JSON-lines file of texts (default: $YUQING_CORPUS, shared copy)")
    args = parser.parse_args()

    dictionary = ROOT / "examples" / "dict.txt"
    analyzer = Analyzer(dictionary=dictionary)
    ruleset, _warnings = load_rules(ROOT / "examples" / "rules")
    analyzer.use_words(ruleset.words)
    gazetteer = Gazetteer.from_dictionary(dictionary)
    maker = Fingerprinter(gazetteer, ruleset.keyword_sets)
    corpus = load_texts(args.corpus)
    random.Random(3).shuffle(corpus)
    # Probes are made of texts the index never saw: a probe that shares a text with indexed messages is
    # a near-duplicate of them, and the large index would hold more of those only because it is large.
    held_out, corpus = corpus[:HELD_OUT], corpus[HELD_OUT:]
    source = messages(corpus, sorted(gazetteer.names), seed=7)

    started = time.perf_counter()
    members = fingerprints(source, args.large, analyzer, maker)
    made = time.perf_counter() - started
    probes = fingerprints(messages(held_out, sorted(gazetteer.names), seed=11), args.probes, analyzer, maker)
    print(f"fingerprint (analyze + places + shingles + MinHash): {made / args.large * 1e6:.0f} µs a message")

    results = {}
    for size in (args.small, args.large):
        started = time.perf_counter()
        index = build(members[:size])
        built = time.perf_counter() - started
        runs = [per_message(index, probes) for _ in range(3)]
        results[size] = min(runs)
        print(f"{size:>7,} indexed messages ({len(index):,} incidents, built in {built:.1f} s): "
              f"find+add {results[size] * 1e6:.1f} µs a message (median; best of 3 runs)")
    ratio = results[args.large] / results[args.small]
    verdict = "within" if ratio <= 2 else "NOT within"
    print(f"ratio {args.large:,} / {args.small:,}: {ratio:.2f}x ({verdict} the 2x target)")


if __name__ == "__main__":
    main()
