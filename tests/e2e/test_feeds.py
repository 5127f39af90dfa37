"""The real daemon polling a real local feed (ETag) and taking HTTP posts: graded once, across a restart."""

from __future__ import annotations

import http.client
import json
import sqlite3
from pathlib import Path

from tests.conftest import free_port
from tests.daemon.ingest.test_feeds import FeedServer, feed_server
from tests.e2e.harness import Daemon, wait_until
from tests.e2e.test_crash import write_config

__all__ = ["feed_server"]  # the fixture, shared


def post(port: int, body: bytes, token: str) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/v1/messages", body=body,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = conn.getresponse()
    payload = json.loads(response.read())
    conn.close()
    return response.status, payload


def test_feed_and_http_messages_are_graded_once_across_a_restart(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(tmp_path)
    port = free_port()
    config.write_text(config.read_text(encoding="utf-8")
                      + f'feeds: [{{url: "{feed_server.url}", source: news, every: 1s}}]\n'
                      + f'http: {{listen: "127.0.0.1:{port}", token: "t0ken"}}\n', encoding="utf-8")
    feed_server.items = [("a1", "通报", "城南村民集体上访"), ("a2", "天气", "明天晴")]
    daemon = Daemon(config).start()
    try:
        assert daemon.wait_event("message.graded", timeout=20, level="yellow", source="news")
        status, answer = post(port, json.dumps({"id": "h1", "source": "weibo", "text": "网友称有人上访"},
                                               ensure_ascii=False).encode(), "t0ken")
        assert (status, answer["ids"]) == (202, ["h1"])
        assert daemon.wait_event("message.graded", timeout=20, message="h1")
        assert wait_until(lambda: feed_server.hits.count(304) >= 1, timeout=20)
        assert daemon.stop() == 0
    finally:
        daemon.kill()

    again = Daemon(config).start()
    try:
        feed_server.items.append(("a3", "新", "又有人上访"))
        assert again.wait_event("feed.entries", timeout=20, new=1)
        assert again.wait_event("file.processed", timeout=20)
        assert again.stop() == 0
    finally:
        again.kill()
    assert not again.matching("message.duplicate")  # a1 and a2 were never fetched as new again
    db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
    sources = sorted(row[0] for row in db.execute("SELECT source FROM messages"))
    assert sources == ["news", "news", "news", "weibo"]
