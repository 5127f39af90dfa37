"""One daemon per state_dir: a second one exits at once naming the first; a store deleted or replaced
under a running daemon stops it with an error, so systemd restarts it on the file that is there now."""

from __future__ import annotations

import os
import sqlite3
import textwrap
from pathlib import Path

import pytest

from tests.e2e.harness import Daemon, county, drop, yuqing

RULES = """\
rules:
  - id: explosion
    title: 燃气爆炸
    level: red
    when: {all: [爆炸]}
"""
NOTIFY = textwrap.dedent("""\
    channels: {console: "console://"}
    people: {zhang: {name: 张三}}
    teams: {值班: [zhang]}
    policies:
      red: [{notify: [值班], via: [console]}]
    """)


def test_a_second_daemon_on_the_same_state_dir_exits_naming_the_first(tmp_path: Path) -> None:
    config = county(tmp_path, RULES, NOTIFY)
    first = Daemon(config).start()
    try:
        assert first.proc is not None
        second = yuqing("run", "-c", str(config), timeout=30)
        assert second.returncode == 1, second.stderr[-2000:]
        assert f"pid {first.proc.pid}" in second.stderr, second.stderr[-2000:]
        assert "Traceback" not in second.stderr
        # The first goes on as if nothing happened.
        drop(tmp_path / "var" / "inbox", "boom.json", {"id": "b1", "text": "城东小区发生燃气爆炸"})
        assert first.wait_event("incident.opened", timeout=30), first.report()
        assert first.alive()
        assert first.stop() == 0
    finally:
        first.kill()
    # Once the first has stopped, the state_dir is free again.
    done = yuqing("run", "--once", "-c", str(config), timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_store_deleted_or_replaced_under_a_running_daemon_stops_it_with_an_error(tmp_path: Path, how: str) -> None:
    config = county(tmp_path, RULES, NOTIFY)
    database = tmp_path / "var" / "yuqing.db"
    daemon = Daemon(config).start()
    try:
        assert daemon.proc is not None
        if how == "deleted":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
        else:
            copy = tmp_path / "restored.db"
            backup = sqlite3.connect(copy)
            source = sqlite3.connect(database)
            source.backup(backup)
            source.close()
            backup.close()
            os.replace(copy, database)
        assert daemon.proc.wait(timeout=10) not in (0, None), daemon.report()
        lost = daemon.matching("store.lost")
        assert lost, daemon.report()
        assert lost[0]["log_level"] == "error"
    finally:
        daemon.kill()
