"""config.yaml ``review``: defaults without it, a model path resolved against the file, and every problem
reported with its place (a model file that is no model included, so `yuqing check` finds it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import load_config
from daemon.config.review import ReviewSpec
from rules.errors import ConfigError
from rules.reviewnet import LinearModel

BASE = "rules: ./rules\nnotify: ./notify.yaml\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    return path


def test_without_review_the_lexicon_net_is_on(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).review == ReviewSpec(True, None, 0.55)


def test_model_and_threshold(tmp_path: Path) -> None:
    (tmp_path / "review-model.json").write_text(LinearModel(-1.0, {"坍塌": 2.0}).to_json(), encoding="utf-8")
    spec = load_config(write(tmp_path, "review: {model: ./review-model.json, threshold: 0.7}\n")).review
    assert spec == ReviewSpec(True, (tmp_path / "review-model.json").resolve(), 0.7)


def test_it_can_be_turned_off(tmp_path: Path) -> None:
    assert not load_config(write(tmp_path, "review: {enabled: false}\n")).review.enabled


@pytest.mark.parametrize(("text", "says"), [
    ("review: {threshold: 2}\n", "config.yaml:3:21: error: review.threshold must be a number above 0"),
    ("review: {threshold: yes}\n", "review.threshold must be a number above 0"),
    ("review: {model: ./absent.json}\n", "absent.json: error: cannot read the review model"),
    ("review: {modle: ./m.json}\n", "modle"),
    ("review: {enabled: maybe}\n", "expected true or false"),
])
def test_problems_are_reported(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert says in str(caught.value)


def test_a_file_that_is_not_a_model_is_reported(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"weights": {}}', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a review model"):
        load_config(write(tmp_path, "review: {model: ./m.json}\n"))
