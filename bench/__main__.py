"""``python -m bench [--quick]``: throughput of analysis + evaluation against bare ``jieba.lcut``.

Messages come from the benchmark corpus (bench/corpus.py: ``$YUQING_CORPUS``, else
../shared/corpus/bench.jsonl), as they are (short titles and reviews) and joined
into ~200-character messages. Keywords are corpus tokens (so they really occur), minus the most
frequent ones nobody would watch for; rules use ``all``/``any``/``none`` over named keyword sets with
the shapes of examples/rules. For every rule count and keyword count the run prints messages/s,
characters/s, the share of messages graded, and the ratio to bare ``jieba.lcut`` over the same
messages measured in the same run (ratio >= 1: the pipeline is at least as fast as cutting alone).

Ingest (10,000 files at once, a 100,000-record JSONL file's peak RSS) is ``python -m bench.ingest``
(``make bench-ingest``).
"""

from __future__ import annotations

import argparse
import collections
import gc
import logging
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import jieba

from bench.corpus import corpus_path, load_texts
from rules.engine import Engine
from rules.model import Condition, Level, Location, Message, Rule, RuleSet, Spread, Term
from rules.text import Analyzer, Backend, available_backend

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("weibo", "douyin", "wechat", "news", "board", "forum")
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
AT = datetime(2026, 11, 20, 9, 0)


def joined(texts: Sequence[str], size: int = 200) -> list[str]:
    """Consecutive texts joined into messages of about ``size`` characters."""
    out: list[str] = []
    current = ""
    for text in texts:
        current = f"{current}。{text}" if current else text
        if len(current) >= size:
            out.append(current)
            current = ""
    return out


def messages(texts: Sequence[str], prefix: str) -> list[Message]:
    return [Message(id=f"{prefix}{i}", source=SOURCES[i % len(SOURCES)], text=t) for i, t in enumerate(texts)]


