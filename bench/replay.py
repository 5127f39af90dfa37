"""``python -m bench.replay``: how fast ``yuqing replay`` grades stored messages again.

A temporary state file is filled with N messages (default 20,000) spread over 90 days: corpus texts
(``bench/corpus.py``), one in forty replaced by a sample text of the library's rule tests, with random
authors, platforms and counts, each handled at its time by the daemon's own pipeline with the county's
rule library (examples/config.yaml): graded, grouped into stories, stored with verdict and spread.
Then the replay of the whole span with the same library, through the read-only store, as the command
does it (without the process start-up and the rule build, which do not grow with the span): messages
per second, and the time 500,000 messages (90 days of a county's traffic) would take at that rate.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from bench.corpus import load_texts
from daemon import incidents
from daemon.app.service import Service
from daemon.clock import FakeClock
from daemon.config import Config, load_config
from daemon.store import Store
from daemon.triage.replay import Report, replay_span
from daemon.triage.rulebook import build_rulebook, new_analyzer
from rules.county import SHANGHAI
from rules.model import Author, Message, Metrics

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 8, 1, tzinfo=SHANGHAI)
SPAN = timedelta(days=90)
TARGET = 500_000  # 90 days of a county's traffic
GRADED_EVERY = 40  # a county's traffic is mostly ordinary: rule tests' sample texts mixed in at 2.5%
PLATFORMS = ("weibo", "douyin", "wechat", "toutiao", "forum", "tieba", "news", "hotline")


def sample(n: int, i: int, texts: list[str], rng: random.Random, samples: list[str]) -> tuple[Message, datetime]:
    """The i-th message: a corpus text, and every GRADED_EVERY-th one a rule test's sample text."""
    at = START + SPAN * i / n
    text = samples[i // GRADED_EVERY % len(samples)] if i % GRADED_EVERY == 0 else texts[i % len(texts)]
    message = Message(id=f"bench-{i}", source=PLATFORMS[i % len(PLATFORMS)], text=text,
                      author=Author(name=f"user{rng.randrange(20_000)}", followers=rng.choice((0, 50, 800, 12_000))),
                      published_at=at - timedelta(minutes=rng.randrange(120)),
                      metrics=Metrics(reposts=int(rng.paretovariate(1.2)) - 1, views=int(rng.paretovariate(0.9) * 50)))
    return message, at


def seed(config: Config, path: Path, texts: list[str], n: int) -> tuple[int, int]:
    """N messages through the daemon's own pipeline (a service on a fake clock, nothing started), each at
    its time: graded, grouped into stories, stored; returns (graded, stories)."""
    rng = random.Random(7)
    clock = FakeClock(START)
    service = Service(config, clock=clock, store=Store(path, clock=clock))
    samples = [t.message.text for rule in service.pipeline.rulebook.ruleset.rules for t in rule.tests]
    graded = 0
    for i in range(n):
        message, at = sample(n, i, texts, rng, samples)
        clock.advance(at - clock.now())
        graded += service.pipeline.handle_message(message) == "graded"
    stories = len(incidents.listing(service.store))
    service.pipeline.rulebook.close()
    service.store.close()
    return graded, stories


def run(config: Config, n: int, folder: Path) -> Report:
    path = folder / "yuqing.db"
    started = time.perf_counter()
    graded, stories = seed(config, path, load_texts(), n)
    print(f"seeded {n:,} messages ({graded:,} graded, {stories:,} stories) in {time.perf_counter() - started:.1f} s")
    analyzer = new_analyzer(config)
    rulebook = build_rulebook(config, analyzer, activate=False)
    store = Store(path, read_only=True)
    report = Report(rulebook.version, START, START + SPAN)
    replay_span(store, rulebook, analyzer, report)
    store.close()
    rulebook.close()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", type=Path, default=ROOT / "examples" / "config.yaml")
    parser.add_argument("-n", "--messages", type=int, default=20_000)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="yuqing-replay-") as tmp:
        report = run(load_config(args.config), args.messages, Path(tmp))
    differences = sum(report.totals.values())
    print(f"replayed {report.replayed:,} messages in {report.seconds:.1f} s: {report.rate:,.0f} msgs/s"
          f" ({differences} differences, {len(report.stories)} stories changed)")
    projected = TARGET / report.rate if report.rate else float("inf")
    print(f"projected for {TARGET:,} messages: {projected / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
