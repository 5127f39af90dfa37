from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from daemon.store import SCHEMA_VERSION, Store, StoreTooNew
from daemon.store.health import StoreUnwritable
from tests.e2e.harness import county, yuqing

V1_INCIDENTS = """CREATE TABLE incidents (
    id TEXT PRIMARY KEY, level TEXT NOT NULL, status TEXT NOT NULL, title TEXT NOT NULL,
    category TEXT NOT NULL, teams TEXT NOT NULL, opened_at REAL NOT NULL, level_at REAL NOT NULL,
    deadline_at REAL, acked_at REAL, acked_by TEXT, resolved_at REAL, first_message TEXT NOT NULL,
    alert TEXT NOT NULL)"""


def test_a_version_1_state_file_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(f"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     f"INSERT INTO meta VALUES ('schema_version', '1'); {V1_INCIDENTS};"
                     "INSERT INTO incidents VALUES ('YQ-1', 'red', 'open', 't', '', '[]', 1, 1, NULL, NULL, NULL,"
                     " NULL, 'm', '{}');")
    db.close()
    store = Store(path)
    columns = {r["name"] for r in store.query("PRAGMA table_info(incidents)")}
    assert {"spread", "first_seen", "first_source", "first_url", "updated_at", "resurgences"} <= columns
    assert store.one("SELECT spread FROM incidents WHERE id = 'YQ-1'")["spread"] == "{}"  # type: ignore[index]
    assert store.one("SELECT value FROM meta WHERE key = 'schema_version'")["value"] == str(SCHEMA_VERSION)  # type: ignore[index]
    store.close()
    Store(path).close()  # opening again changes nothing


def test_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.one("PRAGMA journal_mode")[0] == "wal"  # type: ignore[index]


def test_a_store_written_by_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 2),))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = path.read_bytes()

    with pytest.raises(StoreTooNew) as refused:
        Store(path)

    message = str(refused.value)
    assert f"schema version {SCHEMA_VERSION + 2}" in message
    assert f"up to {SCHEMA_VERSION}" in message
    assert str(path) in message
    assert path.read_bytes() == before  # not migrated, not lowered
    check = sqlite3.connect(path)
    assert check.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        str(SCHEMA_VERSION + 2),)
    check.close()


def test_the_cli_refuses_a_newer_store_with_both_versions(tmp_path: Path) -> None:
    config = county(tmp_path, "rules: []\n", "channels: {console: \"console://\"}\n")
    path = tmp_path / "var" / "yuqing.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    done = yuqing("status", "-c", str(config))
    assert done.returncode == 1, done.stderr
    assert "99" in done.stderr
    assert f"up to {SCHEMA_VERSION}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_store_locked_past_the_busy_timeout_is_unwritable_until_a_write_goes_through(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db", busy_timeout=0.1)
    locker = sqlite3.connect(tmp_path / "s.db", isolation_level=None, timeout=0)
    locker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreUnwritable), store.transaction() as db:
        db.execute("INSERT INTO meta VALUES ('k', 'v')")
    assert not store.health.writable
    trouble = store.health.trouble
    assert trouble is not None
    assert "locked" in trouble.reason
    assert store.one("SELECT count(*) FROM meta")[0] >= 1  # type: ignore[index]  # reads go on (WAL)
    assert not store.probe(busy_timeout=0.05)
    assert store.health.take_unannounced() == trouble
    assert store.health.take_unannounced() is None  # the admin is told once per episode

    locker.execute("COMMIT")
    with store.transaction() as db:  # reads only: proves nothing
        db.execute("SELECT 1").fetchone()
    assert not store.health.writable
    assert store.probe()
    assert store.health.writable
    assert store.health.take_ended() == trouble
    assert store.one("SELECT value FROM meta WHERE key = 'k'") is None  # the failed write left nothing


def test_an_in_memory_store_is_one_database_for_every_thread_and_leaves_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store.in_memory()
    assert not store.on_disk
    assert store.one("SELECT value FROM meta WHERE key = 'schema_version'")["value"] == str(SCHEMA_VERSION)  # type: ignore[index]
    with store.transaction() as db:
        db.execute("INSERT INTO audit (at, actor, action, detail) VALUES (1, 'li', 'ack', '')")
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(store.one("SELECT count(*) FROM audit")[0]))  # type: ignore[index]
    thread.start()
    thread.join()
    assert seen == [1]  # the delivery thread reads what the evaluation thread wrote
    store.close()
    assert store.one("SELECT count(*) FROM audit")[0] == 1  # type: ignore[index]  # close keeps it
    assert Store.in_memory().one("SELECT count(*) FROM audit")[0] == 0  # type: ignore[index]  # each its own
    assert list(tmp_path.iterdir()) == []