def vocabulary(texts: Sequence[str], skip_top: int = 200) -> list[str]:
    """Distinct Chinese corpus tokens of 2–6 characters, the most frequent ``skip_top`` left out."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    counts = collections.Counter(w for t in texts for w in tokenizer.lcut(t) if _HAN_WORD.match(w))
    ranked = [w for w, _ in counts.most_common()]
    return ranked[skip_top:]


def ruleset(rule_count: int, words: Sequence[str], rng: random.Random) -> RuleSet:
    """``rule_count`` rules over named sets that together hold ``words`` (each word in one set)."""
    shuffled = list(words)
    rng.shuffle(shuffled)
    # Each rule uses three sets of its own, so every keyword belongs to some rule.
    set_count = rule_count * 3
    sets = [Term(f"s{i}", frozenset(shuffled[i::set_count]), is_set=True) for i in range(set_count)]
    rules = []
    for i in range(rule_count):
        a, b, c = sets[i * 3:i * 3 + 3]
        shape = i % 4  # all+none, all+any, any+none, all+any+none
        when = Condition(
            all=(a, b) if shape == 0 else (() if shape == 2 else (a,)),
            any=(b, c) if shape == 1 else ((a, b) if shape == 2 else ((b,) if shape == 3 else ())),
            none=() if shape == 1 else (c,),
            sources=frozenset(rng.sample(SOURCES, 3)) if i % 5 == 0 else frozenset(),
        )
        level = (Level.BLUE, Level.YELLOW, Level.RED)[i % 3]
        rules.append(Rule(f"r{i}", f"rule {i}", level, when, Location("bench.yaml", i + 1, 1), category="bench"))
    return RuleSet(tuple(rules), {t.name: t.words for t in sets}, version=f"b{rule_count}x{len(words)}")


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ``VmHWM`` where there is one: ``ru_maxrss`` carries over a
    parent's peak into a child started by fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_config(analyzer: Analyzer, rules: RuleSet, corpora: dict[str, list[Message]],
                 baseline: dict[str, float]) -> list[str]:
    built = time.perf_counter()
    analyzer.use_words(rules.words)
    engine = Engine(rules)
    build_s = time.perf_counter() - built
    rows = []
    try:
        for shape, msgs in corpora.items():
            graded = 0

            def run(msgs: list[Message] = msgs) -> None:
                nonlocal graded
                for m in msgs:
                    verdict = engine.evaluate(analyzer.analyze(m), Spread.of_message(m), (), AT)
                    graded += verdict.level > Level.NONE

            seconds = timed(run)
            analysis_s = timed(lambda: [analyzer.analyze(m) for m in msgs])  # noqa: B023  # called at once
            chars = sum(len(m.body) for m in msgs)
            rate = len(msgs) / seconds
            rows.append(f"| {analyzer.backend} | {len(rules.rules):>5} | {len(rules.words):>6} | {shape} "
                        f"| {rate:>8,.0f} | {chars / seconds / 1e6:>6.2f} | {rate / baseline[shape]:>5.2f} "
                        f"| {len(msgs) / analysis_s / baseline[shape]:>5.2f} "
                        f"| {100 * graded / len(msgs):>5.1f}% | {build_s:>5.1f} | {peak_rss_mb():>5.0f} |")
            print(rows[-1], flush=True)
    finally:
        engine.close()
    return rows


LENGTHS = ((1, 15), (16, 30), (31, 60), (61, 120), (121, 250), (251, 10**6))


def by_length(analyzer: Analyzer, rules: RuleSet, everything: list[Message], repeats: int) -> None:
    """Bare ``jieba.lcut`` and analysis + evaluation over the messages of each length band, measured
    in turns (best of ``repeats``) so that both see the same machine."""
    analyzer.use_words(rules.words)
    with Engine(rules) as engine:
        for low, high in LENGTHS:
            msgs = [m for m in everything if low <= len(m.body) <= high]
            if not msgs:
                continue
            bare, ours = float("inf"), float("inf")
            for _ in range(repeats):
                bare = min(bare, timed(lambda: [jieba.lcut(m.body) for m in msgs]))  # noqa: B023
                ours = min(ours, timed(lambda: [engine.evaluate(analyzer.analyze(m), Spread.of_message(m), (), AT)
                                                for m in msgs]))  # noqa: B023
            top = f"{high:,}" if high < 10**6 else "…"
            print(f"| {analyzer.backend} | {low}–{top} | {len(msgs):>5} | {1e6 * bare / len(msgs):>7.1f} "
                  f"| {1e6 * ours / len(msgs):>7.1f} | {bare / ours:>5.2f} |", flush=True)


def target_memory(corpus: Path, backend: Backend, words_file: Path) -> int:
    """Peak RSS (MB) of a process doing only what the daemon does at the target size: one analyzer,
    1,000 rules over the 50,000 keywords of ``words_file``, every message analysed and evaluated. Run
    in its own process (``--target-memory``), so the matrix's other rule sets and analyzers and the
    tokenizer that picked the keywords do not count."""
    texts = load_texts(corpus)
    analyzer = Analyzer(cache_dir=ROOT / ".pytest_cache" / "jieba", backend=backend)
    analyzer.initialize()
    rules = ruleset(1000, words_file.read_text(encoding="utf-8").split(), random.Random(20261121))
    analyzer.use_words(rules.words)
    with Engine(rules) as engine:
        for m in [*messages(texts[:3000], "s"), *messages(joined(texts[:8000]), "j")]:
            engine.evaluate(analyzer.analyze(m), Spread.of_message(m), (), AT)
    return round(peak_rss_mb())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages and only the corner configs")
    parser.add_argument("--corpus", type=Path, help="JSON-lines file of texts (default: $YUQING_CORPUS, shared copy)")
    parser.add_argument("--backend", choices=["jieba", "rjieba", "both"], default="both")
    parser.add_argument("--target-memory", choices=["jieba", "rjieba"], help=argparse.SUPPRESS)
    parser.add_argument("--words", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.corpus = args.corpus or corpus_path()
    logging.disable(logging.INFO)  # structlog's default goes to stdout: keep the table readable
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    jieba.setLogLevel(logging.WARNING)
    if args.target_memory:
        print(target_memory(args.corpus, args.target_memory, args.words))
        return 0

    rng = random.Random(20261120)
    texts = load_texts(args.corpus)
    sample = rng.sample(texts, 1000 if args.quick else 3000)
    long = joined(texts[: (3000 if args.quick else 8000)])
    corpora = {"short": messages(sample, "s"), "200ch": messages(long, "j")}
    words = vocabulary(texts)
    print(f"corpus: {len(texts)} texts; messages: {len(corpora['short'])} short "
          f"(avg {sum(map(len, sample)) / len(sample):.0f} chars), {len(long)} joined (~200 chars); "
          f"{len(words)} candidate keywords")

    jieba.initialize()
    baseline = {}
    for shape, msgs in corpora.items():
        seconds = timed(lambda: [jieba.lcut(m.body) for m in msgs])  # noqa: B023  # called at once
        baseline[shape] = len(msgs) / seconds
        chars = sum(len(m.body) for m in msgs)
        print(f"bare jieba.lcut, {shape}: {baseline[shape]:,.0f} msgs/s, {chars / seconds / 1e6:.2f} Mchars/s")

    backends: list[Backend] = ["jieba", "rjieba"] if args.backend == "both" else [args.backend]
    if "rjieba" in backends and available_backend() != "rjieba":
        print("rjieba is not installed (pip install -e '.[fast]'): skipping that backend")
        backends.remove("rjieba")
    configs = [(10, 50), (1000, 50_000)] if args.quick else [
        (r, k) for r in (10, 100, 1000) for k in (50, 5_000, 50_000)]
    print("\n| backend | rules | keywords | msgs | msgs/s | Mchars/s | ratio | analysis-only ratio"
          " | graded | build s | peak MB |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    analyzers = {backend: Analyzer(cache_dir=ROOT / ".pytest_cache" / "jieba", backend=backend)
                 for backend in backends}
    for analyzer in analyzers.values():
        analyzer.initialize()
        for rule_count, keyword_count in configs:
            rules = ruleset(rule_count, rng.sample(words, min(keyword_count, len(words))), rng)
            bench_config(analyzer, rules, corpora, baseline)
    rules_count, keyword_count = configs[-1]
    print(f"\nBy message length, {rules_count:,} rules × {keyword_count:,} keywords (µs a message, best of "
          f"{3 if args.quick else 5} turns):\n")
    print("| backend | chars | msgs | bare jieba.lcut | analysis + evaluation | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    target = ruleset(rules_count, random.Random(20261121).sample(words, min(keyword_count, len(words))), rng)
    for analyzer in analyzers.values():
        by_length(analyzer, target, [*corpora["short"], *corpora["200ch"]], 3 if args.quick else 5)
    print(f"\npeak RSS of the whole run (both backends, every rule set above): {peak_rss_mb():.0f} MB")
    with tempfile.TemporaryDirectory() as scratch:
        words_file = Path(scratch) / "words.txt"
        words_file.write_text("\n".join(sorted(target.words)), encoding="utf-8")
        for backend in backends:
            command = [sys.executable, "-m", "bench", "--target-memory", backend, "--words", str(words_file),
                       "--corpus", str(args.corpus)]
            alone = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
            print(f"peak RSS of a process with only the {rules_count:,} × {keyword_count:,} rule set, {backend}: "
                  f"{alone.stdout.split()[-1]} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
