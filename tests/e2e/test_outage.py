"""SIGKILL during an SMTP outage loses no notification: it waits in the outbox across the crash and goes
out once when the server is back."""

from __future__ import annotations

import signal
import sqlite3
import textwrap
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.conftest import SmtpSink, free_port
from tests.e2e.harness import Daemon, county, drop, wait_until

RULES = """\
rules:
  - id: explosion
    title: 燃气爆炸
    level: red
    when: {all: [爆炸]}
"""


def test_a_notification_survives_sigkill_during_an_smtp_outage(tmp_path: Path) -> None:
    port = free_port()  # nobody listens yet: the mail server is down
    config = county(tmp_path, RULES, textwrap.dedent(f"""\
        channels:
          email: "mailto://127.0.0.1:{port}?from=alerts@example.gov.cn&mode=insecure"
        people: {{zhang: {{name: 张三, email: zhang@example.gov.cn}}}}
        teams: {{值班: [zhang]}}
        retry: {{first: 1s, max: 2s}}
        policies:
          red: [{{notify: [值班], via: [email]}}]
        """), source="weibo")
    inbox = tmp_path / "var" / "inbox"

    first = Daemon(config).start()
    try:
        drop(inbox, "boom.json", {"id": "b1", "text": "城东小区发生燃气爆炸"})
        assert first.wait_event("notify.retry", timeout=30, channel="email", count=2), first.raw[-10:]
        assert first.proc is not None
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
    finally:
        first.kill()
    db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
    assert db.execute("SELECT status FROM outbox").fetchall() == [("pending",)]

    sink = SmtpSink("127.0.0.1", port)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    again = Daemon(config)
    try:
        again.start()
        assert sink.wait_for(1, timeout=30), again.raw[-10:]
        assert "燃气爆炸" in str(sink.messages[0]["Subject"])
        assert wait_until(lambda: db.execute("SELECT status FROM outbox").fetchall() == [("sent",)], 10)
        assert not sink.wait_for(2, timeout=3)  # once, not twice
        assert again.stop() == 0
    finally:
        again.kill()
        controller.stop()
