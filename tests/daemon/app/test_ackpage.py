"""The acknowledgement page over a real HTTP listener on 127.0.0.1: signed tokens, the page, the ack."""

from __future__ import annotations

import email.message
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from channels.delivery import addressed
from channels.directory import Directory
from channels.model import Alert, ChannelSpec, Person
from daemon import incidents
from daemon.app.ackpage import AckLinks, AckPage, Signer, TokenError, with_ack_links
from daemon.app.httpapi import HttpServer, Router
from daemon.clock import FakeClock
from daemon.notify.escalation import Escalation
from daemon.notify.outbox import Rendered
from daemon.store import Store
from rules.model import Level, Location, Message, RuleMatch, Verdict
from tests.conftest import free_port

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SECRET = b"0123456789abcdef0123456789abcdef"
PEOPLE = {"zhang": Person("zhang", "张三", "值班员"), "zhao": Person("zhao", "赵六", "县委副书记")}


def open_red(store: Store, now: datetime, text: str = "城东小区燃气爆炸，两人死亡",
             rule_title: str = "燃气爆炸致人员伤亡") -> incidents.Incident:
    verdict = Verdict(Level.RED, (RuleMatch("gas", rule_title, "燃气安全", Level.RED, Level.RED, (),
                                            Location("r.yaml", 1, 1)),))
    message = Message(id="weibo-1", source="weibo", text=text, title="城东燃气爆炸")
    with store.transaction() as db:
        incident = incidents.open_incident(db, store, message, verdict, now)
        db.execute("INSERT INTO outbox (id, incident_id, channel, recipients, title, body, status, next_attempt_at,"
                   " created_at) VALUES ('n1', ?, 'sms', ?, 't', 'b', 'sent', 0, 0)",
                   (incident.id, '[{"key": "zhang", "name": "张三"}, {"key": "zhao", "name": "赵六"}]'))
    return incident


class Served:
    def __init__(self, tmp_path: Path) -> None:
        self.store = Store(tmp_path / "state.db")
        self.clock = FakeClock(T0)
        self.signer = Signer(SECRET)
        router = Router()
        AckPage(self.store, self.signer, Directory(PEOPLE, {}), self.clock).register(router)
        self.server = HttpServer(f"127.0.0.1:{free_port()}", router)
        self.server.start()
        host, port = self.server.address
        self.links = AckLinks(f"http://{host}:{port}", self.signer)

    def call(self, url: str, data: bytes | None = None) -> tuple[int, str]:
        request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    yield s
    s.server.stop()


def test_tokens_round_trip_and_refuse_tampering_and_expiry() -> None:
    signer = Signer(SECRET, timedelta(hours=24))
    token = signer.token("YQ-20261123-0001", "zhang", T0)
    claims = signer.verify(token, T0 + timedelta(hours=23))
    assert (claims.incident_id, claims.person) == ("YQ-20261123-0001", "zhang")
    assert len(token) < 60  # short enough for a chat line
    with pytest.raises(TokenError) as expired:
        signer.verify(token, T0 + timedelta(hours=24))
    assert expired.value.reason == "expired"
    for forged in (token.replace("zhang", "zhao"), token.replace("0001", "0002"), token[:-1] + "A",
                   Signer(b"another secret").token("YQ-20261123-0001", "zhang", T0)):
        with pytest.raises(TokenError) as refused:
            signer.verify(forged, T0)
        assert refused.value.reason == "forged"


def test_the_page_shows_the_incident_and_the_button_acknowledges(served: Served) -> None:
    incident = open_red(served.store, T0)
    url = served.links.url(incident.id, "zhang", T0)
    status, page = served.call(url)
    assert status == 200
    for text in ("【红色预警】燃气爆炸致人员伤亡", "燃气安全", "微博", "待确认", "确认人：张三（值班员）",
                 ">确认</button>"):
        assert text in page
    served.clock.advance(timedelta(minutes=7))
    status, page = served.call(url, data=b"")  # urllib follows the 303 to the page again
    assert status == 200
    assert "已确认：张三（值班员），2026-11-23 10:07" in page
    assert "<button" not in page
    after = incidents.get(served.store.db, incident.id)
    assert (after.acked_by, after.acked_at) == ("zhang", T0 + timedelta(minutes=7))
    audit = served.store.one("SELECT actor, action, detail FROM audit")
    assert audit is not None
    assert tuple(audit) == ("zhang", "acknowledge", "确认页面")
    served.call(url, data=b"")  # a second click changes nothing
    assert served.store.one("SELECT count(*) FROM audit")[0] == 1  # type: ignore[index]


def test_a_group_link_asks_who_among_the_people_told(served: Served) -> None:
    incident = open_red(served.store, T0)
    url = served.links.url(incident.id, "", T0)
    status, page = served.call(url)
    assert status == 200
    assert '<option value="zhao">赵六（县委副书记）</option>' in page
    status, page = served.call(url, data=b"person=nobody")
    assert "请选择确认人" in page
    assert incidents.get(served.store.db, incident.id).acked_at is None
    served.call(url, data=b"person=zhao")
    assert incidents.get(served.store.db, incident.id).acked_by == "zhao"


def test_forged_and_expired_links_get_a_chinese_error_page(served: Served) -> None:
    incident = open_red(served.store, T0)
    url = served.links.url(incident.id, "zhang", T0)
    status, page = served.call(url.replace("zhang", "zhao"))
    assert status == 403
    assert "链接无效" in page
    status, page = served.call(f"{served.links.base}/ack?t=nonsense")
    assert status == 403
    assert "链接无效" in page
    served.clock.advance(timedelta(hours=25))
    status, page = served.call(url)
    assert status == 410
    assert "链接已于 2026-11-24 10:00 过期" in page
    status, _ = served.call(url, data=b"")
    assert status == 410
    assert incidents.get(served.store.db, incident.id).acked_at is None


