"""Hot reload in the running daemon: a saved rule file takes effect by itself; a broken one keeps the old
rules and tells the admin team once; a storm of reloads never grades a message with a mixture of sets."""

from __future__ import annotations

import os
import signal
import sqlite3
import textwrap
import time
from pathlib import Path

from tests.e2e.harness import Daemon, drop

PETITION = """\
rules:
  - id: petition
    title: 群众上访
    level: blue
    when:
      all: [上访]
"""

WAGES = PETITION + """\
  - id: wage-arrears
    title: 农民工讨薪
    level: yellow
    when:
      all: [讨薪]
"""

# Two sets with different words and levels: a message graded with one set's words and the other's
# rules would match nothing, or give a level neither set gives.
SET_A = """\
rules:
  - {id: a-wages, title: 讨薪, level: yellow, when: {all: [讨薪]}}
  - {id: a-land, title: 拆迁, level: blue, when: {all: [拆迁]}}
"""
SET_B = """\
rules:
  - {id: b-land, title: 强拆, level: red, when: {all: [强拆]}}
  - {id: b-wages, title: 欠薪, level: blue, when: {all: [欠薪]}}
"""
BOTH = "农民工讨薪欠薪，城东强拆拆迁"
VERDICTS = {("yellow", ("a-wages", "a-land")), ("red", ("b-land", "b-wages"))}


def setup(root: Path, rules: str) -> Path:
    (root / "rules").mkdir()
    (root / "rules" / "county.yaml").write_text(rules, encoding="utf-8")
    (root / "notify.yaml").write_text(textwrap.dedent("""\
        channels:
          email: {url: "jsonl://./var/email.jsonl", address: email}
          group: "jsonl://./var/group.jsonl"
        people:
          liu: {name: 刘建国, email: liu@example.gov.cn}
          li: {name: 李明, email: liming@example.gov.cn}
        teams: {值班: [liu], 管理员: [li]}
        policies:
          red: [{notify: [值班], via: [group]}]
          yellow: [{notify: [值班], via: [group]}]
          blue: [{digest: daily, notify: [值班], via: [email]}]
        admin: 管理员
        """), encoding="utf-8")
    (root / "config.yaml").write_text(
        "state_dir: ./var\ninbox: [{path: ./var/inbox, source: grid}]\nrules: ./rules\nnotify: ./notify.yaml\n",
        encoding="utf-8")
    (root / "var" / "inbox").mkdir(parents=True)
    return root / "config.yaml"


def admin_rows(root: Path) -> list[str]:
    with sqlite3.connect(root / "var" / "yuqing.db") as db:
        return [r[0] for r in db.execute("SELECT id FROM outbox WHERE id LIKE 'admin:rules:%'")]


def save(path: Path, text: str) -> None:
    """Save the way editors do: a temp file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_a_saved_rule_file_is_reloaded_and_a_broken_one_is_reported_once(tmp_path: Path) -> None:
    daemon = Daemon(setup(tmp_path, PETITION)).start()
    rules, inbox = tmp_path / "rules" / "county.yaml", tmp_path / "var" / "inbox"
    try:
        save(rules, WAGES)
        assert daemon.wait_event("rules.reloaded", timeout=5, rules=2)
        drop(inbox, "w1.json", {"id": "w1", "source": "douyin", "text": "工地农民工年底讨薪无果"})
        assert daemon.wait_event("message.graded", timeout=10, message="w1", level="yellow")

        broken = WAGES.replace("level: yellow", "level: purple")
        save(rules, broken)
        assert daemon.wait_event("rules.reload_failed", timeout=5)
        assert any(f"{rules}:9:12: error:" in e["problem"] for e in daemon.matching("rules.reload_failed"))
        assert daemon.wait_event("rules.admin_notified", timeout=5, queued=1)
        drop(inbox, "w2.json", {"id": "w2", "source": "douyin", "text": "又有农民工讨薪"})
        assert daemon.wait_event("message.graded", timeout=10, message="w2", level="yellow")  # old rules
        assert len(admin_rows(tmp_path)) == 1  # email only: the group chat is not the admin's

        save(rules, broken)  # the same mistake saved again: logged again, not sent again
        assert daemon.wait_event("rules.admin_notified", timeout=5, count=2)
        assert daemon.matching("rules.admin_notified")[-1]["queued"] == 0
        assert len(admin_rows(tmp_path)) == 1
        assert len(daemon.matching("rules.reloaded")) == 1
        assert daemon.stop() == 0
    finally:
        daemon.kill()


def test_messages_during_a_storm_of_reloads_see_one_whole_rule_set(tmp_path: Path) -> None:
    daemon = Daemon(setup(tmp_path, SET_A)).start()
    rules, inbox = tmp_path / "rules" / "county.yaml", tmp_path / "var" / "inbox"

    def verdicts() -> set[tuple[str, tuple[str, ...]]]:
        return {(e["level"], tuple(e["rules"])) for e in daemon.matching("message.graded")}

    try:
        assert daemon.proc is not None
        # Messages flow while the rules flip; the storm goes on until both sets have graded messages and five
        # reloads happened (a loaded machine takes files and reloads slower), within a bound.
        sent = 0
        deadline = time.monotonic() + 90
        def stormy() -> bool:
            return len(verdicts()) == 2 and len(daemon.matching("rules.reloaded")) >= 5

        while sent < 40 or (not stormy() and time.monotonic() < deadline):
            if sent % 4 == 0:
                save(rules, SET_B if (sent // 4) % 2 == 0 else SET_A)
                os.kill(daemon.proc.pid, signal.SIGHUP)  # at once, not only after the quiet period
            drop(inbox, f"m{sent}.json", {"id": f"m{sent}", "source": "weibo", "text": f"{BOTH}，第{sent}条"})
            sent += 1
            time.sleep(0.05)
        assert daemon.wait_event("message.graded", timeout=60, count=sent), daemon.report()
        graded = verdicts()
        assert graded <= VERDICTS, graded
        assert len(graded) == 2  # both sets graded messages: the storm really interleaved
        assert len(daemon.matching("rules.reloaded")) >= 5  # SIGHUPs close together make one reload
        assert daemon.stop() == 0
    finally:
        daemon.kill()
