"""``python -m bench.library``: the county's own rule library (examples/config.yaml) against bare jieba.

Analysis + evaluation of every message with the real rulebook the daemon builds (the starter library
of examples/rules/, its lexicon, negation/genre/place screens), side by side with bare ``jieba.lcut``
over the same messages in the same run, by message length. The issue's target: at least 1.5x.
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import jieba
import structlog

from bench.__main__ import joined, messages
from bench.corpus import load_texts
from daemon.clock import SHANGHAI
from daemon.config import load_config
from daemon.rulebook import build_rulebook, new_analyzer
from rules.model import Message

ROOT = Path(__file__).resolve().parent.parent
BANDS = ((1, 15), (16, 30), (31, 60), (61, 120), (121, 100_000))
AT = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)  # outside every sensitive period of the example


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.library", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", type=Path, default=ROOT / "examples" / "config.yaml")
    parser.add_argument("--corpus", type=Path, help="JSON-lines file of texts (default: $YUQING_CORPUS, shared copy)")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    jieba.setLogLevel(logging.WARNING)
    started = time.perf_counter()
    config = load_config(args.config)
    analyzer = new_analyzer(config)
    rulebook = build_rulebook(config, analyzer)
    startup = time.perf_counter() - started
    loaded_rss = peak_rss_mb()
    jieba.initialize()
    texts = load_texts(args.corpus)
    pool = messages(random.Random(20261120).sample(texts, min(len(texts), 20_000)) + joined(texts[:8000]), "m")
    print(f"{args.config}: {len(rulebook.ruleset.rules)} rules, backend {analyzer.backend}; "
          f"rules and analyzer ready in {startup:.2f} s, peak RSS {loaded_rss:.0f} MB then")
    print(f"{'length':>10} {'messages':>9} {'library msg/s':>14} {'jieba msg/s':>12} {'ratio':>6} {'graded':>7}")
    for low, high in BANDS:
        band: list[Message] = [m for m in pool if low <= len(m.body) <= high][:3000]
        if not band:
            continue
        verdicts = [rulebook.evaluate(analyzer, m, AT)[1] for m in band]  # warm, and count the graded
        library = best_of(3, lambda: [rulebook.evaluate(analyzer, m, AT) for m in band])  # noqa: B023
        bare = best_of(3, lambda: [jieba.lcut(m.body) for m in band])  # noqa: B023  # both called at once
        graded = sum(1 for v in verdicts if v.level) / len(band)
        print(f"{low:>4}–{high if high < 100_000 else '':<5} {len(band):>9} {len(band) / library:>14.0f} "
              f"{len(band) / bare:>12.0f} {bare / library:>6.2f} {graded:>7.1%}")
    print(f"peak RSS of the whole run (bare jieba's dictionary included): {peak_rss_mb():.0f} MB")
    rulebook.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
