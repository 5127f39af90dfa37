from __future__ import annotations

import email
import json
import logging
import threading
import time
from datetime import UTC, datetime
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from channels import delivery
from channels.delivery import (
    body_format,
    mask_url,
    mask_urls_in,
    notify_type,
    prepare_url,
    url_secrets,
)
from channels.model import NO_PARTS, ChannelSpec, Notification, Outcome, Parts, Person
from tests.channels.sending import deliver

if TYPE_CHECKING:
    from tests.channels.conftest import WebServer
    from tests.conftest import SmtpSink

ZHANG = Person("zhang", "张三", role="值班员", phone="13800000001", email="zhang@example.gov.cn")
LI = Person("li", "李四", phone="13800000002", email="li@example.gov.cn")
WANG = Person("wang", "王五")  # neither phone nor e-mail
TITLE = "【红色预警】城东拆迁户聚集"
BODY = "城东拆迁户今天在县政府门口聚集，要求补偿款。\n首发：微博 2026-11-20 09:30"


def note(*people: Person, parts: Parts = NO_PARTS) -> Notification:
    return Notification("inc-1:0:0:x", "x", people, TITLE, BODY, parts=parts)


def mail_url(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?from=alerts@example.gov.cn&mode=insecure"


def test_mailto_reaches_every_recipient_with_chinese_intact(mailbox: SmtpSink) -> None:
    result = deliver(ChannelSpec("email", mail_url(mailbox.port), "email"), note(ZHANG, LI, WANG))

    assert result.outcome is Outcome.OK
    assert result.detail == "skipped (no email): 王五"
    assert sorted(to for env in mailbox.envelopes for to in env.rcpt_tos) == [
        "li@example.gov.cn", "zhang@example.gov.cn",
    ]
    message = email.message_from_bytes(mailbox.envelopes[0].original_content or b"", policy=policy.default)
    assert message["Subject"] == TITLE
    assert message["From"].addresses[0].addr_spec == "alerts@example.gov.cn"
    plain = message.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n").strip() == BODY


def test_json_webhook_gets_title_and_body(webhook: WebServer) -> None:
    spec = ChannelSpec("hook", f"json://{webhook.base}/notify")
    result = deliver(spec, Notification("n", "hook", (ZHANG,), TITLE, BODY, parts=Parts(level="red")))

    assert result.outcome is Outcome.OK
    [request] = webhook.requests
    payload = request.json()
    assert (payload["title"], payload["message"], payload["type"]) == (TITLE, BODY, "failure")
    assert request.path == "/notify"


def test_server_error_is_worth_retrying(webhook: WebServer) -> None:
    webhook.status = 500
    result = deliver(ChannelSpec("hook", f"json://{webhook.base}/"), note())
    assert result.outcome is Outcome.RETRY
    assert "FAILURE" in result.detail
    assert len(webhook.requests) == 1  # apprise itself does not retry: the outbox does


def test_connection_refused_is_retry_and_quick(refused_port: int) -> None:
    started = time.monotonic()
    result = deliver(ChannelSpec("hook", f"json://127.0.0.1:{refused_port}/"), note())
    assert result.outcome is Outcome.RETRY
    assert "Connection error" in result.detail
    assert time.monotonic() - started < 2


def test_silent_smtp_server_is_bounded_by_timeout(silent_server: int) -> None:
    started = time.monotonic()
    result = deliver(ChannelSpec("email", mail_url(silent_server), "email"), note(ZHANG), timeout=1)
    assert result.outcome is Outcome.RETRY
    assert time.monotonic() - started < 5  # 15 s without cto/rto


@pytest.mark.parametrize("url", ["nosuchscheme://host/path", "not a url", "mailto://"])
def test_unusable_url_is_permanent(url: str) -> None:
    result = deliver(ChannelSpec("bad", url), note())
    assert result.outcome is Outcome.PERMANENT
    assert result.detail.startswith("apprise refused the URL ")


def test_nobody_with_an_address_is_permanent(mailbox: SmtpSink) -> None:
    result = deliver(ChannelSpec("sms", "capture://sms", "phone"), note(WANG))
    assert result.outcome is Outcome.PERMANENT
    assert result.detail == "no recipient has a phone number for this channel: 王五"
    assert mailbox.envelopes == []


def test_jsonl_appends_one_object_a_line(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "notifications.jsonl"
    spec = ChannelSpec("log", f"jsonl://{target}")
    assert deliver(spec, note(ZHANG)).ok
    assert deliver(ChannelSpec("log-mail", f"jsonl://{target}", "email"), note(ZHANG, LI)).ok

    first, second = (json.loads(line) for line in target.read_text(encoding="utf-8").splitlines())
    assert (first["title"], first["body"], first["type"]) == (TITLE, BODY, "info")
    assert "to" not in first
    assert second["to"] == ["zhang@example.gov.cn", "li@example.gov.cn"]
    assert first["time"].endswith("+08:00")


def test_sending_times_come_from_the_injected_clock(tmp_path: Path, mailbox: SmtpSink) -> None:
    at = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 09:30 in the county
    target = tmp_path / "n.jsonl"
    assert delivery.deliver(ChannelSpec("log", f"jsonl://{target}"), note(), now=lambda: at).ok
    assert json.loads(target.read_text(encoding="utf-8"))["time"] == "2026-11-20T09:30:00+08:00"

    html = ChannelSpec("email", mail_url(mailbox.port), "email")
    assert delivery.deliver(html, note(ZHANG, parts=Parts(html="<p>正文</p>")), now=lambda: at).ok
    assert parsedate_to_datetime(str(mailbox.messages[-1]["Date"])) == at


def test_jsonl_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    target = tmp_path / "n.jsonl"
    spec = ChannelSpec("log", f"jsonl://{target}")
    long_body = BODY * 200  # ~6 KB a line: bigger than a pipe buffer, still one write

    def send(n: int) -> None:
        for i in range(10):
            deliver(spec, Notification(f"{n}-{i}", "log", (), f"{n}-{i}", long_body))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    lines = target.read_text(encoding="utf-8").splitlines()
    expected = sorted(f"{n}-{i}" for n in range(4) for i in range(10))
    assert sorted(json.loads(line)["title"] for line in lines) == expected


def test_unwritable_jsonl_is_retry(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = deliver(ChannelSpec("log", f"jsonl://{blocker}/n.jsonl"), note())
    assert result.outcome is Outcome.RETRY


def test_console_prints_title_then_body(capfd: pytest.CaptureFixture[str]) -> None:
    assert deliver(ChannelSpec("console", "console://"), note()).ok
    assert f"{TITLE}\n{BODY}\n" in capfd.readouterr().out


# ---------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("mailtos://alerts:Pa55word!@smtp.example.gov.cn:465?from=alerts@example.gov.cn",
         "mailtos://alerts:***@smtp.example.gov.cn:465?from=alerts@example.gov.cn"),
        ("smseagle://0123456789abcdef@sms.local/13800000001", "smseagle://***@sms.local/***"),
        ("dingtalk://" + "ab12" * 16 + "/", "dingtalk://***/"),
        ("dingtalk://SECc0ffee@shortish/", "dingtalk://***@***/"),
        ("json://gw:8080/sms/send?:message=content&+X-Token=abc123&-apikey=K1K1&mobile=138",
         "json://gw:8080/sms/send?:message=content&+X-Token=***&-apikey=***&mobile=138"),
        ("https://oapi.example.cn/robot/send?access_token=0a1b2c&sign=zz99&timestamp=1",
         "https://oapi.example.cn/robot/send?access_token=***&sign=***&timestamp=1"),
        ("discord://1234567890/AbCdEf1234567890XyZ_-", "discord://***/***"),
        # webhook paths that are the credential, however short or plain they look
        ("json://hooks.example.gov.cn/hook/s3cr3t", "json://hooks.example.gov.cn/hook/***"),
        ("jsons://hooks.example.gov.cn/services/T0K/B0K/xyz", "jsons://hooks.example.gov.cn/services/***/***/xyz"),
        ("https://open.feishu.cn/open-apis/bot/v2/hook/0f6b2e5c-8e2b-4a2a", "https://open.feishu.cn/open-apis/bot/v2/hook/***"),
        ("gotify://push.example.cn/AbCdEf12345", "gotify://push.example.cn/***"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/", "slack://***/***/***/"),
        ("jsonl:///var/lib/yuqing/notifications.jsonl", "jsonl:///var/lib/yuqing/notifications.jsonl"),
        ("console://", "console://"),
        ("token=abc&x=1", "token=***&x=1"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_channel_spec_masked_url_uses_mask_url() -> None:
    assert ChannelSpec("e", "mailto://a:secretpw@h").masked_url == "mailto://a:***@h"


def test_url_secrets_include_decoded_forms() -> None:
    assert url_secrets("mailto://a:p%40ssw0rd@h") == {"p%40ssw0rd", "p@ssw0rd"}


@pytest.mark.parametrize(
    ("url", "to", "prepared"),
    [
        ("mailto://h", ["a@x.cn", "b+1@x.cn"], "mailto://h?to=a@x.cn,b%2B1@x.cn&cto=10&rto=10"),
        ("mailto://h?from=f@x.cn&to=boss@x.cn&cto=3", ["a@x.cn", "boss@x.cn"],
         "mailto://h?from=f@x.cn&to=boss@x.cn,a@x.cn&cto=3&rto=10"),
        ("smseagle://t@h/?rto=2", ["+8613800000001"], "smseagle://t@h/?rto=2&to=%2B8613800000001&cto=10"),
        ("console://", [], "console://?cto=10&rto=10"),
    ],
)
def test_prepare_url(url: str, to: list[str], prepared: str) -> None:
    assert prepare_url(url, to=to) == prepared


def test_notify_type() -> None:
    assert [notify_type(x) for x in ("red", "yellow", "blue", "RED", "none", "")] == [
        "failure", "warning", "info", "failure", "info", "info",
    ]


def test_body_format_defaults_to_text() -> None:
    assert body_format(note()) == "text"
    assert body_format(note(parts=Parts(markdown=True))) == "markdown"
    assert body_format(note(parts=Parts(level="red", html="<p>正文</p>"))) == "text"  # HTML is the mail channel's


def test_markdown_reaches_a_webhook_unescaped(webhook: WebServer) -> None:
    body = "### 标题\n- **类别**：征地拆迁"
    n = Notification("n", "hook", (), TITLE, body, parts=Parts(markdown=True))
    assert deliver(ChannelSpec("hook", f"json://{webhook.base}/"), n).ok
    assert webhook.requests[0].json()["message"] == body


def test_apprise_warning_lines_reach_detail(caplog: pytest.LogCaptureFixture, refused_port: int) -> None:
    caplog.set_level(logging.WARNING, logger="apprise")
    result = deliver(ChannelSpec("hook", f"json://127.0.0.1:{refused_port}/"), note())
    assert "A Connection error occurred sending JSON notification to 127.0.0.1." in result.detail


def test_urls_inside_free_text_are_masked() -> None:
    text = ("HTTPSConnectionPool: url: json://hooks.example.gov.cn/hook/s3cr3t?k=1 failed; retry"
            " https://oapi.dingtalk.com/robot/send?access_token=0a1b2c3d4e and 'feishu://abcdef123456/'")
    masked = mask_urls_in(text)
    for secret in ("s3cr3t", "0a1b2c3d4e", "abcdef123456"):
        assert secret not in masked
    assert "json://hooks.example.gov.cn/hook/***?k=1 failed; retry" in masked
    assert mask_urls_in("no link here 2026-11-23") == "no link here 2026-11-23"
