"""Feeds against a real local HTTP server with ETag / Last-Modified: dedupe, backoff, one log per change."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon.config import FeedSpec
from daemon.ingest.feeds import FeedPoller, backoff
from daemon.store import Store


def rss(items: list[tuple[str, str, str]], dates: dict[str, str] | None = None) -> bytes:
    dates = dates or {}
    body = "".join(f"<item><guid>{g}</guid><title>{t}</title><link>http://example.gov.cn/{g}</link>"
                   f"<description><![CDATA[<p>{d}</p>]]></description>"
                   f"<pubDate>{dates.get(g, 'Mon, 23 Nov 2026 01:30:00 GMT')}</pubDate></item>"
                   for g, t, d in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>县新闻</title>{body}'
            "</channel></rss>").encode()


@dataclass
class FeedServer:
    url: str = ""
    items: list[tuple[str, str, str]] = field(default_factory=list)
    status: int = 200
    hits: list[int] = field(default_factory=list)  # the status of every answer
    dates: dict[str, str] = field(default_factory=dict)  # guid: pubDate, where not the default

    @property
    def etag(self) -> str:
        return f'"v{len(self.items)}"'


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if state.status != 200:
                code = state.status
                body = b"down"
            elif self.headers.get("If-None-Match") == state.etag:
                code, body = 304, b""
            else:
                code, body = 200, rss(state.items, state.dates)
            state.hits.append(code)
            self.send_response(code)
            if code in (200, 304):
                self.send_header("ETag", state.etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/rss.xml"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def spooled(spool: Path) -> list[dict[str, Any]]:
    if not spool.exists():
        return []
    return [json.loads(line) for f in sorted(spool.glob("*.jsonl")) for line in f.read_text("utf-8").splitlines()]


def test_etag_and_guid_dedupe_across_restarts(tmp_path: Path, feed_server: FeedServer) -> None:
    spec = FeedSpec(feed_server.url, "news", timedelta(minutes=5), region="青川县")
    feed_server.items = [("a1", "城东燃气爆炸", "已造成两人<b>死亡</b>"), ("a2", "天气", "明天晴")]
    store = Store(tmp_path / "db.sqlite")
    poller = FeedPoller((spec,), store, tmp_path / "spool", now=time.time)
    assert poller.poll(spec) == 2
    first = spooled(tmp_path / "spool")
    assert [m["title"] for m in first] == ["城东燃气爆炸", "天气"]
    assert first[0]["text"] == "已造成两人死亡"  # HTML stripped
    assert (first[0]["source"], first[0]["region"]) == ("news", "青川县")
    assert first[0]["url"] == "http://example.gov.cn/a1"
    assert first[0]["published_at"] == "2026-11-23T01:30:00+00:00"

    assert poller.poll(spec) == 0
    assert feed_server.hits == [200, 304]  # the ETag was sent back

    # A new poller on the same store (a restart) sends the ETag too, and knows the guids.
    feed_server.items.append(("a3", "新消息", "河湾村拆迁"))
    again = FeedPoller((spec,), Store(tmp_path / "db.sqlite"), tmp_path / "spool", now=time.time)
    assert again.poll(spec) == 1
    assert [m["title"] for m in spooled(tmp_path / "spool")] == ["城东燃气爆炸", "天气", "新消息"]
    assert len({m["id"] for m in spooled(tmp_path / "spool")}) == 3


def test_backoff_doubles_and_logs_once_per_state_change(tmp_path: Path, feed_server: FeedServer) -> None:
    spec = FeedSpec(feed_server.url, "news", timedelta(seconds=30), max_backoff=timedelta(minutes=2))
    assert [backoff(spec, n) for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 120, 120]
    clock = [1000.0]
    store = Store(tmp_path / "db.sqlite")
    poller = FeedPoller((spec,), store, tmp_path / "spool", now=lambda: clock[0])
    feed_server.items = [("a1", "标题", "正文")]
    with capture_logs() as logs:
        poller.poll(spec)
        feed_server.status = 500
        for _ in range(4):
            poller.poll(spec)
        state = poller.load(spec.url)
        assert (state.state, state.failures, state.last_error) == ("failing", 4, "HTTP 500 Internal Server Error")
        assert state.next_poll_at == 1000.0 + 120
        feed_server.status = 200
        poller.poll(spec)
        poller.poll(spec)
    events = [e["event"] for e in logs if e["event"].startswith("feed.")]
    assert events == ["feed.ok", "feed.entries", "feed.failing", "feed.recovered"]
    assert poller.load(spec.url).failures == 0


def test_unreachable_and_non_feed_answers_are_failures_not_crashes(tmp_path: Path, feed_server: FeedServer) -> None:
    store = Store(tmp_path / "db.sqlite")
    dead = FeedSpec("http://127.0.0.1:1/rss.xml", "news", timedelta(seconds=5), timeout=timedelta(seconds=2))
    poller = FeedPoller((dead,), store, tmp_path / "spool", now=time.time)
    assert poller.poll(dead) == 0
    assert "cannot reach" in (poller.load(dead.url).last_error or "")


def test_the_thread_polls_on_its_interval_and_stops(tmp_path: Path, feed_server: FeedServer) -> None:
    spec = FeedSpec(feed_server.url, "news", timedelta(seconds=0.2))
    feed_server.items = [("a1", "标题", "正文")]
    poller = FeedPoller((spec,), Store(tmp_path / "db.sqlite"), tmp_path / "spool", now=time.time)
    poller.start()
    try:
        deadline = threading.Event()
        for _ in range(50):
            if len(feed_server.hits) >= 3:
                break
            deadline.wait(0.1)
    finally:
        poller.stop()
    assert feed_server.hits[:3] == [200, 304, 304]
    assert poller.thread is not None
    assert not poller.thread.is_alive()
    assert len(spooled(tmp_path / "spool")) == 1


def test_an_entry_with_an_impossible_date_is_kept_without_it_and_the_poller_goes_on(
        tmp_path: Path, feed_server: FeedServer) -> None:
    spec = FeedSpec(feed_server.url, "news", timedelta(minutes=5))
    feed_server.items = [("a1", "燃气泄漏", "城东小区燃气泄漏"), ("a2", "天气", "明天晴")]
    feed_server.dates = {"a1": "0000-00-00T00:00:00Z"}  # feedparser makes that year -1
    poller = FeedPoller((spec,), Store(tmp_path / "db.sqlite"), tmp_path / "spool", now=time.time)
    with capture_logs() as logs:
        assert poller.poll(spec) == 2
    first, second = spooled(tmp_path / "spool")
    assert first["text"] == "城东小区燃气泄漏"
    assert "published_at" not in first
    assert second["published_at"] == "2026-11-23T01:30:00+00:00"
    assert poller.load(spec.url).state == "ok"
    assert any(e["event"] == "feed.bad_date" for e in logs)
