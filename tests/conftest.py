"""Shared fixtures: real local servers (SMTP, HTTP) on 127.0.0.1 with free ports."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, settings

# Property tests run beside real daemons in parallel workers: a slow draw says the machine is busy, not
# that a strategy is wrong. Tests that set their own health checks or deadlines keep them.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

# jieba builds a 9 MB cache on first use; share it across the test session instead of /tmp.
CACHE_DIR = Path(__file__).resolve().parent.parent / ".pytest_cache" / "jieba"
os.environ.setdefault("YUQING_CACHE_DIR", str(CACHE_DIR))


# The longest tests, started first: with pytest-xdist the suite takes as long as its busiest worker, and a
# two-minute test picked up last would add its whole length to the run.
SLOW_FIRST = (
    "tests/e2e/test_crash.py::",
    "tests/daemon/triage/test_reload.py::test_100_reloads",
    "tests/e2e/test_crash_loop.py::",
    "tests/rules/test_message.py::test_any_json_value",
    "tests/rules/test_engine.py::test_the_engine_agrees_with_the_reference",
    "tests/rules/test_text.py::test_both_backends",
    "tests/rules/test_rulefiles_property.py::test_any_structure",
    "tests/e2e/test_ack.py::",
    "tests/rules/test_text.py::test_hits_are_the_keywords_search_mode_yields",
    "tests/e2e/test_escalation.py::",
    "tests/e2e/test_store_trouble.py::",
    "tests/e2e/test_console.py::",
    "tests/e2e/test_daemon.py::test_red_alert_reaches_smtp_and_webhook",
    "tests/e2e/test_chat_ack.py::",
    "tests/e2e/test_outage.py::",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: every other test keeps its order


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)  # as received, for tests of the raw SMTP exchange
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.arrived:
            self.envelopes.append(envelope)
            self.messages.append(parsed)
            self.recipients.append(list(envelope.rcpt_tos))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", free_port())
    # port=0 would not do: the controller's start-up check connects to the port it was given.
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class HttpSink:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give in order; then 200
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout)


@pytest.fixture
def http_server() -> Iterator[HttpSink]:
    sink = HttpSink("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with sink.arrived:
                status = sink.statuses.pop(0) if sink.statuses else 200
                if status == 200:
                    try:
                        payload: Any = json.loads(body)
                    except ValueError:
                        payload = body.decode("utf-8", "replace")
                    sink.requests.append({"path": self.path, "headers": dict(self.headers), "json": payload})
                    sink.arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
