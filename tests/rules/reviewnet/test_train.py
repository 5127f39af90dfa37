"""Training: from a labelled JSONL to a weights file that separates the labels; the same input gives the
same file; bad input is an error naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.reviewnet import load_model
from rules.reviewnet.train import LabelledError, Options, held_out, main, read_labelled, train


def test_a_model_trained_on_the_sample_separates_it(sample: list[tuple[str, int]]) -> None:
    model = train(sample)
    scores = [(model.score(text).score, label) for text, label in sample]
    assert all(s >= 0.5 for s, label in scores if label)
    assert all(s < 0.5 for s, label in scores if not label)


def test_it_generalises_to_posts_held_out(sample: list[tuple[str, int]]) -> None:
    precision, recall, n = held_out(sample, 0.25, Options(), 0.5)
    assert n == 30
    assert precision >= 0.8
    assert recall >= 0.6


def test_it_scores_posts_it_never_saw(sample: list[tuple[str, int]]) -> None:
    model = train(sample)
    assert model.score("镇上的纸厂发生爆炸，好几个工人受伤，消防车都来了").score >= 0.5
    assert model.score("周末带孩子去县城的书店买了几本书").score < 0.5


def test_the_same_input_gives_the_same_file(sample: list[tuple[str, int]]) -> None:
    assert train(sample).to_json() == train(list(sample)).to_json()


def test_training_needs_both_labels() -> None:
    with pytest.raises(LabelledError, match="both labels"):
        train([("工地坍塌", 1), ("厂房爆炸", 1)])


@pytest.mark.parametrize(("line", "says"), [
    ("{oops", ":2: not JSON"),
    ('{"text": "x", "label": "1"}', ':2: expected {"text"'),
    ('{"text": "x", "label": true}', ':2: expected {"text"'),
    ('{"label": 1}', ':2: expected {"text"'),
    ('["x", 1]', ':2: expected {"text"'),
])
def test_a_bad_line_is_named(tmp_path: Path, line: str, says: str) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text('{"text": "好", "label": 0}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(LabelledError, match=says.replace("{", r"\{")):
        read_labelled(path)


def test_the_command_writes_a_model_the_daemon_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "review-model.json"
    sample = Path(__file__).resolve().parents[1] / "data" / "reviewnet.jsonl"
    assert main([str(sample), "-o", str(out), "--holdout", "0.25"]) == 0
    printed = capsys.readouterr().out
    assert "held out 30 posts" in printed
    assert f"{out}: " in printed
    model = load_model(out)
    assert model.trained["examples"] == 120
    assert model.trained["source"] == "reviewnet.jsonl"


def test_the_command_says_what_is_wrong_and_writes_nothing(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "labelled.jsonl"
    bad.write_text('{"text": "工地坍塌", "label": 1}\n', encoding="utf-8")
    out = tmp_path / "model.json"
    assert main([str(bad), "-o", str(out)]) == 2
    assert "both labels" in capsys.readouterr().err
    assert not out.exists()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=40), st.sampled_from((0, 1))), min_size=2, max_size=8)
       .filter(lambda rows: {label for _, label in rows} == {0, 1}), st.text(max_size=80))
def test_any_labelled_text_trains_and_the_model_scores_any_text(rows: list[tuple[str, int]], probe: str) -> None:
    model = train(rows, Options(epochs=3, min_count=1))
    assert model.to_json() == train(rows, Options(epochs=3, min_count=1)).to_json()
    assert 0.0 <= model.score(probe).score <= 1.0
