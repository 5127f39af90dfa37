"""HTTP ingest on a real listener: 202 with ids into the spool, 400 naming the problem, 401, 413, 404/405."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon import logs
from daemon.app.httpapi import HttpLimits, HttpServer, Response, Router, serve_http
from daemon.config import Config
from tests.e2e.harness import wait_until

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


# ---------------------------------------------------------------- hostile and broken clients

LIMITS = HttpLimits(max_connections=4, request_timeout=0.6, max_header_bytes=8192)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[HttpServer]:
    router = Router()
    router.add("GET", "/ping", lambda request: Response(200, b"pong", "text/plain"))
    router.add("POST", "/echo", lambda request: Response(200, request.body, "text/plain"), max_body=1000)
    running = HttpServer("127.0.0.1:0", router, LIMITS)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def raw(server: HttpServer, data: bytes, *, timeout: float = 5) -> tuple[int, bytes]:
    """Send ``data`` as is; the status and body of the answer (0 when the server only closed)."""
    with socket.create_connection(server.address, timeout=timeout) as conn:
        conn.sendall(data)
        return read_answer(conn)


def read_answer(conn: socket.socket) -> tuple[int, bytes]:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer:
        return 0, b""
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize(("length", "status"), [
    (b"-1", 400), (b"abc", 400), (b" 12x", 400), (b"1e3", 400), (b"5, 5", 400),
    (b"99999999999999999999999999", 413), (b"1001", 413),
])
def test_a_bad_or_huge_content_length_gets_an_answer_at_once(limited: HttpServer, length: bytes,
                                                             status: int) -> None:
    started = time.monotonic()
    code, _ = raw(limited, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\nhello")
    assert code == status
    assert time.monotonic() - started < LIMITS.request_timeout  # answered, not read until the timeout


def test_a_bad_content_length_on_a_get_is_a_400_not_a_traceback(limited: HttpServer) -> None:
    assert raw(limited, b"GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")[0] == 400
    assert raw(limited, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n") == (200, b"pong")


def test_a_body_shorter_than_announced_is_a_400(limited: HttpServer) -> None:
    with socket.create_connection(limited.address, timeout=5) as conn:
        conn.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly this")
        conn.shutdown(socket.SHUT_WR)
        assert read_answer(conn)[0] == 400


def test_huge_headers_get_431(limited: HttpServer) -> None:
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"y" * 1000) for i in range(20))
    assert raw(limited, b"GET /ping HTTP/1.1\r\nHost: x\r\n" + padding + b"\r\n")[0] == 431


def test_a_slow_client_gets_408_when_its_time_is_up(limited: HttpServer) -> None:
    started = time.monotonic()
    with socket.create_connection(limited.address, timeout=5) as conn:
        try:
            for byte in b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 40:  # a byte every 50 ms, never done
                conn.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            pass  # the server closed it: the answer is still in our receive buffer
        status, _ = read_answer(conn)
    assert status == 408
    assert time.monotonic() - started < LIMITS.request_timeout + 1.5


def test_connections_over_the_cap_get_503_and_threads_stay_bounded(limited: HttpServer) -> None:
    before = threading.active_count()
    idle = [socket.create_connection(limited.address, timeout=5) for _ in range(LIMITS.max_connections)]
    try:
        time.sleep(0.1)  # every one accepted and waiting for its request
        over = []
        for _ in range(20):
            with socket.create_connection(limited.address, timeout=5) as conn:
                over.append(read_answer(conn)[0])  # answered before it even sent a request
        assert set(over) == {503}
        assert threading.active_count() <= before + LIMITS.max_connections
    finally:
        for conn in idle:
            conn.close()
    assert wait_until(lambda: raw(limited, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200, timeout=5)


def test_the_stalled_ones_are_dropped_in_time_and_service_resumes(limited: HttpServer) -> None:
    idle = [socket.create_connection(limited.address, timeout=5) for _ in range(LIMITS.max_connections)]
    try:
        assert [read_answer(conn)[0] for conn in idle] == [408] * LIMITS.max_connections
        assert raw(limited, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n") == (200, b"pong")
    finally:
        for conn in idle:
            conn.close()


def test_query_strings_never_reach_the_log(limited: HttpServer, capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup(json_lines=True, level=logging.DEBUG)
    try:
        assert raw(limited, b"GET /ping?t=YQ-1.zhang.abc.SIGNATURE-SECRET HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
        assert raw(limited, b"GET /nope?t=SIGNATURE-SECRET HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 404
        time.sleep(0.1)  # the handler thread logs after answering
    finally:
        logs.setup(json_lines=True)
    err = capsys.readouterr().err
    assert "GET /ping?" in err
    assert "SIGNATURE-SECRET" not in err
