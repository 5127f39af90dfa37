"""``python -m rules.reviewnet.train LABELLED.jsonl -o review-model.json``: train the recall net.

The input is one JSON object a line, ``{"text": "…", "label": 1}`` for a post that was (or should have
been) an incident and ``{"text": "…", "label": 0}`` for an ordinary one. The output is the weights file
that config.yaml's ``review: {model: PATH}`` names. Training is logistic regression on the features of
``rules.reviewnet.features`` by Adagrad, with classes weighted to count equally; pure Python, a few
seconds for ten thousand posts. The same input and options always give the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rules.reviewnet.features import NGRAM_SIZES, count, ngrams, runs
from rules.reviewnet.linear import LinearModel
from rules.reviewnet.score import sigmoid


class LabelledError(ValueError):
    """A labelled file that cannot be trained on; the message says which line and why."""


@dataclass(frozen=True)
class Options:
    epochs: int = 30
    rate: float = 0.5  # Adagrad's step
    l2: float = 1e-4
    min_count: int = 2  # n-grams seen in fewer posts are dropped: they only memorise
    seed: int = 0
    sizes: tuple[int, ...] = NGRAM_SIZES


def read_labelled(path: Path) -> list[tuple[str, int]]:
    """(text, label) pairs. Raises LabelledError for a bad line, naming it; blank lines are skipped."""
    examples: list[tuple[str, int]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise LabelledError(f"{path}:{number}: not JSON: {exc}") from exc
            text = record.get("text") if isinstance(record, dict) else None
            label = record.get("label") if isinstance(record, dict) else None
            if not isinstance(text, str) or label not in (0, 1) or isinstance(label, bool):
                raise LabelledError(f'{path}:{number}: expected {{"text": "…", "label": 1 or 0}}')
            examples.append((text, int(label)))
    return examples


def train(examples: Sequence[tuple[str, int]], options: Options = Options(),
          trained: dict[str, object] | None = None) -> LinearModel:
    """A model separating label 1 from label 0. Raises LabelledError without both kinds."""
    positives = sum(label for _, label in examples)
    if positives == 0 or positives == len(examples):
        raise LabelledError("training needs posts of both labels (1: incident, 0: ordinary)")
    docs = [(ngrams(text, options.sizes), count(runs(text), options.sizes), label) for text, label in examples]
    seen = Counter(g for grams, _, _ in docs for g in grams)
    vectors = [(tuple(sorted(g for g in grams if seen[g] >= options.min_count)),
                1.0 / math.sqrt(total) if total else 0.0, label) for grams, total, label in docs]
    class_weight = {1: len(docs) / (2 * positives), 0: len(docs) / (2 * (len(docs) - positives))}
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    bias = bias_squares = 0.0
    order = list(range(len(vectors)))
    rng = random.Random(options.seed)
    for _ in range(options.epochs):
        rng.shuffle(order)
        for index in order:
            grams, scale, label = vectors[index]
            logit = bias + scale * math.fsum(weights.get(g, 0.0) for g in grams)
            error = (sigmoid(logit) - label) * class_weight[label]
            for g in grams:
                w = weights.get(g, 0.0)
                step = error * scale + options.l2 * w
                squares[g] = squares.get(g, 0.0) + step * step
                weights[g] = w - options.rate * step / math.sqrt(squares[g] + 1e-12)
            bias_squares += error * error
            bias -= options.rate * error / math.sqrt(bias_squares + 1e-12)
    kept = {g: round(w, 6) for g, w in weights.items() if abs(w) >= 1e-4}
    meta: dict[str, object] = {"examples": len(docs), "positives": positives, "epochs": options.epochs,
                               "l2": options.l2, "min_count": options.min_count, **(trained or {})}
    return LinearModel(bias, kept, options.sizes, meta)


def held_out(examples: Sequence[tuple[str, int]], fraction: float, options: Options,
             threshold: float) -> tuple[float, float, int]:
    """Precision and recall at ``threshold`` on a held-out share (the same share for the same seed)."""
    shuffled = list(examples)
    random.Random(options.seed + 1).shuffle(shuffled)
    cut = max(1, int(len(shuffled) * fraction))
    test, rest = shuffled[:cut], shuffled[cut:]
    model = train(rest, options)
    flagged = [(model.score(text).score >= threshold, label) for text, label in test]
    hits = sum(1 for f, label in flagged if f and label)
    precision = hits / max(1, sum(1 for f, _ in flagged if f))
    recall = hits / max(1, sum(label for _, label in test))
    return precision, recall, len(test)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rules.reviewnet.train", description=__doc__.split("\n")[0])
    parser.add_argument("labelled", type=Path, help='JSONL of {"text": …, "label": 1|0}')
    parser.add_argument("-o", "--output", type=Path, required=True, help="the weights file to write")
    parser.add_argument("--epochs", type=int, default=Options.epochs)
    parser.add_argument("--l2", type=float, default=Options.l2)
    parser.add_argument("--min-count", type=int, default=Options.min_count)
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument("--holdout", type=float, default=0.0,
                        help="also report precision/recall on this share held out (e.g. 0.2)")
    parser.add_argument("--threshold", type=float, default=0.5, help="for --holdout: the review threshold")
    args = parser.parse_args(argv)
    options = Options(epochs=args.epochs, l2=args.l2, min_count=args.min_count, seed=args.seed)
    try:
        examples = read_labelled(args.labelled)
        if args.holdout > 0:
            precision, recall, n = held_out(examples, args.holdout, options, args.threshold)
            print(f"held out {n} posts: precision {precision:.3f}, recall {recall:.3f} at {args.threshold}")
        digest = hashlib.sha256(args.labelled.read_bytes()).hexdigest()
        model = train(examples, options, {"source": args.labelled.name, "source_sha256": digest})
    except (LabelledError, OSError, UnicodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.output.write_text(model.to_json(), encoding="utf-8")
    print(f"{args.output}: {len(model.weights)} weights from {len(examples)} posts"
          f" ({model.trained['positives']} incidents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
