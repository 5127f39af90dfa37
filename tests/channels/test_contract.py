"""One contract for every kind of channel: whatever happens, no secret of its URL or its gateway settings
(keys, header tokens) shows up in the ``Result`` or in any log line or output (apprise's own DEBUG lines
included)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from apprise.plugins.dingtalk import NotifyDingTalk

from channels.model import (
    AliyunSms,
    ChannelSpec,
    DingTalkCard,
    HttpSms,
    Notification,
    Outcome,
    Parts,
    Person,
    TencentSms,
)
from channels.testing import CapturingChannel
from tests.channels.sending import deliver

if TYPE_CHECKING:
    from tests.channels.conftest import WebServer
    from tests.conftest import SmtpSink

PASSWORD = "Pw-7f3a9c1e"
TOKEN = "tk" + "5e8d" * 15  # 62 characters, like a DingTalk access token
SIGN_SECRET = "SEC9b1c2d3e4f5a6b7c8d9e0f"
API_KEY = "key-4c4c4c4c4c"
SECRETS = (PASSWORD, TOKEN, SIGN_SECRET, API_KEY)

ZHANG = Person("zhang", "张三", phone="13800000001", email="zhang@example.gov.cn", dingtalk="staff-zhang")


class Servers:
    def __init__(self, mailbox: SmtpSink, webhook: WebServer, refused: int, tmp: Path) -> None:
        self.mailbox, self.webhook, self.refused, self.tmp = mailbox, webhook, refused, tmp


CASES: dict[str, tuple[Callable[[Servers], ChannelSpec], Outcome]] = {
    # SMTP server without AUTH: the login fails after connecting
    "mailto-with-password": (lambda s: ChannelSpec(
        "email", f"mailto://alerts:{PASSWORD}@127.0.0.1:{s.mailbox.port}?from=alerts@example.gov.cn&mode=insecure",
        "email"), Outcome.RETRY),
    "mailto-refused": (lambda s: ChannelSpec(
        "email", f"mailtos://alerts:{PASSWORD}@127.0.0.1:{s.refused}?from=alerts@example.gov.cn", "email"),
        Outcome.RETRY),
    "json-ok": (lambda s: ChannelSpec(
        "hook", f"json://bot:{PASSWORD}@{s.webhook.base}/hook?+X-Token={TOKEN}&-apikey={API_KEY}"),
        Outcome.OK),
    "json-refused": (lambda s: ChannelSpec(
        "hook", f"json://127.0.0.1:{s.refused}/{TOKEN}?+X-Token={API_KEY}"), Outcome.RETRY),
    "dingtalk-signed": (lambda s: ChannelSpec("group", f"dingtalk://{SIGN_SECRET}@{TOKEN}/"), Outcome.OK),
    "smseagle-refused": (lambda s: ChannelSpec(
        "sms", f"smseagle://{TOKEN}@127.0.0.1:{s.refused}/?priority=normal", "phone"), Outcome.RETRY),
    "unknown-scheme": (lambda s: ChannelSpec("bad", f"nosuchgw://a:{PASSWORD}@gw/{TOKEN}"),
                       Outcome.PERMANENT),
    "jsonl-with-key": (lambda s: ChannelSpec("log", f"jsonl://{s.tmp}/n.jsonl?apikey={API_KEY}"), Outcome.OK),
    "console-with-token": (lambda s: ChannelSpec("console", f"console://?token={TOKEN}"), Outcome.OK),
    "email-html-with-password": (lambda s: ChannelSpec(
        "email-html", f"mailto://alerts:{PASSWORD}@127.0.0.1:{s.mailbox.port}?from=alerts@example.gov.cn"
        "&mode=insecure", "email"), Outcome.RETRY),
    "email-html-refused": (lambda s: ChannelSpec(
        "email-html", f"mailtos://alerts:{PASSWORD}@127.0.0.1:{s.refused}?from=alerts@example.gov.cn", "email"),
        Outcome.RETRY),
    "http-sms-ok": (lambda s: _gateway("sms", HttpSms(
        f"http://{s.webhook.base}/send?token={TOKEN}&to={{{{ phone }}}}", body='{"c": "{{ text }}"}',
        headers={"X-Token": API_KEY, "Authorization": f"Bearer {SIGN_SECRET}"})), Outcome.OK),
    "http-sms-refused": (lambda s: _gateway("sms", HttpSms(
        f"http://127.0.0.1:{s.refused}/send/{TOKEN}", body="{{ text }}", headers={"X-Token": API_KEY})),
        Outcome.RETRY),
    "aliyun-unexpected-answer": (lambda s: _gateway("aliyun", AliyunSms(
        API_KEY, SIGN_SECRET, "县网信办", "SMS_1", endpoint=f"http://{s.webhook.base}/")), Outcome.RETRY),
    "aliyun-refused": (lambda s: _gateway("aliyun", AliyunSms(
        API_KEY, SIGN_SECRET, "县网信办", "SMS_1", endpoint=f"http://127.0.0.1:{s.refused}/")), Outcome.RETRY),
    "tencent-unexpected-answer": (lambda s: _gateway("tencent", TencentSms(
        API_KEY, SIGN_SECRET, "1400000001", "县网信办", "1", endpoint=f"http://{s.webhook.base}/")),
        Outcome.RETRY),
    "tencent-refused": (lambda s: _gateway("tencent", TencentSms(
        API_KEY, SIGN_SECRET, "1400000001", "县网信办", "1", endpoint=f"http://127.0.0.1:{s.refused}/")),
        Outcome.RETRY),
    # The token call answers 200 without a token (the web server is not DingTalk), or nobody answers.
    "dingtalk-card-unexpected-answer": (lambda s: _gateway("dingtalk", DingTalkCard(
        "ding-app", SIGN_SECRET, "tpl.schema", endpoint=f"http://{s.webhook.base}")), Outcome.RETRY),
    "dingtalk-card-refused": (lambda s: _gateway("dingtalk", DingTalkCard(
        "ding-app", SIGN_SECRET, "tpl.schema", endpoint=f"http://127.0.0.1:{s.refused}")), Outcome.RETRY),
    "capture-with-secret": (lambda s: ChannelSpec(
        "cap", f"{CapturingChannel('contract').url}?secret={SIGN_SECRET}", "phone"), Outcome.OK),
}


def _gateway(name: str, gateway: HttpSms | AliyunSms | TencentSms | DingTalkCard) -> ChannelSpec:
    url = gateway.url if isinstance(gateway, HttpSms) else gateway.endpoint
    return ChannelSpec(name, url, "dingtalk" if isinstance(gateway, DingTalkCard) else "phone", gateway)


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_secret_leaks(
    case: str, mailbox: SmtpSink, webhook: WebServer, refused_port: int, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        NotifyDingTalk, "notify_url", f"http://{webhook.base}/robot/send?access_token={{token}}"
    )
    caplog.set_level(logging.DEBUG)
    make, expected = CASES[case]
    spec = make(Servers(mailbox, webhook, refused_port, tmp_path))
    parts = Parts(level="red", html="<p>测试通知</p>" if spec.name == "email-html" else None)
    notification = Notification("n-1", spec.name, (ZHANG,), "【测试】通道", "测试通知", parts=parts)

    result = deliver(spec, notification, timeout=2)

    assert result.outcome is expected, result.detail
    out, err = capfd.readouterr()
    seen = {"detail": result.detail, "logs": caplog.text, "stdout": out, "stderr": err}
    for secret in SECRETS:
        for where, text in seen.items():
            assert secret not in text, f"{secret} leaked into {where}"
    assert spec.name in out + caplog.text  # our own log line was written (and so was checked)


def test_apprise_debug_lines_are_redacted_not_dropped(
    webhook: WebServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The DingTalk plugin logs its full URL, token included, at DEBUG: the line stays, the token goes."""
    monkeypatch.setattr(
        NotifyDingTalk, "notify_url", f"http://{webhook.base}/robot/send?access_token={{token}}"
    )
    caplog.set_level(logging.DEBUG, logger="apprise")
    assert deliver(ChannelSpec("duty-group", f"dingtalk://{TOKEN}/"), Notification("n", "g", (), "t", "b")).ok
    lines = [r.getMessage() for r in caplog.records if "access_token=" in r.getMessage()]
    assert lines
    assert all("access_token=***" in line for line in lines)
    assert webhook.requests[0].path == f"/robot/send?access_token={TOKEN}"  # the real one was sent
