"""The duty officer's console in a real headless Chromium on a phone-sized screen, against the real
daemon: log in, a red incident appears without reloading, acknowledge it, the escalation stops."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from daemon.app.console.users import set_password
from rules.county import SHANGHAI
from tests.conftest import free_port
from tests.e2e.cdp import Browser, chromium_path
from tests.e2e.harness import Daemon, drop, wait_until
from tests.e2e.test_ack import ARTIFACTS, RED, write_config

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (make test installs it)")
PASSWORD = "duty-desk-2026"


def test_log_in_see_a_red_incident_appear_without_reloading_ack_it_and_the_escalation_stops(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    with config.open("a", encoding="utf-8") as out:
        out.write("console: {users: ./console-users.yaml}\n")
    set_password(tmp_path / "console-users.yaml", "zhang", PASSWORD)
    daemon = Daemon(config).start()
    base = f"http://127.0.0.1:{port}"
    try:
        with Browser() as browser:
            browser.call("Page.enable")
            browser.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
            browser.call("Page.navigate", url=f"{base}/console")  # no session yet: sent to the login form
            browser.wait_event("Page.loadEventFired")
            assert browser.evaluate("location.pathname") == "/console/login"
            browser.evaluate(f"document.getElementById('name').value = 'zhang';"
                             f" document.getElementById('password').value = {json.dumps(PASSWORD)}")
            browser.click("#login")
            browser.wait_event("Page.loadEventFired")
            assert browser.evaluate("location.pathname") == "/console"
            assert browser.evaluate("document.querySelectorAll('.level-red a.incident').length") == 0
            browser.evaluate("window.stayed = true")  # gone if the page were reloaded

            drop(tmp_path / "var" / "inbox", "red.json", RED)
            assert wait_until(lambda: browser.evaluate(
                "document.querySelectorAll('.level-red a.incident.status-open').length") == 1, timeout=15)
            assert browser.evaluate("window.stayed") is True
            assert "燃气爆炸致人员伤亡" in browser.evaluate("document.querySelector('.level-red .title').innerText")
            assert wait_until(lambda: (browser.evaluate("document.querySelector('.level-red .deadline').innerText")
                                       or "").startswith("剩余 "), timeout=5)  # counting down
            assert browser.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
            browser.screenshot(ARTIFACTS / "console-open.png")  # docs/console.md shows a copy
            updated = browser.evaluate("document.getElementById('updated').innerText")
            beijing = {f"{(datetime.now(SHANGHAI) - timedelta(seconds=s)):%H}:" for s in (0, 10)}  # browser: UTC
            assert any(updated.startswith(f"已更新 {hour}") for hour in beijing), updated
            assert daemon.wait_event("timer.fired", timeout=10, outcome="sent:1", round=1)  # it is escalating

            browser.click(".level-red a.incident")
            browser.wait_event("Page.loadEventFired")
            browser.click("#ack")
            browser.wait_event("Page.loadEventFired")
            status = browser.evaluate("document.getElementById('status').innerText")
            timeline = browser.evaluate("document.getElementById('timeline').innerText")
            browser.screenshot(ARTIFACTS / "console-incident.png")
        assert status.startswith("已确认，处置中（张三，")
        assert "确认" in timeline
        assert "通知" in timeline

        db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
        assert db.execute("SELECT status, acked_by FROM incidents").fetchone() == ("acknowledged", "zhang")
        assert db.execute("SELECT actor, action, detail, client FROM audit ORDER BY id").fetchall() == [
            ("zhang", "login", "控制台登录", "127.0.0.1"), ("zhang", "acknowledge", "控制台", "127.0.0.1")]
        assert daemon.wait_event("timer.fired", timeout=10, outcome="skipped:acknowledged")
        last_round = max(e.get("round", 0) for e in daemon.matching("timer.fired"))
        sent = len(daemon.matching("timer.fired", outcome="sent:1"))
        time.sleep(2.5)  # the repeat is every second: two more would have fired by now
        assert not daemon.matching("timer.fired", outcome="sent:1", round=last_round + 1)
        assert len(daemon.matching("timer.fired", outcome="sent:1")) == sent  # escalation stopped
    finally:
        assert daemon.stop() == 0
