"""HTTP ingest on a real listener: 202 with ids into the spool, 400 naming the problem, 401, 413, 404/405."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.config import Config
from daemon.httpapi import HttpServer, Response, serve_http

TOKEN = "s3cret-token"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HttpServer]:
    config = Config(path=tmp_path / "c.yaml", state_dir=tmp_path, inboxes=(), rules_dir=tmp_path,
                    notify=tmp_path / "n.yaml", http_listen="127.0.0.1:0", http_token=TOKEN, max_file_bytes=2000)
    running = serve_http(config, tmp_path / "spool")
    assert running is not None
    try:
        yield running
    finally:
        running.stop()


def call(server: HttpServer, body: bytes, *, token: str | None = TOKEN, content_type: str = "application/json",
         path: str = "/api/v1/messages", method: str = "POST") -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection(*server.address, timeout=10)
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, payload


def spooled(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted((tmp_path / "spool").glob("*.jsonl"))
            for line in f.read_text("utf-8").splitlines()]


def test_json_and_jsonl_are_accepted_with_their_ids(server: HttpServer, tmp_path: Path) -> None:
    status, body = call(server, json.dumps([{"id": "weibo-1", "source": "weibo", "text": "城东燃气爆炸"},
                                            {"source": "grid", "text": "村口堵路"}], ensure_ascii=False).encode())
    assert status == 202
    assert body["accepted"] == 2
    assert body["ids"][0] == "weibo-1"
    assert body["ids"][1].startswith("sha256-")
    lines = '{"source": "douyin", "text": "拆迁户聚集"}\n'.encode()
    status, body = call(server, lines, content_type="application/x-ndjson")
    assert status == 202
    assert [m["text"] for m in spooled(tmp_path)] == ["城东燃气爆炸", "村口堵路", "拆迁户聚集"]
    assert not list((tmp_path / "spool").glob(".*"))  # no temp file left behind


@pytest.mark.parametrize(("body", "content_type", "problem"), [
    (b'{"source": "weibo", "text": ', "application/json", "invalid JSON at line 1"),
    (b'[{"source": "weibo", "text": "ok"}, {"source": "weibo"}]', "application/json", 'record 2: "text": required'),
    (b'{"text": "ok"}\n{"source": "x", "text": "y"}\n', "application/x-ndjson", 'line 1: "source": required'),
    (b"", "application/json", "empty body"),
])
def test_bad_requests_name_the_problem_and_accept_nothing(server: HttpServer, tmp_path: Path, body: bytes,
                                                          content_type: str, problem: str) -> None:
    status, answer = call(server, body, content_type=content_type)
    assert status == 400
    assert problem in " ".join([answer["error"], *answer.get("problems", [])])
    assert spooled(tmp_path) == []


def test_token_size_and_routing(server: HttpServer, tmp_path: Path) -> None:
    good = b'{"source": "weibo", "text": "ok"}'
    assert call(server, good, token=None)[0] == 401
    assert call(server, good, token="wrong")[0] == 401
    status, answer = call(server, b'{"source": "weibo", "text": "' + b"x" * 3000 + b'"}')
    assert status == 413
    assert "over the limit of 2000" in answer["error"]
    assert call(server, b"", path="/nope", method="GET")[0] == 404
    assert call(server, b"", method="GET")[0] == 405
    assert spooled(tmp_path) == []


def test_the_router_takes_more_endpoints_on_the_same_listener(server: HttpServer) -> None:
    server.router.add("GET", "/metrics", lambda request: Response(200, b"yuqing_up 1\n", "text/plain"))
    conn = http.client.HTTPConnection(*server.address, timeout=10)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"yuqing_up 1\n")
    conn.close()


def test_off_unless_listen_is_set(tmp_path: Path) -> None:
    config = Config(path=tmp_path / "c.yaml", state_dir=tmp_path, inboxes=(), rules_dir=tmp_path,
                    notify=tmp_path / "n.yaml")
    assert serve_http(config, tmp_path / "spool") is None
