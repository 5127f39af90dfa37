"""What the recall net says about a message, and the interface every scorer has."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

TOP_FEATURES = 5  # shown to the analyst: why this message is on the list


@dataclass(frozen=True)
class ReviewScore:
    """How much a message looks like an incident (0 … 1), and what in it pushed the score up most."""

    score: float
    features: tuple[tuple[str, float], ...] = ()

    @property
    def feature_words(self) -> tuple[str, ...]:
        return tuple(word for word, _ in self.features)


class Scorer(Protocol):
    @property
    def name(self) -> str: ...

    def score(self, text: str) -> ReviewScore: ...


def sigmoid(logit: float) -> float:
    """The logistic function, exact at the ends: no overflow for any finite logit."""
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-min(logit, 700.0)))
    z = math.exp(max(logit, -700.0))
    return z / (1.0 + z)
