"""The daemon under a service manager: sd_notify READY and watchdog pings, SIGHUP reload, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from tests.conftest import HttpSink, SmtpSink
from tests.e2e.harness import Daemon, drop
from tests.e2e.test_daemon import RULES, write_config


def test_ready_and_watchdog_pings_over_notify_socket(tmp_path: Path, smtp_server: SmtpSink,
                                                     http_server: HttpSink) -> None:
    config = write_config(tmp_path, smtp_server, http_server)
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(30)
    daemon = Daemon(config, env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"})
    try:
        daemon.start()
        states: list[str] = []
        while not (any(s.startswith("READY=1") for s in states) and states.count("WATCHDOG=1") >= 2):
            states.append(sock.recv(4096).decode())
        assert states[0].startswith("READY=1")  # ready comes before any ping
        assert daemon.stop() == 0
        sock.settimeout(5)
        assert sock.recv(4096).decode() in ("STOPPING=1", "WATCHDOG=1")
    finally:
        daemon.kill()
        sock.close()


def test_sighup_reloads_rules_and_a_broken_file_keeps_the_old_ones(
        tmp_path: Path, smtp_server: SmtpSink, http_server: HttpSink) -> None:
    config = write_config(tmp_path, smtp_server, http_server)
    rules = tmp_path / "rules" / "county.yaml"
    inbox = tmp_path / "var" / "inbox"
    daemon = Daemon(config).start()
    try:
        assert daemon.proc is not None
        rules.write_text(RULES + """\
  - id: wage-arrears
    title: 农民工讨薪
    category: 劳动社保
    level: yellow
    when:
      all: [讨薪]
""", encoding="utf-8")
        os.kill(daemon.proc.pid, signal.SIGHUP)
        assert daemon.wait_event("rules.reloaded", timeout=30, rules=4)
        drop(inbox, "wage.json", {"id": "w1", "source": "douyin", "text": "工地农民工年底讨薪无果"})
        assert daemon.wait_event("message.graded", timeout=15, message="w1", level="yellow")

        rules.write_text("rules:\n  - id: broken\n    level: purple\n", encoding="utf-8")
        os.kill(daemon.proc.pid, signal.SIGHUP)
        assert daemon.wait_event("rules.reload_failed", timeout=30, count=2)  # both problems, each logged
        failures = [e["problem"] for e in daemon.matching("rules.reload_failed")]
        assert any(str(rules) + ":3:12: error:" in f for f in failures), failures
        drop(inbox, "wage2.json", {"id": "w2", "source": "douyin", "text": "又有农民工讨薪"})
        assert daemon.wait_event("message.graded", timeout=15, message="w2", level="yellow")  # old rules
        assert daemon.stop() == 0
    finally:
        daemon.kill()
