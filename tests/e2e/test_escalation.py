"""Timers for real: the daemon fires them within 2 s of due, an ack stops a repeating escalation, and a
timer that came due while the daemon was killed fires once after the restart, within 5 s, never twice."""

from __future__ import annotations

import json
import textwrap
import time
from datetime import datetime
from pathlib import Path

from tests.e2e.harness import Daemon, county, drop, wait_until, yuqing

RULES = """\
rules:
  - id: gas
    title: 燃气爆炸
    category: 燃气安全
    level: red
    when: {all: [燃气, 爆炸]}
"""


def write_config(root: Path, steps: str) -> Path:
    return county(root, RULES, textwrap.dedent("""\
        channels: {local: "jsonl://./var/notifications.jsonl"}
        people: {zhang: {name: 张三, phone: "13800000001"}, zhao: {name: 赵六, phone: "13800000004"}}
        teams: {值班: [zhang], 领导小组: [zhao]}
        policies:
          red:
        """) + textwrap.indent(textwrap.dedent(steps), "    "), source="weibo")


def titles(root: Path) -> list[str]:
    path = root / "var" / "notifications.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line)["title"] for line in lines]


def fired(daemon: Daemon, step: int, round_: int) -> list[dict[str, object]]:
    return daemon.matching("timer.fired", kind="step", step=step, round=round_)


def test_unacknowledged_red_escalates_repeats_and_an_ack_stops_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, """\
        - {notify: [值班], via: [local]}
        - {after: 2s, unless: acknowledged, notify: [领导小组], via: [local], repeat: 3s, until: 30s}
        """)
    daemon = Daemon(config).start()
    try:
        drop(tmp_path / "var" / "inbox", "m.json", {"id": "m1", "text": "城东小区燃气爆炸，多人受伤"})
        assert daemon.wait_event("incident.opened", timeout=20)
        incident = daemon.matching("incident.opened")[0]["incident"]
        assert daemon.wait(lambda _: bool(fired(daemon, 1, 1)), timeout=15), daemon.raw[-20:]
        result = yuqing("ack", str(incident), "--by", "zhao", "-c", str(config))
        assert result.returncode == 0, result.stderr
        # The ack is another process: on a loaded machine it may land after round 2 rather than before.
        # Whichever round comes first after it is skipped, and every later one.
        rounds = lambda: daemon.matching("timer.fired", kind="step", step=1)  # noqa: E731
        assert daemon.wait(lambda _: any(e["outcome"] == "skipped:acknowledged" for e in rounds()), timeout=10)
        outcomes = [str(e["outcome"]) for e in rounds()]
        first_skip = outcomes.index("skipped:acknowledged")
        assert first_skip >= 2, outcomes
        assert all(o.startswith("sent:") for o in outcomes[:first_skip]), outcomes
        time.sleep(1)
        events = daemon.matching("timer.fired", kind="step")
        assert all(float(e["lag_s"]) < 2 for e in events), events  # within 2 s of due
        assert [str(e["outcome"]) for e in rounds()][first_skip:] == ["skipped:acknowledged"]  # none after it
        assert wait_until(lambda: len(titles(tmp_path)) == 1 + first_skip, timeout=5)
        assert ["升级提醒" in t for t in titles(tmp_path)][:2] == [False, True]
        assert all("重复提醒" in t for t in titles(tmp_path)[2:])
    finally:
        daemon.kill()


def test_a_timer_due_during_a_crash_fires_once_after_the_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path, """\
        - {notify: [值班], via: [local]}
        - {after: 4s, notify: [领导小组], via: [local]}
        """)
    daemon = Daemon(config).start()
    drop(tmp_path / "var" / "inbox", "m.json", {"id": "m1", "text": "城东小区燃气爆炸，多人受伤"})
    assert daemon.wait(lambda _: bool(fired(daemon, 0, 0)), timeout=20)
    daemon.kill()  # SIGKILL, with the escalation timer pending
    assert not fired(daemon, 1, 0)
    time.sleep(4.5)  # the timer is overdue while nothing runs

    again = Daemon(config).start()
    try:
        assert again.wait(lambda _: bool(fired(again, 1, 0)), timeout=10)
        ready = datetime.fromisoformat(str(again.matching("service.ready")[0]["timestamp"]))
        late = datetime.fromisoformat(str(fired(again, 1, 0)[0]["timestamp"]))
        assert (late - ready).total_seconds() < 5  # overdue timers fire within 5 s of the restart
        assert fired(again, 1, 0)[0]["outcome"] == "sent:1"
        assert wait_until(lambda: sum("升级提醒" in t for t in titles(tmp_path)) == 1, timeout=5)
        time.sleep(1.5)  # a second firing or a second delivery would show up by now
        assert len(fired(again, 1, 0)) == 1
        assert sum("升级提醒" in t for t in titles(tmp_path)) == 1
    finally:
        again.kill()
