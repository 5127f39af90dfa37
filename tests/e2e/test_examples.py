"""The example configuration a newcomer runs with `make run`: it validates, and grades the samples
exactly as examples/inbox-samples/README.md says."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, yuqing

EXAMPLES = ROOT / "examples"
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| `(?P<id>[^`]+)` \| (?P<level>none|blue|yellow|red) \|")


def expected_levels() -> dict[str, str]:
    text = (EXAMPLES / "inbox-samples" / "README.md").read_text(encoding="utf-8")
    return {m["id"]: m["level"] for m in map(ROW.match, text.splitlines()) if m}


@pytest.fixture
def county(tmp_path: Path) -> Path:
    """A copy of examples/ without runtime state, outside any sensitive period (levels would rise)."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("var"))
    (target / "periods.yaml").write_text("periods: []\n", encoding="utf-8")
    return target


def test_the_table_covers_every_sample() -> None:
    levels = expected_levels()
    assert len(levels) >= 20
    assert {"none", "blue", "yellow", "red"} <= set(levels.values())


def test_examples_check_cleanly() -> None:
    result = yuqing("check", "-c", str(EXAMPLES / "config.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed, 0 errors" in result.stdout


def test_run_once_grades_every_sample_as_documented(county: Path) -> None:
    inbox = county / "var" / "inbox"
    inbox.mkdir(parents=True)
    for sample in (county / "inbox-samples").glob("*.json*"):
        shutil.copy(sample, inbox / sample.name)
    stale = inbox / "processed" / "2025-01-02"  # handled long ago: past the default 90 days
    stale.mkdir(parents=True)
    (stale / "old.json").write_text("{}", encoding="utf-8")
    result = yuqing("run", "--once", "-c", str(county / "config.yaml"), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not stale.exists()
    (kept,) = [p.name for p in (inbox / "processed").iterdir()]
    assert date.fromisoformat(kept) > date(2026, 1, 1)  # today's, in Asia/Shanghai

    db = sqlite3.connect(county / "var" / "yuqing.db")
    assert dict(db.execute("SELECT id, level FROM messages").fetchall()) == expected_levels()
    assert not list((inbox / "failed").iterdir())
    assert [p.name for p in inbox.iterdir() if p.is_file()] == []

    # Red and yellow are told at once; blue waits for the daily digest.
    sent = db.execute("SELECT o.channel, i.level, o.status FROM outbox o JOIN incidents i"
                      " ON i.id = o.incident_id").fetchall()
    assert {level for _, level, _ in sent} == {"red", "yellow"}
    assert all(status == "sent" for _, _, status in sent)
    sms = [json.loads(line) for line in (county / "var" / "outbox" / "sms.jsonl").read_text("utf-8").splitlines()]
    assert sms
    assert all(len(m["title"]) + 1 + len(m["body"]) <= 140 for m in sms)  # two SMS segments at most
    assert "【红色预警】" in result.stdout  # the console channel shows the alert

    # A second run over the same samples notifies nobody again.
    for sample in (county / "inbox-samples").glob("*.json*"):
        shutil.copy(sample, inbox / sample.name)
    again = yuqing("run", "--once", "-c", str(county / "config.yaml"), timeout=120)
    assert again.returncode == 0
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == len(sent)
