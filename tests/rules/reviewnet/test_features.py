"""Folding and n-grams: one form for full-width and half-width text, no n-gram across punctuation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.reviewnet.features import MAX_CHARS, fold, ngrams, runs


def test_full_width_and_numbers_fold_to_one_form() -> None:
    assert fold("ＡＢＣ３人死亡，１２人受伤") == "abc0人死亡,0人受伤"


def test_no_ngram_crosses_punctuation_or_spaces() -> None:
    grams = ngrams("工地，坍塌 了")
    assert {"工地", "坍塌", "了"} <= grams
    assert "地坍" not in grams
    assert "塌了" not in grams


def test_only_the_start_of_a_very_long_text_is_read() -> None:
    assert runs("爆" * MAX_CHARS + "，炸") == ["爆" * MAX_CHARS]


@given(st.text(max_size=300))
def test_ngrams_are_short_pieces_of_the_folded_text(text: str) -> None:
    folded = fold(text)
    for gram in ngrams(text):
        assert 1 <= len(gram) <= 3
        assert gram in folded
