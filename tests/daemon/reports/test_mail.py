"""Report e-mail through the outbox against a real SMTP server (aiosmtpd on 127.0.0.1): the charts as
``cid:`` related parts, the workbook attached, and an SMTP server's permanent refusal (5xx to RCPT or
DATA) ending the notification instead of retrying it until the give-up time."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from channels.delivery import deliver
from channels.model import ChannelSpec, Person
from daemon.notify.delivery import Outbox
from daemon.notify.outbox import Rendered, enqueue
from daemon.reports import mail
from daemon.store import Store
from tests.conftest import SmtpSink

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ZHANG = Person("zhang", "张三", email="zhang@example.gov.cn")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # only carried, never decoded
XLSX = b"PK\x03\x04" + b"\x00" * 32
HTML = '<h1>舆情日报</h1><img src="cid:chart-days@yuqing">'


def send_report(tmp_path: Path, box: SmtpSink) -> dict[str, Any]:
    """Queue one report e-mail, let the outbox deliver it once, and return its outbox row."""
    store = Store(tmp_path / "s.db")
    url = f"mailto://127.0.0.1:{box.port}?from=alerts@example.gov.cn&mode=insecure"
    channels = {"email": ChannelSpec("email", url, "email")}
    outbox = Outbox(store, channels, functools.partial(deliver, now=lambda: T0), random.Random(1))
    parts = mail.parts(HTML, {"chart-days@yuqing": PNG}, {"2026-11-23-daily.xlsx": XLSX})
    with store.transaction() as db:
        enqueue(db, "report:daily:2026-11-23:email", None, "email", (ZHANG,),
                Rendered("【舆情哨兵】舆情日报", "日报正文", parts), T0)
    outbox.deliver_due(lambda: T0)
    row = store.one("SELECT status, attempts, last_error FROM outbox")
    assert row is not None
    return dict(row)


def test_report_arrives_with_related_charts_and_the_workbook(tmp_path: Path, smtp_server: SmtpSink) -> None:
    assert send_report(tmp_path, smtp_server)["status"] == "sent"
    [message] = smtp_server.messages
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "【舆情哨兵】舆情日报"
    assert parsedate_to_datetime(message["Date"]) == T0  # the outbox's clock, not the wall clock
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds[:2] == ["multipart/mixed", "multipart/alternative"]
    assert "multipart/related" in kinds
    [image] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<chart-days@yuqing>"
    assert image.get_content() == PNG
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "2026-11-23-daily.xlsx"
    assert attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert attachment.get_content() == XLSX
    plain = message.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().strip() == "日报正文"


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_permanent_refusal_fails_the_report_at_once(stage: str, tmp_path: Path, smtp_server: SmtpSink) -> None:
    async def refuse(*_: object) -> str:
        return "550 5.7.1 rejected by policy"
    setattr(smtp_server, f"handle_{stage}", refuse)

    row = send_report(tmp_path, smtp_server)

    assert (row["status"], row["attempts"]) == ("failed", 1), row["last_error"]
    assert "550" in row["last_error"]


def test_temporary_refusal_is_retried(tmp_path: Path, smtp_server: SmtpSink) -> None:
    async def later(*_: object) -> str:
        return "451 4.3.0 try again later"
    smtp_server.handle_DATA = later  # type: ignore[method-assign]

    row = send_report(tmp_path, smtp_server)

    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "451" in row["last_error"]
