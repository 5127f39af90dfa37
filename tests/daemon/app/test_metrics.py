"""/metrics and `yuqing status` from a seeded store; the silent-collector watch; `yuqing backup`."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.app.cli import main
from daemon.app.httpapi import HttpServer, Router
from daemon.app.metrics import CONTENT_TYPE, MetricsEndpoint, render
from daemon.config import Config, FeedSpec, InboxSpec
from daemon.reports.source_watch import check, silences
from daemon.reports.status import gather, record_reload_failure, record_rules
from daemon.store import Store
from rules.text import available_backend
from tests.conftest import free_port
from tests.daemon.seed_reports import DAY, message, notify_config, seed

LATER = DAY + timedelta(days=1)


def deliveries(store: Store) -> None:
    with store.transaction() as db:
        notification = db.execute("SELECT id FROM outbox").fetchone()["id"]
        for at, outcome in ((1.0, "retry"), (2.0, "ok")):
            db.execute("INSERT INTO deliveries (notification_id, at, outcome, detail) VALUES (?, ?, ?, '')",
                       (notification, at, outcome))
        db.execute("INSERT INTO timers (kind, incident_id, level, step, round, due_at) VALUES ('step', 'x', 'red',"
                   " 0, 0, ?)", ((LATER - timedelta(seconds=90)).timestamp(),))


def test_metrics_text_has_every_family_with_the_seeded_figures(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    deliveries(store)
    record_rules(store, "abc123", 7, DAY)
    record_reload_failure(store)
    record_reload_failure(store)
    text = render(store, LATER)
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert samples['yuqing_messages_total{source="weibo"}'] == "2"
    assert samples['yuqing_messages_total{source="hotline"}'] == "2"
    assert samples['yuqing_verdicts_total{level="red"}'] == "3"
    assert samples['yuqing_notifications_total{channel="email",result="retry"}'] == "1"
    assert samples['yuqing_notifications_total{channel="email",result="ok"}'] == "1"
    assert samples['yuqing_outbox_depth{status="pending"}'] == "1"
    assert samples["yuqing_timer_lag_seconds"] == "90"
    assert samples["yuqing_timers_pending"] == "1"
    assert samples["yuqing_reload_failures_total"] == "2"
    assert samples['yuqing_incidents_open{level="blue"}'] == "1"
    assert samples['yuqing_rules_loaded_timestamp_seconds{version="abc123"}'] == str(int(DAY.timestamp()))
    assert "# TYPE yuqing_notifications_total counter" in text


def test_metrics_endpoint_serves_prometheus_text_over_http(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    router = Router()
    router.add("GET", "/metrics", MetricsEndpoint(store, lambda: LATER))
    server = HttpServer(f"127.0.0.1:{free_port()}", router)
    server.start()
    try:
        host, port = server.address
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
            assert response.headers["Content-Type"] == CONTENT_TYPE
            assert 'yuqing_messages_total{source="douyin"} 2' in response.read().decode()
    finally:
        server.stop()


def config(tmp_path: Path, **extra: object) -> Config:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    return Config(path=tmp_path / "config.yaml", state_dir=tmp_path, inboxes=(InboxSpec(inbox),),
                  rules_dir=tmp_path, notify=tmp_path / "notify.yaml", **extra)  # type: ignore[arg-type]


def test_status_reports_backlog_sources_incidents_timers_outbox_and_rules(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    deliveries(store)
    record_rules(store, "abc123", 7, DAY)
    cfg = config(tmp_path)
    (cfg.inboxes[0].path / "a.json").write_text("{}", encoding="utf-8")
    (cfg.inboxes[0].path / ".b.json.tmp").write_text("{", encoding="utf-8")  # still being written
    status = gather(cfg, store, LATER)
    assert status["inbox_backlog"] == {str(cfg.inboxes[0].path): 1}
    assert status["last_message_by_source"]["hotline"] == "2026-11-23T15:00:00+08:00"
    assert status["open_incidents"] == {"red": 0, "yellow": 1, "blue": 1}
    assert (status["timers_pending"], status["timer_lag_s"]) == (1, 90.0)
    assert (status["outbox_pending"], status["outbox_failed"]) == (1, 0)
    assert (status["rules_version"], status["rules"]) == ("abc123", 7)
    assert status["rules_loaded_at"] == "2026-11-23T00:00:00+08:00"
    assert status["tokenizer"] == available_backend()


def test_a_silent_source_raises_exactly_one_admin_alert(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    cfg = config(tmp_path, expect=(("hotline", timedelta(hours=2)), ("weibo", timedelta(days=2))))
    notify = notify_config()
    last_hotline = DAY + timedelta(hours=15)
    assert check(cfg, store, notify, last_hotline + timedelta(hours=1)) == 0  # within its expectation
    assert check(cfg, store, notify, last_hotline + timedelta(hours=3)) == 1
    assert check(cfg, store, notify, last_hotline + timedelta(hours=5)) == 0  # the same silence: told once
    rows = store.query("SELECT id, title, recipients FROM outbox WHERE id LIKE 'admin:silence:%'")
    assert len(rows) == 1
    assert "来源 hotline" in rows[0]["title"]
    assert "李明" in rows[0]["recipients"]
    # It speaks again, then falls silent again: a new silence, a new alert.
    message(store, "h9", "hotline", last_hotline + timedelta(hours=6), None)
    assert check(cfg, store, notify, last_hotline + timedelta(hours=7)) == 0
    assert check(cfg, store, notify, last_hotline + timedelta(hours=9)) == 1


def test_a_feed_never_heard_from_counts_from_when_watching_began(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    cfg = config(tmp_path, feeds=(FeedSpec("http://127.0.0.1:1/rss", "news", timedelta(minutes=5),
                                           expect=timedelta(hours=1)),))
    assert silences(cfg, store, DAY) == []
    found = silences(cfg, store, DAY + timedelta(hours=2))
    assert [(s.key, s.since) for s in found] == [("feed:http://127.0.0.1:1/rss", DAY)]


def test_backup_copies_a_live_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "notify.yaml").write_text("channels: {c: 'console://'}\npolicies: {}\n", encoding="utf-8")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("state_dir: ./var\nrules: ./rules\nnotify: ./notify.yaml\n", encoding="utf-8")
    store, _ = seed(tmp_path / "var" / "yuqing.db")
    store.db.execute("BEGIN")  # a reader holding a snapshot does not block the backup
    target = tmp_path / "copy.db"
    assert main(["backup", "-c", str(cfg), str(target)]) == 0
    assert "integrity ok" in capsys.readouterr().out
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM incidents").fetchone()[0] == 3
    assert main(["backup", "-c", str(cfg), str(target)]) == 1  # never overwrites
    assert main(["status", "-c", str(cfg), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["open_incidents"] == {"red": 0, "yellow": 1, "blue": 1}


def test_status_never_shows_a_webhook_key_or_feed_token(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    with store.transaction() as db:
        db.execute("UPDATE outbox SET last_error = ?", ("POST json://hooks.example.gov.cn/hook/s3cr3t failed:"
                                                       " https://oapi.dingtalk.com/robot/send?access_token=ab12cd34",))
        db.execute("INSERT INTO feed_state (url, state, failures, next_poll_at, last_ok_at) VALUES (?, 'ok', 0, 0, 1)",
                   ("https://rss.example.cn/feed?token=feedtok123",))
    text = json.dumps(gather(config(tmp_path), store, LATER), ensure_ascii=False)
    for secret in ("s3cr3t", "ab12cd34", "feedtok123"):
        assert secret not in text
    assert "json://hooks.example.gov.cn/hook/***" in text
    assert "https://rss.example.cn/feed?token=***" in text


def test_metrics_say_when_the_store_cannot_be_written(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db", busy_timeout=0.1)
    assert "yuqing_store_writable 1\n" in render(store, DAY)
    locker = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError), store.transaction() as db:
        db.execute("INSERT INTO meta VALUES ('k', 'v')")
    assert "yuqing_store_writable 0\n" in render(store, DAY)  # read while the lock is still held
    locker.execute("COMMIT")
    assert store.probe()
    assert "yuqing_store_writable 1\n" in render(store, DAY)
