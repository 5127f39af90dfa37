"""``python -m bench.library``: the county's own rule library (examples/config.yaml) against bare jieba.

Analysis + evaluation of every message with the real rulebook the daemon builds (the starter library
of examples/rules/, its lexicon, negation/genre/place screens), side by side with bare ``jieba.lcut``
over the same messages in the same run, by message length. The issue's target: at least 1.5x.

Also the start-up of the real daemon on a copy of examples/ (``yuqing run``, from exec to the
``service.ready`` log line, best of three), and with ``--against CHECKOUT`` the same for the daemon of
another checkout (a git worktree of an older commit), measured in turns on the same machine.
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import jieba
import structlog

from bench.__main__ import joined, messages
from bench.corpus import load_texts
from daemon.config import load_config
from daemon.triage.rulebook import build_rulebook, new_analyzer
from rules.county import SHANGHAI
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


def daemon_ready_seconds(checkout: Path, county: Path) -> float:
    """Seconds from starting ``python -m daemon run`` of ``checkout`` on ``county`` (a copy of its
    examples/) to its ``service.ready`` log line."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "run", "-c", str(county / "config.yaml")],
                            cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr or ():
            if "service.ready" in line:
                return time.perf_counter() - started
        raise SystemExit(f"the daemon of {checkout} stopped before it was ready")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def daemon_startup(against: Path | None) -> None:
    """The first start on an empty state folder, and the best of three restarts on the state it left
    (what systemd does after an upgrade or a crash), for this checkout and ``against`` in turns."""
    checkouts = [ROOT, *([against.resolve()] if against else [])]
    with tempfile.TemporaryDirectory(prefix="yuqing-startup-") as tmp:
        counties = {}
        for n, checkout in enumerate(checkouts):
            counties[checkout] = Path(tmp) / f"county{n}"
            shutil.copytree(checkout / "examples", counties[checkout], ignore=shutil.ignore_patterns("var"))
            (counties[checkout] / "var" / "inbox").mkdir(parents=True)
        first = {checkout: daemon_ready_seconds(checkout, counties[checkout]) for checkout in checkouts}
        again = {checkout: float("inf") for checkout in checkouts}
        for _ in range(3):
            for checkout in checkouts:
                again[checkout] = min(again[checkout], daemon_ready_seconds(checkout, counties[checkout]))
    for checkout in checkouts:
        print(f"daemon start-up on {checkout / 'examples'}: first start ready after {first[checkout]:.2f} s, "
              f"restart after {again[checkout]:.2f} s (best of 3)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.library", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", type=Path, default=ROOT / "examples" / "config.yaml")
    parser.add_argument("--corpus", type=Path, help="JSON-lines file of texts (default: $YUQING_CORPUS, shared copy)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="also time the start-up of another checkout's daemon, in turns with this one")
    args = parser.parse_args(argv)
    daemon_startup(args.against)
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
