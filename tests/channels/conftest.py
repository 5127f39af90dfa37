"""Real servers on 127.0.0.1 for delivery tests: SMTP (the aiosmtpd sink of tests/conftest.py), HTTP
that records every request (also the ones it answers with an error), and a silent TCP listener."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import SmtpSink, free_port


@pytest.fixture
def mailbox(smtp_server: SmtpSink) -> SmtpSink:
    """The shared SMTP sink (tests/conftest.py), under the name these delivery tests use."""
    return smtp_server


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebServer:
    port: int
    status: int = 200
    requests: list[Request] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def webhook() -> Iterator[WebServer]:
    state = WebServer(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.requests.append(Request(self.path, dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errcode": 0}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word (an SMTP server that hangs before its banner)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield int(listener.getsockname()[1])
    listener.close()


@pytest.fixture
def refused_port() -> int:
    return free_port()  # nothing listens there
