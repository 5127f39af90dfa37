"""Implausible publication times (1970 from a zeroed field, the year 2099 from a broken clock): the
message is kept and graded, the time is set aside with a warning, and the incident is not dated 1970."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.e2e.harness import yuqing
from tests.e2e.test_crash_loop import write_config


def test_times_in_1970_or_the_far_future_are_ignored_with_a_warning(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    lines = [{"id": "epoch", "text": "城东小区燃气泄漏", "published_at": "1970-01-01T00:00:00+00:00"},
             {"id": "future", "text": "城西燃气管道破裂", "published_at": "2099-01-01T08:00:00+08:00"},
             {"id": "fine", "text": "今天天气晴", "published_at": "2026-11-23T09:30:00+08:00"}]
    (tmp_path / "var" / "inbox" / "times.jsonl").write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    done = yuqing("run", "--once", "-c", str(config))
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    ignored = {e["message"]: e for e in events if e.get("event") == "message.time_ignored"}
    assert set(ignored) == {"epoch", "future"}, done.stderr
    assert ignored["epoch"]["published_at"] == "1970-01-01T00:00:00+00:00"
    graded = {e["message"]: e["level"] for e in events if e.get("event") == "message.graded"}
    assert graded == {"epoch": "yellow", "future": "yellow", "fine": "none"}
    db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
    times = dict(db.execute("SELECT id, published_at FROM messages").fetchall())
    assert times["epoch"] is None
    assert times["future"] is None
    assert times["fine"] is not None
    first_seen = [row[0] for row in db.execute("SELECT first_seen FROM incidents")]
    assert first_seen
    assert all(t is None or t > 1_700_000_000 for t in first_seen), first_seen
