"""Acknowledging from DingTalk against the real daemon process: its Stream connection (the real
dingtalk-stream SDK) to a local gateway on 127.0.0.1, a red incident escalating, a private reply "收到"
from the duty officer, and the escalation stopping."""

from __future__ import annotations

import sqlite3
import textwrap
import time
from pathlib import Path

from tests.daemon.app.dingtalk_server import BOT_TOPIC, StreamGateway, bot_text
from tests.e2e.harness import Daemon, county, drop
from tests.e2e.test_ack import RED
from tests.rulesets import GAS_RULES


def test_a_reply_in_dingtalk_acknowledges_and_the_escalation_stops(tmp_path: Path) -> None:
    gateway = StreamGateway()
    config = county(tmp_path, GAS_RULES, textwrap.dedent(f"""\
        channels: {{local: "jsonl://./var/sent.jsonl"}}
        people: {{zhang: {{name: 张三, role: 值班员, dingtalk: staff-zhang}}, zhao: {{name: 赵六}}}}
        teams: {{值班: [zhang], 领导小组: [zhao]}}
        dingtalk_stream: {{client_id: app-key, client_secret: app-secret, endpoint: "{gateway.endpoint}"}}
        policies:
          red:
            - {{notify: [值班], via: [local]}}
            - {{after: 1s, unless: acknowledged, notify: [领导小组], via: [local], repeat: 1s, until: 60s}}
        """), source="weibo")
    daemon = Daemon(config).start()
    try:
        assert gateway.connected.get(timeout=20).endswith("ticket=ticket-1")  # the daemon dialled out
        drop(tmp_path / "var" / "inbox", "red.json", RED)
        assert daemon.wait_event("timer.fired", timeout=20, outcome="sent:1", round=1)  # it is escalating
        incident = daemon.matching("incident.opened")[0]["incident"]

        gateway.push(BOT_TOPIC, bot_text("staff-zhang", "收到", gateway.session_webhook()), "m1")
        assert daemon.wait_event("timer.fired", timeout=10, outcome="skipped:acknowledged")
        db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
        assert db.execute("SELECT status, acked_by FROM incidents").fetchone() == ("acknowledged", "zhang")
        assert db.execute("SELECT actor, action, client FROM audit").fetchall() == [
            ("zhang", "acknowledge", "dingtalk")]
        assert incident in gateway.replies[-1]["text"]["content"]  # the robot says which incident
        sent = len(daemon.matching("timer.fired", outcome="sent:1"))
        time.sleep(2.5)  # the repeat is every second: two more would have fired by now
        assert len(daemon.matching("timer.fired", outcome="sent:1")) == sent
    finally:
        assert daemon.stop() == 0
        gateway.close()
