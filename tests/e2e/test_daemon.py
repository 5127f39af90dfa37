"""The whole daemon as users run it: a subprocess, real files, a real SMTP server, a real webhook."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from tests.conftest import HttpSink, SmtpSink
from tests.e2e.harness import Daemon, county, drop, wait_until, yuqing

RULES = """\
keywords:
  拆迁: [拆迁, 强拆, 征地, 补偿款]
  聚集: [聚集, 围堵, 堵路, 上访, 拉横幅]
  伤亡: [死亡, 身亡, 遇难]
  广告: [招聘, 优惠, 团购]
rules:
  - id: land-mass-gathering
    title: 征地拆迁引发聚集
    category: 征地拆迁
    level: yellow
    when:
      all: [拆迁, 聚集]
      none: [广告]
  - id: gas-explosion
    title: 燃气爆炸致人员伤亡
    category: 燃气安全
    level: red
    when:
      all: [爆炸, 伤亡]
    notify: [宣传部]
  - id: petition
    title: 群众上访
    category: 信访
    level: blue
    when:
      all: [上访]
"""


def write_config(root: Path, smtp: SmtpSink, http: HttpSink) -> Path:
    return county(root, RULES, textwrap.dedent(f"""\
        channels:
          email: "mailto://{smtp.host}:{smtp.port}?from=alerts@example.gov.cn&mode=insecure"
          hook: "json://{http.url}/hook"
          local: "jsonl://./var/notifications.jsonl"
        people:
          zhang: {{name: 张三, role: 值班员, phone: "13800000001", email: zhang@example.gov.cn}}
          wang: {{name: 王五, role: 宣传部长, phone: "13800000002", email: wang@example.gov.cn}}
        teams: {{值班: [zhang], 宣传部: [wang]}}
        policies:
          red:
            - {{notify: [值班], via: [email, hook, local], deadline: 30m}}
            - {{after: 15m, unless: acknowledged, notify: [宣传部], via: [email], repeat: 15m}}
          yellow:
            - {{notify: [值班], via: [hook, local]}}
          blue:
            - {{digest: daily, notify: [值班], via: [email]}}
        """))


RED = {"id": "weibo-1", "source": "weibo", "title": "城东燃气爆炸",
       "text": "今天上午城东小区发生燃气爆炸，已造成两人死亡，现场浓烟滚滚", "metrics": {"reposts": 800}}
YELLOW = {"id": "douyin-2", "source": "douyin", "text": "河湾村拆迁户在镇政府门口聚集，要求发放补偿款"}
ORDINARY = {"id": "news-3", "source": "news", "text": "我马上访问一下网站，看看明天的天气预报"}


def test_red_alert_reaches_smtp_and_webhook_then_restart_sends_nothing_twice(
        tmp_path: Path, smtp_server: SmtpSink, http_server: HttpSink) -> None:
    config = write_config(tmp_path, smtp_server, http_server)
    inbox = tmp_path / "var" / "inbox"
    daemon = Daemon(config).start()
    try:
        drop(inbox, "red.json", RED)
        drop(inbox, "batch.jsonl", json.dumps(YELLOW, ensure_ascii=False) + "\n"
             + json.dumps(ORDINARY, ensure_ascii=False) + "\n")
        assert smtp_server.wait_for(2, timeout=30), daemon.raw[-20:]  # apprise mails each recipient apart
        assert http_server.wait_for(2, timeout=30), daemon.raw[-20:]

        mail = smtp_server.messages[0]
        assert "燃气爆炸致人员伤亡" in str(mail["Subject"])
        assert "红色" in str(mail["Subject"])
        # 值班 from the policy, 宣传部 from the rule's own notify.
        assert sorted(r for rs in smtp_server.recipients for r in rs) == ["wang@example.gov.cn", "zhang@example.gov.cn"]
        body = mail.get_body(preferencelist=("plain", "html"))
        assert body is not None
        assert "城东" in body.get_content()

        hooks = [r["json"] for r in http_server.requests]
        assert all(r["path"] == "/hook" for r in http_server.requests)
        assert any("燃气爆炸致人员伤亡" in h["title"] for h in hooks)
        assert any("征地拆迁引发聚集" in h["title"] for h in hooks)

        # A malformed file is quarantined with a reason; the daemon goes on.
        drop(inbox, "broken.json", '{"source": "weibo", "text": "半截')
        failed = inbox / "failed" / "broken.json"
        assert wait_until(lambda: failed.exists() and Path(f"{failed}.error.txt").exists(), 15)
        assert "invalid JSON" in Path(f"{failed}.error.txt").read_text(encoding="utf-8")
        assert daemon.alive()
        drop(inbox, "after.json", {"id": "tieba-9", "source": "tieba", "text": "今天天气不错"})
        assert daemon.wait_event("file.processed", timeout=15, file="after.json")
        assert daemon.stop() == 0
        assert daemon.matching("service.stopped")
    finally:
        daemon.kill()

    processed = sorted(p.name for p in (inbox / "processed").rglob("*.json*"))
    assert processed == ["after.json", "batch.jsonl", "red.json"]
    emails, hooks_count = len(smtp_server.messages), len(http_server.requests)

    # Restart and re-send the red message: it is recognised, nothing is notified again.
    again = Daemon(config).start()
    try:
        drop(inbox, "red-again.json", RED)
        assert again.wait_event("message.duplicate", timeout=15, message="weibo-1")
        assert again.wait_event("file.processed", timeout=15, file="red-again.json")
        assert again.stop() == 0
    finally:
        again.kill()
    assert len(smtp_server.messages) == emails
    assert len(http_server.requests) == hooks_count

    db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
    levels = dict(db.execute("SELECT id, level FROM messages").fetchall())
    assert levels == {"weibo-1": "red", "douyin-2": "yellow", "news-3": "none", "tieba-9": "none"}
    sent = db.execute("SELECT channel, status FROM outbox ORDER BY channel").fetchall()
    assert ("email", "sent") in sent
    assert all(status == "sent" for _, status in sent)
    local_lines = (tmp_path / "var" / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(local_lines) == 2  # the red and the yellow incident, once each


def test_whole_words_only_through_explain(tmp_path: Path, smtp_server: SmtpSink, http_server: HttpSink) -> None:
    config = write_config(tmp_path, smtp_server, http_server)
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in (
        {"id": "a", "source": "forum", "text": "我马上访问一下网站"},
        {"id": "b", "source": "forum", "text": "村民集体上访，要求解决问题"},
    )) + "\n", encoding="utf-8")
    result = yuqing("explain", "-c", str(config), str(sample))
    assert result.returncode == 0, result.stderr
    out = {o["id"]: o for o in map(json.loads, result.stdout.splitlines())}
    assert out["a"]["level"] == "none"
    assert out["a"]["keywords"] == {}
    assert out["b"]["level"] == "blue"
    assert out["b"]["rules"] == ["petition"]
    assert "上访" in out["b"]["keywords"]
    assert not (tmp_path / "var" / "yuqing.db").exists()  # explain writes no state


@pytest.mark.parametrize("broken", [
    ("rules/county.yaml", "rules:\n  - id: x\n    level: red\n    whne: {all: [a]}\n",
     'county.yaml:4:5: error: unknown field "whne" in rule (did you mean "when"?)'),
    ("rules/county.yaml", "rules:\n  - id: x\n    level: [red\n", "county.yaml:4:1: error: YAML syntax"),
])
def test_check_names_path_line_col(tmp_path: Path, smtp_server: SmtpSink, http_server: HttpSink,
                                   broken: tuple[str, str, str]) -> None:
    config = write_config(tmp_path, smtp_server, http_server)
    assert yuqing("check", "-c", str(config)).returncode == 0
    name, text, expected = broken
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = yuqing("check", "-c", str(config))
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).splitlines()
    assert any(line.endswith(expected) or expected in line for line in lines), lines
