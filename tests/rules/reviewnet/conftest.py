"""The labelled sample the recall-net tests share: 60 incident-like posts and 60 ordinary ones, written for
these tests (tests/rules/data/reviewnet.jsonl)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.reviewnet.train import read_labelled

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reviewnet.jsonl"


@pytest.fixture(scope="session")
def sample() -> list[tuple[str, int]]:
    return read_labelled(SAMPLE)
