"""E-mail with a plain-text and an HTML part, over plain SMTP, STARTTLS and implicit TLS (aiosmtpd with a
self-signed certificate made by the test)."""

from __future__ import annotations

import dataclasses
import email
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from channels.model import NO_PARTS, Alert, ChannelSpec, Notification, Outcome, Parts, Person
from channels.templates import Renderer
from tests.channels.sending import deliver
from tests.conftest import SmtpSink, free_port

ZHANG = Person("zhang", "张三", email="zhang@example.gov.cn")
LI = Person("li", "李四", email="li@example.gov.cn")
ALERT = Alert(
    incident_id="INC-20261120-0001", level="red", level_label="红色", title="城东拆迁户聚集<b>",
    category="征地拆迁", source="weibo", url="https://weibo.com/1234567890/4950000000000001",
    first_seen=datetime(2026, 11, 20, 1, 30, tzinfo=UTC), excerpt="联系人13800000001，身份证110101199001011234。",
    rules=("land-mass-gathering 征地拆迁引发聚集",), reasons=("转发 1200 ≥ 100",),
    deadline=datetime(2026, 11, 20, 2, 0, tzinfo=UTC), spread=("转发 1200", "3 个平台"),
)


def two_part(*people: Person) -> Notification:
    title, text, html = Renderer().render_email(ALERT)
    return Notification("n-1", "email", people, title, text, alert=ALERT, parts=Parts(html=html))


def parsed(box: SmtpSink, i: int = 0) -> EmailMessage:
    message = email.message_from_bytes(box.envelopes[i].original_content or b"", policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_text_and_html_parts_arrive_with_chinese_intact(mailbox: SmtpSink) -> None:
    url = f"mailto://127.0.0.1:{mailbox.port}?from=县网信办<alerts@example.gov.cn>&mode=insecure"
    result = deliver(ChannelSpec("email", url, "email"), two_part(ZHANG, LI))

    assert result.outcome is Outcome.OK, result.detail
    assert result.reached == ("zhang", "li")
    assert [env.rcpt_tos for env in mailbox.envelopes] == [["zhang@example.gov.cn"], ["li@example.gov.cn"]]
    message = parsed(mailbox)
    assert message["Subject"] == "【红色预警】城东拆迁户聚集<b>"
    assert message["From"].addresses[0].display_name == "县网信办"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    text, markup = plain.get_content(), html.get_content()
    assert "预警等级：红色" in text
    assert "扩散：转发 1200，3 个平台" in text
    assert "链接：https://weibo.com/1234567890/4950000000000001" in text  # the address survives in text
    for fact in ("#c0392b", "城东拆迁户聚集&lt;b&gt;", "征地拆迁", "微博 2026-11-20 09:30",
                 'href="https://weibo.com/1234567890/4950000000000001"', "转发 1200，3 个平台",
                 "land-mass-gathering 征地拆迁引发聚集", "2026-11-20 10:00 前", "INC-20261120-0001"):
        assert fact in markup, fact
    for secret in ("13800000001", "110101199001011234"):
        assert secret not in text + markup
    assert "138****0001" in markup


def test_without_html_the_apprise_path_sends_text_only(mailbox: SmtpSink) -> None:
    url = f"mailto://127.0.0.1:{mailbox.port}?from=alerts@example.gov.cn&mode=insecure"
    plain = dataclasses.replace(two_part(ZHANG), parts=NO_PARTS)
    assert deliver(ChannelSpec("email", url, "email"), plain).ok
    assert parsed(mailbox).get_body(("html",)) is None


def test_refused_recipient_is_permanent(mailbox: SmtpSink) -> None:
    async def refuse(server: object, session: object, envelope: object, address: str, options: object) -> str:
        return "550 no such user"
    mailbox.handle_RCPT = refuse  # type: ignore[attr-defined]
    url = f"mailto://127.0.0.1:{mailbox.port}?from=alerts@example.gov.cn&mode=insecure"
    result = deliver(ChannelSpec("email", url, "email"), two_part(ZHANG))
    assert result.outcome is Outcome.PERMANENT
    assert result.detail == "recipient refused (550)"


@pytest.mark.parametrize(("reply", "outcome"), [
    ("554 5.7.1 message rejected as spam", Outcome.PERMANENT), ("451 4.3.0 try again later", Outcome.RETRY),
])
def test_message_refused_at_data_by_reply_class(mailbox: SmtpSink, reply: str, outcome: Outcome) -> None:
    async def answer(server: object, session: object, envelope: object) -> str:
        return reply
    mailbox.handle_DATA = answer  # type: ignore[method-assign]
    url = f"mailto://127.0.0.1:{mailbox.port}?from=alerts@example.gov.cn&mode=insecure"
    result = deliver(ChannelSpec("email", url, "email"), two_part(ZHANG))
    assert result.outcome is outcome
    assert result.detail == "SMTP " + reply.replace(" ", ": ", 1)


def test_smtp_down_is_retry(refused_port: int) -> None:
    url = f"mailtos://u:Pw-secret-1@127.0.0.1:{refused_port}?from=alerts@example.gov.cn"
    result = deliver(ChannelSpec("email", url, "email"), two_part(ZHANG), timeout=2)
    assert result.outcome is Outcome.RETRY
    assert "Pw-secret-1" not in result.detail


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture
def starttls_box(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    box = SmtpSink("127.0.0.1", free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port,
                            tls_context=_server_context(certificate), require_starttls=True)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def smtps_box(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    box = SmtpSink("127.0.0.1", free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port, ssl_context=_server_context(certificate))
    controller.start()
    yield box
    controller.stop()


@pytest.mark.parametrize("html", [True, False], ids=["two-part", "apprise-text"])
def test_starttls(starttls_box: SmtpSink, html: bool) -> None:
    url = f"mailtos://127.0.0.1:{starttls_box.port}?from=alerts@example.gov.cn&mode=starttls&verify=no"
    n = two_part(ZHANG) if html else dataclasses.replace(two_part(ZHANG), parts=NO_PARTS)
    result = deliver(ChannelSpec("email", url, "email"), n, timeout=5)
    assert result.outcome is Outcome.OK, result.detail
    assert parsed(starttls_box)["Subject"] == "【红色预警】城东拆迁户聚集<b>"


def test_starttls_refuses_an_unverified_certificate(starttls_box: SmtpSink) -> None:
    url = f"mailtos://127.0.0.1:{starttls_box.port}?from=alerts@example.gov.cn&mode=starttls"
    result = deliver(ChannelSpec("email", url, "email"), two_part(ZHANG), timeout=5)
    assert result.outcome is Outcome.RETRY
    assert "CERTIFICATE_VERIFY_FAILED" in result.detail
    assert starttls_box.envelopes == []


def test_plain_smtp_to_a_starttls_only_server_is_refused(starttls_box: SmtpSink) -> None:
    url = f"mailto://127.0.0.1:{starttls_box.port}?from=alerts@example.gov.cn&mode=insecure"
    assert deliver(ChannelSpec("email", url, "email"), two_part(ZHANG), timeout=5).outcome is Outcome.RETRY
    assert starttls_box.envelopes == []


def test_implicit_tls(smtps_box: SmtpSink) -> None:
    url = f"mailtos://127.0.0.1:{smtps_box.port}?from=alerts@example.gov.cn&mode=ssl&verify=no"
    result = deliver(ChannelSpec("email", url, "email"), two_part(ZHANG), timeout=5)
    assert result.outcome is Outcome.OK, result.detail
    assert parsed(smtps_box).get_body(("html",)) is not None
