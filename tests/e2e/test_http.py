"""The HTTP listener of a real daemon under attack: grading and delivery go on whatever clients do."""

from __future__ import annotations

import json
import os
import resource
import socket
import textwrap
import urllib.request
from pathlib import Path

from tests.conftest import free_port
from tests.e2e.harness import Daemon, county, drop, wait_until
from tests.rulesets import GAS_RULES

RULES = GAS_RULES
NOTIFY = """\
channels:
  duty-group: "jsonl://./var/duty-group.jsonl"
people:
  zhang: {name: 张三, role: 值班员}
teams: {值班: [zhang]}
policies:
  red:
    - {notify: [值班], via: [duty-group]}
"""
RED = {"id": "weibo-1", "source": "weibo", "text": "城东小区发生燃气爆炸，已造成两人死亡"}
ATTACKERS = 400


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def delivered(root: Path) -> list[dict[str, str]]:
    path = root / "var" / "duty-group.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def attack(port: int) -> list[socket.socket]:
    """Slow clients that never finish their headers, and some with a negative Content-Length."""
    held = []
    for n in range(ATTACKERS):
        conn = socket.socket()
        conn.settimeout(5)
        try:
            conn.connect(("127.0.0.1", port))
            conn.sendall(b"POST /api/v1/messages HTTP/1.1\r\nContent-Length: -1\r\n\r\n" if n % 10 == 0
                         else b"GET /metrics HTTP/1.1\r\nX-Slow: ")
        except OSError:
            conn.close()  # the backlog is full: that is the kernel refusing, not the daemon failing
            continue
        held.append(conn)
    return held


def test_grading_goes_on_while_the_listener_is_flooded_and_short_of_file_descriptors(tmp_path: Path) -> None:
    port = free_port()
    config = county(tmp_path, RULES, NOTIFY, extra=textwrap.dedent(f"""\
        http: {{listen: "127.0.0.1:{port}", token: "t0ken-for-tests"}}
        """))
    daemon = Daemon(config).start()
    held: list[socket.socket] = []
    try:
        assert daemon.proc is not None
        pid = daemon.proc.pid
        assert wait_until(lambda: daemon.matching("http.listening") != [], timeout=20), daemon.report()
        baseline_fds, baseline_threads = open_fds(pid), threads(pid)
        # Room for the daemon's own work and a few dozen connections, not for one thread per client.
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (baseline_fds + 48, resource.getrlimit(
            resource.RLIMIT_NOFILE)[1]))
        held = attack(port)
        assert len(held) > 100
        drop(tmp_path / "var" / "inbox", "red.json", RED)
        assert wait_until(lambda: any("燃气爆炸" in n["title"] for n in delivered(tmp_path)), timeout=30), \
            daemon.report()
        assert daemon.alive()
        assert threads(pid) <= baseline_threads + 32 + 2, "request threads are bounded"
        assert daemon.matching("http.busy")  # the connections over the cap were told 503
    finally:
        for conn in held:
            conn.close()
    try:
        def metrics_answer() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        assert wait_until(metrics_answer, timeout=20), daemon.report()  # the listener recovers by itself
    finally:
        assert daemon.stop() == 0, daemon.report()
