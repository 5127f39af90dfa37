"""A character n-gram logistic regression: weights from a small JSON file that ``train`` writes.

The feature vector is the set of a text's distinct n-grams, each 1/sqrt(number of n-grams in the text),
so a long article and a short post are on one scale. Scoring finds the weighted n-grams with one
Aho-Corasick automaton pass over the text.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick

from rules.errors import ConfigError, Problem
from rules.reviewnet.features import NGRAM_SIZES, RUN, count, fold
from rules.reviewnet.score import TOP_FEATURES, ReviewScore, sigmoid

FORMAT = "yuqing-review-model"
VERSION = 1
MAX_WEIGHT = 1e6


@dataclass(frozen=True)
class LinearModel:
    bias: float
    weights: Mapping[str, float]
    sizes: tuple[int, ...] = NGRAM_SIZES
    trained: Mapping[str, Any] = field(default_factory=dict)  # what it was trained on, for people
    digest: str = ""  # of the file it came from: which weights graded a message
    _automaton: ahocorasick.Automaton = field(init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"model:{self.digest[:12]}" if self.digest else "model"

    def __post_init__(self) -> None:
        # The weighted n-grams as one automaton: a text's matches are found in one pass in C, without
        # building every n-gram of it. A weighted n-gram holds only run characters, so no match crosses
        # punctuation.
        automaton = ahocorasick.Automaton()
        for gram in self.weights:
            automaton.add_word(gram, gram)
        if self.weights:
            automaton.make_automaton()
        object.__setattr__(self, "_automaton", automaton)

    def parts(self, text: str) -> list[tuple[str, float]]:
        """Each weighted n-gram the text holds, with its contribution to the logit."""
        folded = fold(text)
        total = count(RUN.findall(folded), self.sizes)
        if not total or not self.weights:
            return []
        automaton = self._automaton
        scale = 1.0 / math.sqrt(total)
        weights = self.weights
        return [(g, weights[g] * scale) for g in {g for _, g in automaton.iter(folded)}]

    def score(self, text: str) -> ReviewScore:
        parts = self.parts(text)
        logit = self.bias + math.fsum(c for _, c in parts)
        # Words tell an analyst more than single characters: show n-grams of two or more when any push.
        pushing = [p for p in parts if p[1] > 0 and len(p[0]) > 1] or [p for p in parts if p[1] > 0]
        pushing = sorted(pushing, key=lambda p: (-p[1], p[0]))[:TOP_FEATURES]
        return ReviewScore(sigmoid(logit), tuple((g, round(c, 3)) for g, c in pushing))

    def to_json(self) -> str:
        document = {"format": FORMAT, "version": VERSION, "ngrams": list(self.sizes), "bias": round(self.bias, 6),
                    "trained": dict(self.trained),
                    "weights": {g: round(w, 6) for g, w in sorted(self.weights.items())}}
        return json.dumps(document, ensure_ascii=False, indent=0, sort_keys=False) + "\n"


def load_model(path: Path) -> LinearModel:
    """Read a weights file. Raises ConfigError naming the file and what is wrong with it."""
    try:
        raw = path.read_bytes()
        document = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise ConfigError([Problem(f"cannot read the review model: {exc.strerror or exc}", path=str(path))]) from exc
    except (UnicodeError, ValueError) as exc:
        raise ConfigError([Problem(f"the review model is not UTF-8 JSON: {exc}", path=str(path))]) from exc
    return _parse(document, str(path), hashlib.sha256(raw).hexdigest())


def _parse(document: object, where: str, digest: str) -> LinearModel:
    def bad(message: str) -> ConfigError:
        return ConfigError([Problem(f"not a review model: {message}", path=where)])

    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise bad(f'expected a JSON object with "format": "{FORMAT}" (written by python -m rules.reviewnet.train)')
    if document.get("version") != VERSION:
        raise bad(f"version {document.get('version')!r}; this yuqing reads version {VERSION}")
    sizes, bias, weights = document.get("ngrams"), document.get("bias"), document.get("weights")
    if not isinstance(sizes, list) or not sizes or not all(isinstance(n, int) and 1 <= n <= 5 for n in sizes):
        raise bad('"ngrams" must be a list of n-gram sizes between 1 and 5')
    if not isinstance(bias, int | float) or not _number(bias):
        raise bad(f'"bias" must be a number between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}')
    if not isinstance(weights, dict) or not all(isinstance(g, str) and _number(w) for g, w in weights.items()):
        raise bad(f'"weights" must map n-grams to numbers between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}')
    trained = document.get("trained")
    return LinearModel(float(bias), {g: float(w) for g, w in weights.items()}, tuple(sizes),
                       trained if isinstance(trained, dict) else {}, digest)


def _number(value: object) -> bool:
    """A finite number small enough that no sum over a text's n-grams overflows."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
        and abs(value) <= MAX_WEIGHT
