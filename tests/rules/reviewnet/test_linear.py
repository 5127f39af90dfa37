"""The weights file: what train writes, load reads back to the same scores; a file that is not one is a
clear error naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.errors import ConfigError
from rules.reviewnet import LinearModel, load_model, load_scorer
from rules.reviewnet.linear import FORMAT, MAX_WEIGHT

MODEL = LinearModel(-1.0, {"坍塌": 3.0, "工人": 1.0, "电影": -4.0, "塌": 0.5})


def test_a_written_model_reads_back_with_the_same_scores(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(MODEL.to_json(), encoding="utf-8")
    loaded = load_scorer(path)
    assert isinstance(loaded, LinearModel)
    assert loaded.name.startswith("model:")
    for text in ("工地坍塌，工人被困", "电影里房子坍塌", "", "今天天气不错"):
        assert loaded.score(text).score == pytest.approx(MODEL.score(text).score, abs=1e-6)


def test_it_scores_by_its_ngrams_and_names_the_words_that_pushed() -> None:
    collapse, film = MODEL.score("工地坍塌，工人被困"), MODEL.score("电影里房子坍塌")
    assert collapse.score > 0.5 > film.score
    assert collapse.feature_words == ("坍塌", "工人")  # words before single characters


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "not UTF-8 JSON"),
    ('{"format": "other"}', f'"format": "{FORMAT}"'),
    (json.dumps({"format": FORMAT, "version": 9}), "version 9"),
    (json.dumps({"format": FORMAT, "version": 1, "ngrams": [], "bias": 0, "weights": {}}), "n-gram sizes"),
    (json.dumps({"format": FORMAT, "version": 1, "ngrams": [1], "bias": True, "weights": {}}), '"bias"'),
    (json.dumps({"format": FORMAT, "version": 1, "ngrams": [1], "bias": 0, "weights": {"a": float("nan")}}),
     '"weights"'),
    (json.dumps({"format": FORMAT, "version": 1, "ngrams": [1], "bias": 0, "weights": {"a": 1e300}}), '"weights"'),
])
def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_model(path)
    assert says in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the review model"):
        load_model(tmp_path / "absent.json")


@given(st.text(max_size=300))
def test_any_text_scores_in_0_1_the_same_every_time(text: str) -> None:
    first = MODEL.score(text)
    assert 0.0 <= first.score <= 1.0
    assert MODEL.score(text) == first


def test_the_largest_weights_a_file_may_hold_do_not_overflow() -> None:
    huge = LinearModel(0.0, {"爆": MAX_WEIGHT, "炸": MAX_WEIGHT, "好": -MAX_WEIGHT})
    assert huge.score("爆炸" * 1000).score == 1.0
    assert huge.score("好").score < 1e-300
