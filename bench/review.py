"""``python -m bench.review [--rules DIR] [--model PATH]``: the recall net (待研判) on ordinary posts.

Every text of ../shared/corpus/bench.jsonl is an ordinary post (reviews, news headlines): a message
flagged for review is a false review. Two figures per part of the corpus:

- raw: reviews per 10,000 posts when the net reads every post;
- after rules: reviews per 10,000 posts as the daemon makes them, the net reading only the posts the
  rule set (``--rules``, default examples/rules) grades none.

And the cost: microseconds per post for scoring alone, against analysis + evaluation of the same posts.
The corpus is only ever a negative set here: it is never training data (see docs/incidents.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import time
from datetime import datetime
from pathlib import Path

import structlog

from rules.engine import Engine
from rules.loader import load_rules
from rules.model import Level, Message, Spread
from rules.reviewnet import DEFAULT_THRESHOLD, load_scorer
from rules.text import Analyzer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "bench.jsonl"
AT = datetime(2026, 11, 20, 9, 0)


def load(path: Path) -> list[tuple[str, str]]:
    """(part, text): the part is the first word of the record's source."""
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    return [(str(r["source"]).split()[0], str(r["text"])) for r in records]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.review", description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=Path, default=ROOT / "examples" / "rules")
    parser.add_argument("--dictionary", type=Path, default=ROOT / "examples" / "dict.txt")
    parser.add_argument("--model", type=Path, help="a weights file (default: the built-in lexicon)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--show", type=int, default=0, help="print this many flagged posts after rules")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    posts = load(args.corpus)
    scorer = load_scorer(args.model)

    started = time.perf_counter()
    scores = [scorer.score(text).score for _, text in posts]
    score_s = time.perf_counter() - started

    ruleset, _ = load_rules(args.rules)
    analyzer = Analyzer(dictionary=args.dictionary if args.dictionary.exists() else None)
    analyzer.use_words(ruleset.words, ruleset.pinyin_words)
    engine = Engine(ruleset)
    started = time.perf_counter()
    levels = []
    for i, (_, text) in enumerate(posts):
        message = Message(id=f"b{i}", source="weibo", text=text)
        levels.append(engine.evaluate(analyzer.analyze(message), Spread.of_message(message), (), AT).level)
    grade_s = time.perf_counter() - started
    engine.close()

    total: collections.Counter[str] = collections.Counter()
    raw: collections.Counter[str] = collections.Counter()
    after: collections.Counter[str] = collections.Counter()
    flagged = []
    for (part, text), score, level in zip(posts, scores, levels, strict=True):
        total[part] += 1
        raw[part] += score >= args.threshold
        if level is Level.NONE and score >= args.threshold:
            after[part] += 1
            flagged.append((score, text))
    print(f"scorer {scorer.name}, threshold {args.threshold}, rules {args.rules} ({len(ruleset.rules)} rules)")
    for part in [*sorted(total), "all"]:
        n = sum(total.values()) if part == "all" else total[part]
        r = sum(raw.values()) if part == "all" else raw[part]
        a = sum(after.values()) if part == "all" else after[part]
        print(f"{part:<20} {n:>6} posts  raw {r:>4} = {r / n * 1e4:6.1f}/10k"
              f"  after rules {a:>4} = {a / n * 1e4:6.1f}/10k")
    chars = sum(len(text) for _, text in posts)
    print(f"cost: scoring {score_s / len(posts) * 1e6:.1f} µs/post ({chars / score_s / 1e6:.2f} M chars/s);"
          f" analysis + rules {grade_s / len(posts) * 1e6:.1f} µs/post")
    for score, text in sorted(flagged, reverse=True)[: args.show]:
        print(f"{score:.2f}  {text[:80]}")


if __name__ == "__main__":
    main()
