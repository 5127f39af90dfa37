"""`yuqing notify-test`: a 【测试】 notification through the real channel, recorded, exit 1 on failure."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from daemon.app.cli import main
from daemon.store import Store
from tests.conftest import free_port


def write_config(root: Path) -> Path:
    (root / "rules").mkdir()
    (root / "notify.yaml").write_text(textwrap.dedent(f"""\
        channels:
          local: {{url: "jsonl://./var/sms.jsonl", address: phone}}
          dead: "json://127.0.0.1:{free_port()}/hook"
        people:
          zhang: {{name: 张三, phone: "13800000001"}}
          li: {{name: 李明, phone: "13800000008"}}
        teams: {{值班: [zhang], 管理员: [li]}}
        policies: {{}}
        admin: 管理员
        """), encoding="utf-8")
    (root / "config.yaml").write_text("state_dir: ./var\nrules: ./rules\nnotify: ./notify.yaml\n", encoding="utf-8")
    return root / "config.yaml"


def test_a_working_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["notify-test", "-c", str(config), "local", "--to", "zhang"]) == 0
    assert "ok: local" in capsys.readouterr().out
    line = json.loads((tmp_path / "var" / "sms.jsonl").read_text(encoding="utf-8"))
    assert line["title"] == "【测试】通知渠道测试（local）"
    assert line["to"] == ["13800000001"]
    assert "测试通知" in line["body"]
    assert main(["notify-test", "-c", str(config), "local"]) == 0  # default: the admin team
    lines = (tmp_path / "var" / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1])["to"] == ["13800000008"]
    rows = Store(tmp_path / "var" / "yuqing.db").query("SELECT status, attempts FROM outbox")
    assert [tuple(r) for r in rows] == [("sent", 1), ("sent", 1)]


def test_a_failing_channel_exits_1_and_is_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["notify-test", "-c", str(config), "dead"]) == 1
    assert "failed (retry): dead" in capsys.readouterr().err
    store = Store(tmp_path / "var" / "yuqing.db")
    assert store.one("SELECT status FROM outbox")["status"] == "failed"  # type: ignore[index]
    assert store.one("SELECT outcome FROM deliveries")["outcome"] == "failed"  # type: ignore[index]


def test_unknown_names_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["notify-test", "-c", str(config), "locl"]) == 1
    err = capsys.readouterr().err
    assert 'no channel "locl"' in err
    assert '(did you mean "local"?)' in err
    assert main(["notify-test", "-c", str(config), "local", "--to", "zang"]) == 1
    assert 'no person "zang" in notify.yaml (did you mean "zhang"?)' in capsys.readouterr().err
