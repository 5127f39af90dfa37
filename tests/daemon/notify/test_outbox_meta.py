"""The outbox's ``meta`` column keeps the JSON shape of the old ``dict[str, str]`` meta: rows an older
daemon left pending are sent after an upgrade, and a notification is stored as the same bytes as before.

The literals below are what the old code wrote (``store.dumps`` of the dict the renderers, ``mail.pack``
and ``enqueue``'s group mark built), captured from it before notifications carried ``Parts``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from channels.apprise_channel import body_format
from channels.model import NO_PARTS, Alert, ChannelSpec, Notification, Parts, Person, Result
from daemon.notify import outbox_meta
from daemon.notify.delivery import Outbox
from daemon.notify.outbox import Rendered, enqueue
from daemon.notify.rendering import ChannelRenderer
from daemon.reports import mail
from daemon.store import Store, dumps
from tests.channels.sending import deliver
from tests.conftest import HttpSink, SmtpSink

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ZHANG = Person("zhang", "张三", phone="13800000001", email="zhang@example.gov.cn")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
XLSX = b"PK\x03\x04" + b"\x00" * 8
HTML = '<h1>舆情日报</h1><img src="cid:chart-days@yuqing">'
REPORT_PARTS = mail.parts(HTML, {"chart-days@yuqing": PNG, "chart-spread@yuqing": PNG[:4]},
                          {"2026-11-23-daily.xlsx": XLSX})
OLD_REPORT = (
    '{"attachments": "{\\"2026-11-23-daily.xlsx\\": \\"UEsDBAAAAAAAAAAA\\"}",'
    ' "html": "<h1>舆情日报</h1><img src=\\"cid:chart-days@yuqing\\">",'
    ' "images": "{\\"chart-days@yuqing\\": \\"iVBORw0KGgoAAAAAAAAAAA==\\", \\"chart-spread@yuqing\\": \\"iVBORw==\\"}"}'
)
ALERT = Alert(incident_id="YQ-1", level="red", level_label="红色", title="城东拆迁户聚集", first_seen=T0,
              excerpt="城东拆迁户今天在县政府门口聚集。")


@pytest.mark.parametrize(("parts", "grouped", "old"), [
    (REPORT_PARTS, False, OLD_REPORT),
    (Parts(level="red", html="<p>红色</p>"), False, '{"html": "<p>红色</p>", "level": "red"}'),
    (Parts(level="yellow", markdown=True), True, '{"format": "markdown", "group": "1", "level": "yellow"}'),
    (Parts(level="blue"), False, '{"level": "blue"}'),
    (NO_PARTS, False, "{}"),
], ids=["report-mail", "alert-mail", "grouped-chat", "sms", "report-text"])
def test_stored_as_the_old_code_stored_it_and_read_back(tmp_path: Path, parts: Parts, grouped: bool,
                                                        old: str) -> None:
    store = Store(tmp_path / "s.db")
    with store.transaction() as db:
        enqueue(db, "n-1", "YQ-1", "x", (ZHANG,), Rendered("t", "b", parts), T0,
                group_wait=timedelta(minutes=2) if grouped else timedelta(0))
    row = store.one("SELECT meta FROM outbox")
    assert row is not None
    assert row["meta"] == old
    assert outbox_meta.load(old) == (parts, grouped)


@pytest.mark.parametrize("spec", [
    ChannelSpec("email", "mailto://127.0.0.1?from=a@example.gov.cn", "email"),
    ChannelSpec("robot", "json://127.0.0.1/h"),
    ChannelSpec("sms", "json://127.0.0.1/sms", "phone"),
], ids=lambda spec: spec.name)
def test_rendered_alerts_store_the_old_meta(spec: ChannelSpec) -> None:
    """The renderer's real output, against the dict the old renderer built from the same texts."""
    rendered = ChannelRenderer()(ALERT, spec)
    old = {"level": "red"}
    if spec.address == "email":
        assert rendered.parts.html
        old["html"] = rendered.parts.html
    if spec.name == "robot":  # the chat style
        old["format"] = "markdown"
    assert outbox_meta.dump(rendered.parts) == dumps(old)


def test_an_old_report_row_is_sent_with_its_charts_and_workbook(tmp_path: Path, smtp_server: SmtpSink) -> None:
    store = Store(tmp_path / "s.db")
    url = f"mailto://127.0.0.1:{smtp_server.port}?from=alerts@example.gov.cn&mode=insecure"
    outbox = Outbox(store, {"email": ChannelSpec("email", url, "email")}, deliver, random.Random(1))
    with store.transaction() as db:
        enqueue(db, "report:daily:2026-11-23:email", None, "email", (ZHANG,),
                Rendered("【舆情哨兵】舆情日报", "日报正文"), T0)
        db.execute("UPDATE outbox SET meta = ?", (OLD_REPORT,))  # as the old daemon left it

    assert outbox.deliver_due(lambda: T0) == 1

    row = store.one("SELECT status FROM outbox")
    assert row is not None
    assert row["status"] == "sent"
    [message] = smtp_server.messages
    assert isinstance(message, EmailMessage)
    html = message.get_body(("html",))
    assert html is not None
    assert "舆情日报" in html.get_content()
    images = {p["Content-ID"]: p.get_content() for p in message.walk() if p.get_content_type() == "image/png"}
    assert images == {"<chart-days@yuqing>": PNG, "<chart-spread@yuqing>": PNG[:4]}
    [attachment] = list(message.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content()) == ("2026-11-23-daily.xlsx", XLSX)


def test_old_grouped_rows_go_out_together_as_markdown(tmp_path: Path, http_server: HttpSink) -> None:
    """Two chat notifications an old daemon marked for grouping (and stored without an alert): one
    combined notification, markdown, with the first one's level."""
    store = Store(tmp_path / "s.db")
    sent: list[Notification] = []

    def recording(spec: ChannelSpec, notification: Notification) -> Result:
        sent.append(notification)
        return deliver(spec, notification)

    outbox = Outbox(store, {"robot": ChannelSpec("robot", f"json://{http_server.url}/h")}, recording,
                    random.Random(1))
    with store.transaction() as db:
        for i, level in enumerate(["red", "yellow"]):
            enqueue(db, f"YQ-{i}:robot", f"YQ-{i}", "robot", (ZHANG,), Rendered(f"预警{i}", "正文"),
                    T0 + timedelta(seconds=i))
            db.execute("UPDATE outbox SET meta = ? WHERE id = ?",
                       (f'{{"format": "markdown", "group": "1", "level": "{level}"}}', f"YQ-{i}:robot"))

    assert outbox.deliver_due(lambda: T0 + timedelta(minutes=5)) == 2

    [combined] = sent
    assert combined.id == "YQ-0:robot+YQ-1:robot"
    assert combined.parts == Parts(level="red", markdown=True)
    assert body_format(combined) == "markdown"
    assert len(http_server.requests) == 1
    assert [r["status"] for r in store.query("SELECT status FROM outbox")] == ["sent", "sent"]


def test_unknown_keys_and_an_empty_column_are_read_as_no_parts() -> None:
    assert outbox_meta.load('{"format": "text", "colour": "red"}') == (NO_PARTS, False)
    assert outbox_meta.load("") == (NO_PARTS, False)
