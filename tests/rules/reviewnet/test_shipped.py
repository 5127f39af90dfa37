"""The example model is what the trainer makes of the example posts, and nothing else: retraining
examples/review/labelled.jsonl gives examples/review/model.json byte for byte."""

from __future__ import annotations

from pathlib import Path

from rules.reviewnet import load_model
from rules.reviewnet.train import main

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "review"


def test_the_example_model_is_trained_from_the_example_posts_only(tmp_path: Path) -> None:
    out = tmp_path / "model.json"
    assert main([str(EXAMPLE / "labelled.jsonl"), "-o", str(out)]) == 0
    assert out.read_bytes() == (EXAMPLE / "model.json").read_bytes()
    assert load_model(out).trained["source"] == "labelled.jsonl"
