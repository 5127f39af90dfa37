"""What the recall net reads: a message's text folded to one form, and its character n-grams.

Training and scoring share this module, so a weights file always meets the features it was made from.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 3000  # a long article says what it is about early; the cost per message stays bounded
NGRAM_SIZES = (1, 2, 3)
# Runs of Han characters, Latin letters or digits; anything else (punctuation, emoji, spaces) ends a run
# and no n-gram crosses it.
RUN = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_DIGITS = re.compile(r"[0-9]+")


def fold(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), lower case, every number written ``0``: "3人死亡"
    and "十几人死亡" differ, but "3人" and "12人" should not."""
    folded = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    return _DIGITS.sub("0", folded)


def runs(text: str) -> list[str]:
    """The folded text's runs of letters and digits."""
    return RUN.findall(fold(text))


def count(folded_runs: list[str], sizes: tuple[int, ...] = NGRAM_SIZES) -> int:
    """How many n-grams (with repeats) the runs hold: the length a text's feature vector is scaled by.
    Cheap where counting distinct n-grams is not, so scoring never builds them all."""
    return sum(len(run) - n + 1 for run in folded_runs for n in sizes if len(run) >= n)


def ngrams(text: str, sizes: tuple[int, ...] = NGRAM_SIZES) -> set[str]:
    """The distinct character n-grams of the text, within runs."""
    found: set[str] = set()
    for run in runs(text):
        for n in sizes:
            if n == 1:
                found.update(run)
            else:
                found.update([run[i : i + n] for i in range(len(run) - n + 1)])
    return found
