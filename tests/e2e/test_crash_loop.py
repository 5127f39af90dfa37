"""One bad file never stops the daemon: an exception in a reader quarantines the file, and a file that
kills the process while it is being read is quarantined once it has done so twice on resume."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.e2e.dying_daemon import EXIT_CODE
from tests.e2e.harness import Daemon, county, drop

RULES = """\
rules:
  - id: gas
    title: 燃气事故
    category: 安全生产
    level: yellow
    when: {all: [燃气]}
"""

EMPTY_MESSAGE_ID = (b"From: grid@example.gov.cn\r\nSubject: =?utf-8?b?5Yqg5rCU?=\r\nMessage-ID: <>\r\n"
                    b"Date: Mon, 23 Nov 2026 09:30:00 +0800\r\n\r\ncity gas\r\n")


def write_config(root: Path) -> Path:
    return county(root, RULES, textwrap.dedent("""\
        channels: {local: "jsonl://./var/notifications.jsonl"}
        people: {zhang: {name: 张三, role: 值班员, phone: "13800000001"}}
        teams: {值班: [zhang]}
        policies:
          yellow: [{notify: [值班], via: [local]}]
        """))


class DyingDaemon(Daemon):
    module = "tests.e2e.dying_daemon"


def test_an_exception_while_reading_one_file_quarantines_it_and_the_next_is_graded(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    inbox = tmp_path / "var" / "inbox"
    (inbox / "empty-id.eml").write_bytes(EMPTY_MESSAGE_ID)
    daemon = Daemon(config).start()
    try:
        drop(inbox, "later.json", {"id": "gas-1", "text": "城东小区燃气泄漏"})
        assert daemon.wait_event("message.graded", timeout=30, message="gas-1", level="yellow"), daemon.report()
        assert daemon.wait_event("file.processed", timeout=10, file="later.json"), daemon.report()
        handled = daemon.matching("file.processed", file="empty-id.eml") + daemon.matching(
            "file.quarantined", file="empty-id.eml")
        assert handled, daemon.report()
        assert not list((inbox / "processing").iterdir())
        assert daemon.alive(), daemon.report()
        assert daemon.stop() == 0
    finally:
        daemon.kill()


def test_a_file_that_kills_the_daemon_twice_on_resume_is_quarantined_on_the_third_start(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    inbox = tmp_path / "var" / "inbox"
    drop(inbox, "poison.json", {"id": "p-1", "text": "燃气"})
    drop(inbox, "good.json", {"id": "gas-2", "text": "城东小区燃气泄漏"})
    for start in range(3):  # taken, then resumed twice: the process dies each time
        daemon = DyingDaemon(config).start()
        assert daemon.proc is not None
        assert daemon.proc.wait(timeout=60) == EXIT_CODE, daemon.report()
        assert (inbox / "processing" / "poison.json").exists(), f"start {start + 1}"
    daemon = DyingDaemon(config).start()  # the third start: it does not read the file again
    try:
        assert daemon.wait_event("message.graded", timeout=30, message="gas-2"), daemon.report()
        assert daemon.wait_event("file.processed", timeout=10, file="good.json"), daemon.report()
        [event] = daemon.matching("file.quarantined", file="poison.json")
        assert "stopped 3 times" in event["reason"]
        note = (inbox / "failed" / "poison.json.error.txt").read_text(encoding="utf-8")
        assert "stopped 3 times" in note
        assert not list((inbox / "processing").iterdir())
        assert daemon.stop() == 0
    finally:
        daemon.kill()
