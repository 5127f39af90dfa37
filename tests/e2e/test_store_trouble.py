"""A state database that cannot be written sends nothing twice, takes no new work, tells the admin team
once, and carries on by itself when it can write again. Two real faults on a real daemon: a full disk
(RLIMIT_FSIZE lowered on the running process) and a lock (a second sqlite3 connection holding
BEGIN EXCLUSIVE far longer than the daemon's busy timeout)."""

from __future__ import annotations

import contextlib
import resource
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import SmtpSink, free_port
from tests.e2e.harness import Daemon, county, drop, wait_until, yuqing

RULES = """\
rules:
  - id: explosion
    title: 燃气爆炸
    level: red
    when: {all: [爆炸]}
  - id: fire
    title: 火灾
    level: red
    when: {all: [火灾]}
"""


def subjects(sink: SmtpSink, text: str) -> int:
    return sum(text in str(m["Subject"]) for m in list(sink.messages))


class DiskFull:
    """No write past the first byte of any file, for the daemon process only."""

    def __init__(self, pid: int, _database: Path) -> None:
        self.pid = pid
        _, self.hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)

    def start(self) -> None:
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (1, self.hard))

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # the daemon has already stopped
            resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (self.hard, self.hard))


class Locked:
    """Another process's connection holding the write lock (BEGIN EXCLUSIVE; readers go on in WAL)."""

    def __init__(self, _pid: int, database: Path) -> None:
        self.db = sqlite3.connect(database, isolation_level=None, timeout=10)

    def start(self) -> None:
        self.db.execute("BEGIN EXCLUSIVE")

    def stop(self) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):  # stopped already
            if self.db.in_transaction:
                self.db.execute("COMMIT")
            self.db.close()


@pytest.mark.parametrize("fault", [DiskFull, Locked])
def test_an_unwritable_store_after_delivery_sends_the_alert_once_and_recovers(
        tmp_path: Path, fault: type[DiskFull | Locked]) -> None:
    port = free_port()  # the mail server is down at first, so the alert waits in the outbox
    config = county(tmp_path, RULES, textwrap.dedent(f"""\
        channels:
          email: "mailto://127.0.0.1:{port}?from=alerts@example.gov.cn&mode=insecure"
        people:
          zhang: {{name: 张三, email: zhang@example.gov.cn}}
          wang: {{name: 王工, email: wang@example.gov.cn}}
        teams: {{值班: [zhang], 管理员: [wang]}}
        admin: 管理员
        retry: {{first: 1s, max: 1s}}
        policies:
          red: [{{notify: [值班], via: [email]}}]
        """), source="weibo", extra="limits: {busy_timeout: 1s}\n")
    inbox = tmp_path / "var" / "inbox"
    sink = SmtpSink("127.0.0.1", port)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    daemon = Daemon(config).start()
    assert daemon.proc is not None
    trouble = fault(daemon.proc.pid, tmp_path / "var" / "yuqing.db")
    try:
        drop(inbox, "boom.json", {"id": "b1", "text": "城东小区发生燃气爆炸"})
        assert daemon.wait_event("notify.retry", timeout=30, channel="email"), daemon.report()
        trouble.start()
        controller.start()  # the next attempt is accepted, and its sent mark cannot be written
        assert sink.wait_for(1, timeout=15), daemon.report()
        time.sleep(4)  # the delivery thread comes round every second: a resend would be here by now
        assert subjects(sink, "燃气爆炸") == 1, daemon.report()
        assert daemon.wait_event("store.unwritable", timeout=15), daemon.report()
        drop(inbox, "fire.json", {"id": "f1", "text": "城西仓库发生火灾"})
        time.sleep(2)
        assert (inbox / "fire.json").exists(), daemon.report()  # not claimed while nothing can be recorded
        assert subjects(sink, "状态数据库无法写入") == 1, daemon.report()
        assert len(daemon.matching("store.unwritable")) == 1

        trouble.stop()  # space again, or the lock released
        assert daemon.wait_event("store.writable", timeout=40), daemon.report()
        db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
        assert wait_until(lambda: db.execute("SELECT count(*) FROM outbox WHERE status = 'sent'"
                                             " AND title LIKE '%燃气爆炸%'").fetchone() == (1,), 40), daemon.report()
        assert sink.wait_for(3, timeout=30), daemon.report()  # the fire, graded after recovery
        assert wait_until(lambda: subjects(sink, "火灾") == 1 and subjects(sink, "已恢复写入") == 1, 30), \
            daemon.report()
        assert subjects(sink, "燃气爆炸") == 1
        assert daemon.alive()
        assert daemon.stop() == 0
        db.close()
    finally:
        trouble.stop()
        daemon.kill()
        controller.stop()


def test_a_store_locked_at_start_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    notify = ('channels: {console: "console://"}\npeople: {zhang: {name: 张三}}\nteams: {值班: [zhang]}\n'
              "policies: {red: [{notify: [值班], via: [console]}]}\n")
    config = county(tmp_path, RULES, notify, extra="limits: {busy_timeout: 1s}\n")
    assert yuqing("run", "--once", "-c", str(config)).returncode == 0  # the store exists
    locker = sqlite3.connect(tmp_path / "var" / "yuqing.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        done = yuqing("run", "--once", "-c", str(config))
    finally:
        locker.execute("COMMIT")
        locker.close()
    assert done.returncode == 1
    assert "error: the state database cannot be written: database is locked" in done.stderr
    assert "Traceback" not in done.stderr
