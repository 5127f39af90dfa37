"""The console's password file and its commands: `console-user set|remove|list` and `audit`."""

from __future__ import annotations

import io
import stat
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.app.cli import main
from daemon.app.console import sessions
from daemon.app.console.users import check_password, hash_password, password_problem, read_users
from daemon.store import Store, audit
from rules.errors import ConfigError

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_a_hash_checks_its_own_password_only_and_a_malformed_one_nothing() -> None:
    stored = hash_password("correct horse battery", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$")
    assert check_password("correct horse battery", stored)
    assert not check_password("correct horse batterY", stored)
    assert hash_password("correct horse battery", n=2**10) != stored  # salted
    for broken in ("", "plain", "md5$1$2$3$4$5", "scrypt$x$8$1$AA==$AA==", stored[:-8]):
        assert not check_password("correct horse battery", broken)
    assert password_problem("short")
    assert password_problem("aaaaaaaaaaaa")
    assert not password_problem("duty-2026-desk")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "notify.yaml").write_text(textwrap.dedent("""\
        channels: {duty-group: "jsonl://./duty.jsonl"}
        people: {zhang: {name: 张三, role: 值班员}}
        teams: {值班: [zhang]}
        policies: {red: [{notify: [值班], via: [duty-group]}]}
        """), encoding="utf-8")
    (tmp_path / "config.yaml").write_text(textwrap.dedent("""\
        state_dir: ./var
        rules: ./rules
        notify: ./notify.yaml
        console: {users: ./console-users.yaml, session_ttl: 8h}
        """), encoding="utf-8")
    return tmp_path / "config.yaml"


def test_console_user_set_writes_a_private_hash_and_ends_old_sessions(config: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(config.parent / "var" / "yuqing.db")
    sessions.start(store, "zhang", "10.0.0.7", T0, timedelta(days=365 * 100))
    monkeypatch.setattr(sys, "stdin", io.StringIO("duty-desk-2026\n"))
    assert main(["console-user", "set", "zhang", "--password-stdin", "-c", str(config)]) == 0
    users_file = config.parent / "console-users.yaml"
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    assert check_password("duty-desk-2026", read_users(users_file)["zhang"])
    assert "1 session(s) ended" in capsys.readouterr().out
    assert sessions.active(store, T0) == []
    monkeypatch.setattr(sys, "stdin", io.StringIO("x\n"))
    assert main(["console-user", "set", "zhang", "--password-stdin", "-c", str(config)]) == 1  # too short
    assert main(["console-user", "set", "nobody", "--password-stdin", "-c", str(config)]) == 1
    assert main(["console-user", "remove", "zhang", "-c", str(config)]) == 0
    assert read_users(users_file) == {}


def test_a_users_file_that_is_not_name_to_hash_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    assert read_users(path) == {}
    path.write_text("- zhang\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        read_users(path)


def test_audit_prints_who_what_when_and_from_where(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(config.parent / "var" / "yuqing.db")
    with store.transaction() as db:
        audit.record(db, T0, "zhang", "acknowledge", "YQ-20261123-0001", "控制台", "10.0.0.7")
        audit.record(db, T0 + timedelta(minutes=5), "li", "resolve", "YQ-20261123-0001", "已辟谣")
    assert main(["audit", "-c", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2026-11-23T10:00:00+08:00  zhang")
    assert "10.0.0.7" in lines[0]
    assert "控制台" in lines[0]
    assert "cli" in lines[1]
    assert "已辟谣" in lines[1]
    assert main(["audit", "--since", "2026-11-23 10:01", "--json", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert '"actor": "li"' in out
    assert '"client": null' in out
    assert main(["audit", "--since", "yesterday-ish", "-c", str(config)]) == 2
