"""Log lines as journald gets them: no channel secret, no URL token, no informant's number."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest
import structlog

from daemon import logs
from daemon.config.notify import load_notify

SECRET_PATH = "s3cr3tPath"


def logged(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_urls_in_any_field_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup(json_lines=True)
    structlog.get_logger("t").warning("channel.failed", detail=f"POST json://hooks.example.cn/hook/{SECRET_PATH}"
                                      " failed; https://oapi.dingtalk.com/robot/send?access_token=ab12cd34ef")
    line = json.dumps(logged(capsys))
    assert SECRET_PATH not in line
    assert "ab12cd34ef" not in line
    assert "json://hooks.example.cn/hook/***" in line


def test_registered_channel_secrets_are_masked_even_without_their_url(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup(json_lines=True)
    logs.hide(frozenset({"plainword-secret"}))
    try:
        structlog.get_logger("t").error("channel.failed", detail="gateway said: bad key plainword-secret")
        logging.getLogger("apprise").error("posting to /hook/plainword-secret failed")
        text = json.dumps(logged(capsys))
    finally:
        logs.hide(frozenset())
    assert "plainword-secret" not in text
    assert text.count("***") == 2


def test_personal_numbers_are_masked_but_ids_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup(json_lines=True)
    structlog.get_logger("t").info("message.error", message="weibo-4950000000000001", file="a.json",
                                   detail="举报人１３８ ００００ ０００１ 称…")
    (line,) = logged(capsys)
    assert line["message"] == "weibo-4950000000000001"
    assert line["detail"] == "举报人１３８ **** ０００１ 称…"


def test_loading_notify_hides_its_channel_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notify.yaml").write_text(textwrap.dedent(f"""\
        channels:
          hook: "json://hooks.example.gov.cn/hook/{SECRET_PATH}"
        people: {{zhang: {{name: 张三}}}}
        teams: {{值班: [zhang]}}
        policies:
          red: [{{notify: [值班], via: [hook]}}]
        """), encoding="utf-8")
    logs.setup(json_lines=True)
    try:
        load_notify(tmp_path / "notify.yaml", env={})
        structlog.get_logger("t").warning("channel.failed", detail=f"HTTP 404 for /hook/{SECRET_PATH}")
        text = json.dumps(logged(capsys))
    finally:
        logs.hide(frozenset())
    assert SECRET_PATH not in text
    assert "/hook/***" in text