def test_renders_carry_a_link_only_for_incidents_someone_can_acknowledge() -> None:
    seen: list[Alert] = []

    def render(alert: Alert, spec: ChannelSpec) -> Rendered:
        seen.append(alert)
        return Rendered("t", "b")

    linked = with_ack_links(render, AckLinks("https://yq.example.gov.cn", Signer(SECRET)), FakeClock(T0))
    spec = ChannelSpec("email", "mailto://x", "email")
    linked(Alert("YQ-1", "red", "红色", "t"), spec)
    linked(Alert("", "blue", "蓝色", "测试", kind="test"), spec)
    linked(Alert("", "blue", "蓝色", "日报", kind="digest"), spec)
    assert seen[0].ack_url is not None
    assert seen[0].ack_url.startswith("https://yq.example.gov.cn/ack?t=YQ-1..")
    assert [a.ack_url for a in seen[1:]] == [None, None]
    assert with_ack_links(render, None, FakeClock(T0)) is render  # no listener: no link


def test_the_page_masks_personal_numbers_however_they_are_written(served: Served) -> None:
    incident = open_red(served.store, T0,
                        text="举报人１３８００００１２３４称城东小区燃气爆炸，身份证110101 19900101 1234",
                        rule_title="燃气爆炸（知情人138\u200b0000\u200b0001）")
    status, page = served.call(served.links.url(incident.id, "zhang", T0))
    assert status == 200
    assert "举报人１３８****１２３４" in page
    assert "知情人138\u200b****\u200b0001" in page
    assert "110*** ******** **34" in page
    visible = "".join(ch for ch in unicodedata.normalize("NFKC", page) if ch.isdigit())
    for number in ("13800001234", "13800000001", "11010119900101"):
        assert number not in visible


# ---------------------------------------------------------------- who acknowledges


def test_an_escalation_to_one_person_carries_a_link_that_acks_as_that_person_only(served: Served) -> None:
    from tests.daemon.notify.test_escalation import notify_config, open_one  # the red policy: 值班 = zhang alone

    email = ChannelSpec("email", "mailto://x", "email")
    escalation = Escalation(notify_config(), with_ack_links(
        lambda alert, spec: Rendered("t", alert.ack_url or ""), served.links, served.clock))
    open_one(served.store, escalation, Level.RED, T0)
    escalation.fire_due(served.store, T0)
    (link,) = [r["body"] for r in served.store.query("SELECT body FROM outbox WHERE channel = 'email'")]
    assert served.signer.verify(link.partition("t=")[2], T0).person == "zhang"
    status, page = served.call(link, data=b"person=zhao")  # a person field is ignored: the link names zhang
    assert status == 200
    assert "已确认：张三（值班员）" in page
    audit = served.store.one("SELECT actor, detail FROM audit")
    assert audit is not None
    assert tuple(audit) == ("zhang", "确认页面")
    assert addressed(Alert("YQ-1", "red", "红色", "t"), email, tuple(PEOPLE.values())).recipient == ""
    robot = ChannelSpec("duty", "dingtalk://abc/", "phone")  # a group robot that only @-mentions people
    assert addressed(Alert("YQ-1", "red", "红色", "t"), robot, (PEOPLE["zhang"],)).recipient == ""


def test_a_group_link_records_the_chosen_name_as_unverified(served: Served) -> None:
    incident = open_red(served.store, T0)
    url = served.links.url(incident.id, "", T0)
    served.call(url, data=b"person=zhao")
    assert incidents.get(served.store.db, incident.id).acked_by == "zhao"
    audit = served.store.one("SELECT actor, action, detail FROM audit")
    assert audit is not None
    assert tuple(audit) == ("zhao", "acknowledge", "确认页面（群组链接，身份未核实）")
    event = served.store.one("SELECT actor, detail FROM incident_events WHERE kind = 'acknowledged'")
    assert event is not None
    assert tuple(event) == ("zhao", "确认页面（群组链接，身份未核实）")


@pytest.mark.parametrize("person", ["zhang", ""])
def test_no_link_acknowledges_after_its_ttl(served: Served, person: str) -> None:
    incident = open_red(served.store, T0)
    url = served.links.url(incident.id, person, T0)
    served.clock.advance(served.signer.ttl)
    for data in (None, b"person=zhao", b"person=zhang"):
        status, page = served.call(url, data=data)
        assert status == 410
        assert "过期" in page
    assert incidents.get(served.store.db, incident.id).acked_at is None
    assert served.store.one("SELECT count(*) FROM audit")[0] == 0  # type: ignore[index]


def headers_of(url: str) -> email.message.Message:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.headers
    except urllib.error.HTTPError as exc:
        return exc.headers


def test_the_page_keeps_its_link_to_itself(served: Served) -> None:
    """The page's URL is the signed link: opening the post's own link from it must not hand that URL to
    the other site as a Referer, and nothing but the page's own inline styles may run on it."""
    incident = open_red(served.store, T0)
    url = served.links.url(incident.id, "zhang", T0)
    for page in (url, url[:-3] + "xyz"):  # the page, and the error page of a forged link
        headers = headers_of(page)
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "script-src" not in headers["Content-Security-Policy"]
