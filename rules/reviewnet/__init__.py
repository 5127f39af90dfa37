"""The recall net (待研判): how much a message that no rule matched looks like an incident.

A cheap local scorer: a character n-gram logistic regression when a weights file is configured
(``python -m rules.reviewnet.train`` writes one), else the built-in weighted lexicon. No network, no
download; pure functions of the text. The daemon puts messages graded none whose score reaches the
threshold on the review list; they never alert.
"""

from __future__ import annotations

from pathlib import Path

from rules.reviewnet.lexicon import LexiconScorer
from rules.reviewnet.linear import LinearModel, load_model
from rules.reviewnet.score import ReviewScore, Scorer

# One strong event word with one word of context scores 0.5 exactly: left off by default (docs/incidents.md).
DEFAULT_THRESHOLD = 0.55

__all__ = ["DEFAULT_THRESHOLD", "LexiconScorer", "LinearModel", "ReviewScore", "Scorer", "load_model", "load_scorer"]


def load_scorer(model: Path | None) -> Scorer:
    """The trained model in ``model``, or the built-in lexicon when there is none. Raises ConfigError."""
    return LexiconScorer() if model is None else load_model(model)
