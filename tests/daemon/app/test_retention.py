"""Housekeeping of processed/ day folders and remembered feed items (daemon/app/retention.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from daemon.app.retention import prune_feed_items, prune_processed
from daemon.clock import to_epoch
from daemon.store import Store
from rules.county import SHANGHAI

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


def test_day_folders_older_than_the_limit_go_and_nothing_else(tmp_path: Path) -> None:
    processed = tmp_path / "inbox" / "processed"
    for day in ("2026-08-01", "2026-08-24", "2026-08-25", "2026-11-23"):
        (processed / day).mkdir(parents=True)
        (processed / day / "a.json").write_text("{}", encoding="utf-8")
    (processed / "notes").mkdir()
    (processed / "2026-01-01.json").write_text("{}", encoding="utf-8")  # a file, not a day folder
    elsewhere = tmp_path / "keep"
    elsewhere.mkdir()
    (elsewhere / "precious.json").write_text("{}", encoding="utf-8")
    (processed / "2026-01-02").symlink_to(elsewhere)  # never followed, never removed

    assert prune_processed([processed, tmp_path / "missing"], timedelta(days=90), NOW) == 2
    assert sorted(p.name for p in processed.iterdir()) == [
        "2026-01-01.json", "2026-01-02", "2026-08-25", "2026-11-23", "notes"]
    assert (elsewhere / "precious.json").exists()
    assert prune_processed([processed], timedelta(days=90), NOW) == 0


def test_a_processed_folder_that_is_a_link_is_not_pruned_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "state"
    (elsewhere / "2026-01-01").mkdir(parents=True)  # looks like an old day folder, but is not the inbox's
    (elsewhere / "2026-01-01" / "backup.db").write_bytes(b"x")
    processed = tmp_path / "inbox" / "processed"
    processed.parent.mkdir()
    processed.symlink_to(elsewhere)
    assert prune_processed([processed], timedelta(days=90), NOW) == 0
    assert (elsewhere / "2026-01-01" / "backup.db").exists()


def test_feed_items_older_than_the_limit_are_forgotten(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    with store.transaction() as db:
        db.executemany("INSERT INTO feed_seen (url, guid, at) VALUES (?, ?, ?)", [
            ("http://a/rss", "old", to_epoch(NOW - timedelta(days=200))),
            ("http://a/rss", "recent", to_epoch(NOW - timedelta(days=10))),
            ("http://b/rss", "old", to_epoch(NOW - timedelta(days=181))),
        ])
    assert prune_feed_items(store, timedelta(days=180), NOW) == 2
    assert [tuple(r) for r in store.query("SELECT url, guid FROM feed_seen")] == [("http://a/rss", "recent")]
