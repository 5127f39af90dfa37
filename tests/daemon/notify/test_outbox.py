"""The outbox against a real webhook server: stored first, retried with backoff, every attempt recorded."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from channels.model import ChannelSpec, HttpSms, Person
from daemon.clock import FakeClock
from daemon.notify.delivery import GIVE_UP_AFTER, MAX_RETRY, Outbox, backoff
from daemon.notify.outbox import Rendered, enqueue
from daemon.store import Store
from tests.channels.sending import deliver
from tests.conftest import HttpSink, SmtpSink

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ZHANG = Person("zhang", "张三", phone="13800000001", email="zhang@example.gov.cn")


def queue_one(store: Store, channel: str = "hook") -> None:
    with store.transaction() as db:
        key = "YQ-1:red:0:0:" + channel
        assert enqueue(db, key, "YQ-1", channel, (ZHANG,), Rendered("【红色预警】燃气爆炸", "正文"), T0) == 1
        assert enqueue(db, key, "YQ-1", channel, (ZHANG,), Rendered("again", "again"), T0) == 0


def test_500_is_retried_with_backoff_then_delivered(tmp_path: Path, http_server: HttpSink) -> None:
    store = Store(tmp_path / "s.db")
    http_server.statuses = [500, 500]
    clock = FakeClock(T0)
    outbox = Outbox(store, {"hook": ChannelSpec("hook", f"json://{http_server.url}/h")}, deliver, random.Random(1))
    queue_one(store)

    assert outbox.deliver_due(clock.now) == 1
    row = store.one("SELECT * FROM outbox")
    assert row is not None
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert 4 <= row["next_attempt_at"] - T0.timestamp() <= 6
    assert outbox.deliver_due(clock.now) == 0  # not due yet

    clock.advance(timedelta(seconds=6))
    outbox.deliver_due(clock.now)
    clock.advance(timedelta(seconds=13))
    outbox.deliver_due(clock.now)
    row = store.one("SELECT * FROM outbox")
    assert row is not None
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, None)
    assert [r["outcome"] for r in store.query("SELECT outcome FROM deliveries ORDER BY id")] == ["retry", "retry", "ok"]
    assert len(http_server.requests) == 1
    assert http_server.requests[0]["json"]["title"] == "【红色预警】燃气爆炸"


def test_retry_waits_as_long_as_the_gateway_asked(tmp_path: Path) -> None:
    """An SMS gateway answering 429 with ``Retry-After: 600``: the next attempt is not before 10 min,
    however short the back-off would have been."""
    class Busy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(429)
            self.send_header("Retry-After", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        gateway = HttpSms(f"http://127.0.0.1:{http.server_address[1]}/send", body="{{ text }}")
        store = Store(tmp_path / "s.db")
        outbox = Outbox(store, {"sms": ChannelSpec("sms", gateway.url, "phone", gateway)}, deliver, random.Random(1))
        queue_one(store, "sms")
        outbox.deliver_due(lambda: T0)
    finally:
        http.shutdown()
        http.server_close()
    row = store.one("SELECT * FROM outbox")
    assert row is not None
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["next_attempt_at"] - T0.timestamp() == 600


def test_unconfigured_channel_fails_permanently_and_says_why(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    outbox = Outbox(store, {}, deliver)
    queue_one(store, "gone")
    outbox.deliver_due(lambda: T0)
    row = store.one("SELECT status, last_error FROM outbox")
    assert row is not None
    assert row["status"] == "failed"
    assert row["last_error"] == 'channel "gone" is not configured'


def test_a_dead_channel_gives_up_after_a_day(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    clock = FakeClock(T0)
    outbox = Outbox(store, {"hook": ChannelSpec("hook", "json://127.0.0.1:9/h")}, deliver, random.Random(2))
    queue_one(store)
    for _ in range(400):
        outbox.deliver_due(clock.now)
        clock.advance(MAX_RETRY)
        if store.one("SELECT status FROM outbox WHERE status = 'failed'"):
            break
    assert store.one("SELECT status FROM outbox")["status"] == "failed"  # type: ignore[index]
    last = store.one("SELECT max(at) FROM deliveries")
    assert last is not None
    tried_for = timedelta(seconds=last[0] - T0.timestamp())
    assert GIVE_UP_AFTER - MAX_RETRY * 1.2 <= tried_for <= GIVE_UP_AFTER  # kept trying the whole day


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(3)
    delays = [backoff(n, rng).total_seconds() for n in range(1, 12)]
    assert 4 <= delays[0] <= 6
    assert 8 <= delays[1] <= 12
    assert all(d <= MAX_RETRY.total_seconds() * 1.2 for d in delays)
    assert delays[-1] >= MAX_RETRY.total_seconds() * 0.8


def test_after_repeated_failures_the_alert_also_goes_out_on_the_fallback_channel(tmp_path: Path) -> None:
    from channels import local
    from channels.model import Alert
    from daemon.notify.rendering import ChannelRenderer

    local.register()
    store = Store(tmp_path / "s.db")
    clock = FakeClock(T0)
    dead = ChannelSpec("email", "mailto://127.0.0.1:9?from=a@example.gov.cn&mode=insecure", "email",
                       fallback="sms", fallback_after=2)
    sms = ChannelSpec("sms", f"jsonl://{tmp_path}/sms.jsonl", "phone")
    render = ChannelRenderer()
    outbox = Outbox(store, {"email": dead, "sms": sms}, deliver, random.Random(4), render=render)
    alert = Alert("YQ-1", "red", "红色", "燃气爆炸", category="燃气安全", excerpt="城东小区燃气爆炸")
    with store.transaction() as db:
        enqueue(db, "YQ-1:red:0:0:email", "YQ-1", "email", (ZHANG,), render(alert, dead), T0, alert)

    outbox.deliver_due(clock.now)
    assert store.one("SELECT count(*) FROM outbox")[0] == 1  # type: ignore[index]
    clock.advance(timedelta(seconds=7))
    outbox.deliver_due(clock.now)  # second failure: the fallback is queued …
    clock.advance(timedelta(seconds=1))
    outbox.deliver_due(clock.now)  # … and delivered
    rows = {r["id"]: (r["status"], r["title"]) for r in store.query("SELECT * FROM outbox")}
    assert rows["YQ-1:red:0:0:email>sms"] == ("sent", "【红色预警】燃气爆炸")
    assert rows["YQ-1:red:0:0:email"][0] == "pending"  # email keeps trying too
    line = (tmp_path / "sms.jsonl").read_text(encoding="utf-8")
    assert "13800000001" in line  # addressed by phone now
    clock.advance(timedelta(minutes=30))
    outbox.deliver_due(clock.now)
    assert store.one("SELECT count(*) FROM outbox")[0] == 2  # type: ignore[index]  # queued once only


def test_new_incidents_within_the_group_wait_go_out_as_one(tmp_path: Path, http_server: HttpSink) -> None:
    from channels.model import Alert

    store = Store(tmp_path / "s.db")
    clock = FakeClock(T0)
    hook = ChannelSpec("hook", f"json://{http_server.url}/h")
    outbox = Outbox(store, {"hook": hook}, deliver, random.Random(5))
    wang = Person("wang", "王五", phone="13800000002")
    wait = timedelta(seconds=30)
    arrivals = [("YQ-1", "yellow", "黄色", ZHANG), ("YQ-2", "red", "红色", ZHANG),
                ("YQ-3", "yellow", "黄色", ZHANG), ("YQ-4", "blue", "蓝色", wang)]
    for offset, (iid, level, label, who) in enumerate(arrivals):
        alert = Alert(iid, level, label, f"事件{iid}")
        with store.transaction() as db:
            enqueue(db, f"{iid}:{level}:0:0:hook", iid, "hook", (who,),
                    Rendered(f"【{label}预警】事件{iid}", "正文"), T0 + timedelta(seconds=5 * offset), alert,
                    group_wait=wait)
    clock.advance(timedelta(seconds=29))
    assert outbox.deliver_due(clock.now) == 0  # the first is not due yet
    clock.advance(timedelta(seconds=1))
    assert outbox.deliver_due(clock.now) == 3  # the first's wait is the group's wait
    assert http_server.wait_for(1, 5)
    assert [r["json"]["title"] for r in http_server.requests] == ["【3起舆情预警】红色1起、黄色2起"]
    body = http_server.requests[0]["json"]["message"]
    assert body.index("事件YQ-2") < body.index("事件YQ-1")  # most severe first
    statuses = {r["id"].split(":")[0]: r["status"] for r in store.query("SELECT id, status FROM outbox")}
    assert statuses == {"YQ-1": "sent", "YQ-2": "sent", "YQ-3": "sent", "YQ-4": "pending"}  # other people
    clock.advance(timedelta(seconds=15))
    assert outbox.deliver_due(clock.now) == 1  # alone in its group: sent as it was
    assert http_server.wait_for(2, 5)
    assert http_server.requests[1]["json"]["title"] == "【蓝色预警】事件YQ-4"


def test_an_smtp_server_that_refuses_then_accepts_gets_the_mail_once(tmp_path: Path) -> None:
    from email import message_from_bytes
    from email.header import decode_header, make_header
    from typing import Any

    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    class Flaky:
        def __init__(self) -> None:
            self.refused = 0
            self.subjects: list[str] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if self.refused < 2:
                self.refused += 1
                return "451 4.3.0 try again later"
            self.subjects.append(str(make_header(decode_header(message_from_bytes(envelope.content)["Subject"]))))
            return "250 OK"

    flaky, port = Flaky(), free_port()
    controller = Controller(flaky, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        store = Store(tmp_path / "s.db")
        clock = FakeClock(T0)
        email = ChannelSpec("email", f"mailto://127.0.0.1:{port}?from=alerts@example.gov.cn&mode=insecure", "email")
        outbox = Outbox(store, {"email": email}, deliver, random.Random(6))
        queue_one(store, "email")
        for _ in range(3):
            outbox.deliver_due(clock.now)
            clock.advance(timedelta(seconds=30))
        assert flaky.refused == 2
        assert flaky.subjects == ["【红色预警】燃气爆炸"]
        assert [r["outcome"] for r in store.query("SELECT outcome FROM deliveries ORDER BY id")] == [
            "retry", "retry", "ok"]
        assert outbox.deliver_due(clock.now) == 0
    finally:
        controller.stop()


def mail_channel(sink: SmtpSink) -> dict[str, ChannelSpec]:
    return {"email": ChannelSpec("email", f"mailto://127.0.0.1:{sink.port}?from=alerts@example.gov.cn&mode=insecure")}


def test_a_store_locked_past_the_busy_timeout_after_delivery_sends_nothing_twice(
        tmp_path: Path, smtp_server: SmtpSink) -> None:
    store = Store(tmp_path / "s.db", busy_timeout=0.2)
    clock = FakeClock(T0)
    outbox = Outbox(store, mail_channel(smtp_server), deliver, random.Random(1),
                    monotonic=lambda: clock.now().timestamp())
    queue_one(store, "email")
    locker = sqlite3.connect(tmp_path / "s.db", isolation_level=None, timeout=0)
    locker.execute("BEGIN EXCLUSIVE")  # a real second writer, holding on far longer than 0.2 s

    outbox.deliver_due(clock.now)  # delivered; the sent mark cannot be written
    assert smtp_server.wait_for(1, timeout=5)
    for _ in range(6):  # the delivery thread comes round again and again
        clock.advance(timedelta(seconds=30))
        outbox.deliver_due(clock.now)
    assert not store.health.writable
    assert store.one("SELECT status FROM outbox")["status"] == "pending"  # type: ignore[index]

    locker.execute("COMMIT")
    locker.close()
    clock.advance(timedelta(minutes=2))  # past any back-off
    outbox.deliver_due(clock.now)
    row = store.one("SELECT status, attempts, sent_at FROM outbox")
    assert row is not None
    assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 1, T0.timestamp())  # when it went
    assert [r["outcome"] for r in store.query("SELECT outcome FROM deliveries")] == ["ok"]
    assert store.health.writable
    assert not smtp_server.wait_for(2, timeout=1)
    assert len(smtp_server.messages) == 1


class _SlowPathServer:
    """A webhook that answers ``/slow`` only after ``hold`` seconds; arrival times and order are kept."""

    def __init__(self, hold: float) -> None:
        self.arrived: list[tuple[str, float, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.arrived.append((self.path, time.monotonic(), body["title"]))
                if self.path == "/slow":
                    time.sleep(hold)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


def test_a_slow_channel_does_not_hold_up_another_incidents_alert(tmp_path: Path) -> None:
    server = _SlowPathServer(hold=2.0)
    store = Store(tmp_path / "s.db")
    channels = {"slow": ChannelSpec("slow", f"json://{server.url}/slow?rto=10"),
                "fast": ChannelSpec("fast", f"json://{server.url}/fast?rto=10")}
    with store.transaction() as db:
        enqueue(db, "YQ-1:red:0:0:slow", "YQ-1", "slow", (ZHANG,), Rendered("一", "正文"), T0)
        enqueue(db, "YQ-2:red:0:0:fast", "YQ-2", "fast", (ZHANG,), Rendered("二", "正文"), T0 + timedelta(seconds=1))
    outbox = Outbox(store, channels, deliver)
    try:
        assert outbox.deliver_due(lambda: T0 + timedelta(seconds=2)) == 2
    finally:
        outbox.close()
        server.http.shutdown()
    arrival = {path: at for path, at, _title in server.arrived}
    assert arrival["/fast"] - arrival["/slow"] < 1.0  # sent beside the slow one, not after its 2 s
    assert [r["status"] for r in store.query("SELECT status FROM outbox")] == ["sent", "sent"]


def test_one_incidents_notices_on_one_channel_keep_their_order(tmp_path: Path) -> None:
    server = _SlowPathServer(hold=0.3)
    store = Store(tmp_path / "s.db")
    channels = {"slow": ChannelSpec("slow", f"json://{server.url}/slow?rto=10")}
    with store.transaction() as db:
        for i, title in enumerate(["红色预警", "重复提醒", "已处置"]):
            enqueue(db, f"YQ-1:{i}:slow", "YQ-1", "slow", (ZHANG,), Rendered(title, "正文"), T0 + timedelta(seconds=i))
        enqueue(db, "YQ-2:0:slow", "YQ-2", "slow", (ZHANG,), Rendered("另一事件", "正文"), T0)
    outbox = Outbox(store, channels, deliver)
    try:
        assert outbox.deliver_due(lambda: T0 + timedelta(seconds=5)) == 4
    finally:
        outbox.close()
        server.http.shutdown()
    titles = [title for _path, _at, title in server.arrived if title != "另一事件"]
    assert titles == ["红色预警", "重复提醒", "已处置"]
