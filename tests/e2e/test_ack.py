"""The acknowledgement link in a real notification, opened and clicked in a real headless Chromium."""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.cdp import Browser, chromium_path
from tests.e2e.harness import ROOT, Daemon, drop, wait_until
from tests.rulesets import GAS_RULES

ARTIFACTS = ROOT / "build" / "test-artifacts"
RULES = GAS_RULES
RED = {"id": "weibo-1", "source": "weibo", "title": "城东燃气爆炸",
       "text": "今天上午城东小区发生燃气爆炸，已造成两人死亡，现场浓烟滚滚", "metrics": {"reposts": 800}}

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (make test installs it)")


def write_config(root: Path, port: int) -> Path:
    (root / "rules").mkdir()
    (root / "rules" / "county.yaml").write_text(RULES, encoding="utf-8")
    (root / "notify.yaml").write_text(textwrap.dedent("""\
        channels:
          duty-group: "jsonl://./var/duty-group.jsonl"
        people:
          zhang: {name: 张三, role: 值班员}
          zhao: {name: 赵六, role: 县委副书记}
        teams: {值班: [zhang], 领导小组: [zhao]}
        policies:
          red:
            - {notify: [值班], via: [duty-group], deadline: 30m}
            - {after: 1s, unless: acknowledged, notify: [领导小组], via: [duty-group], repeat: 1s}
        """), encoding="utf-8")
    (root / "config.yaml").write_text(textwrap.dedent(f"""\
        state_dir: ./var
        inbox: [{{path: ./var/inbox, source: grid}}]
        rules: ./rules
        notify: ./notify.yaml
        http: {{listen: "127.0.0.1:{port}"}}
        """), encoding="utf-8")
    (root / "var" / "inbox").mkdir(parents=True)
    return root / "config.yaml"


def notifications(root: Path) -> list[dict[str, str]]:
    path = root / "var" / "duty-group.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_clicking_the_link_in_a_notification_acknowledges_and_stops_escalation(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    daemon = Daemon(config).start()
    try:
        drop(tmp_path / "var" / "inbox", "red.json", RED)
        assert wait_until(lambda: any("确认收到" in n["body"] for n in notifications(tmp_path)), timeout=30)
        first = next(n for n in notifications(tmp_path) if "确认收到" in n["body"])
        link = re.search(r"\[确认收到\]\((http://[^)]+)\)", first["body"])
        assert link is not None, first["body"]
        assert daemon.wait_event("timer.fired", timeout=10, outcome="sent:1", round=1)  # it is escalating

        with Browser() as browser:
            browser.call("Page.enable")
            browser.call("Page.navigate", url=link.group(1))
            browser.wait_event("Page.loadEventFired")
            assert browser.evaluate("document.getElementById('status').innerText") == "待确认"
            assert "燃气爆炸致人员伤亡" in browser.evaluate("document.querySelector('h1').innerText")
            browser.click("#ack")
            browser.wait_event("Page.loadEventFired")
            acked = browser.evaluate("document.getElementById('acked').innerText")
            browser.screenshot(ARTIFACTS / "ack-page.png")
        assert acked.startswith("已确认：张三（值班员），")

        db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
        row = db.execute("SELECT status, acked_by FROM incidents").fetchone()
        assert row == ("acknowledged", "zhang")
        # The duty group's link names nobody: the name chosen on the page is recorded as unverified.
        assert db.execute("SELECT actor, action, detail FROM audit").fetchall() == [
            ("zhang", "acknowledge", "确认页面（群组链接，身份未核实）")]
        assert daemon.wait_event("timer.fired", timeout=10, outcome="skipped:acknowledged")
        sent = len(notifications(tmp_path))
        assert not daemon.wait_event("timer.fired", timeout=2.5, outcome="sent:1",
                                     round=max(e.get("round", 0) for e in daemon.matching("timer.fired")) + 1)
        assert len(notifications(tmp_path)) == sent  # escalation stopped
        assert (ARTIFACTS / "ack-page.png").stat().st_size > 1000
    finally:
        assert daemon.stop() == 0
