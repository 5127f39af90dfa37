"""DingTalk cards sent: a red notice through escalation and the real outbox becomes a card in the mapped
person's chat (channels.dingtalk_openapi), and a click on it, over Stream mode, acknowledges. The open
API is the local stand-in of tests/daemon/app/dingtalk_server.py."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from channels.delivery import deliver
from channels.dingtalk_openapi import DingTalkCardChannel, TokenCache
from channels.directory import Directory
from channels.model import Alert, ChannelSpec, DingTalkCard, Notification, Outcome, Parts, Person, Result
from daemon import incidents
from daemon.app.ackpage import AckLinks, Signer, with_ack_links
from daemon.app.chatack import ChatAck
from daemon.app.dingtalk_stream import StreamListener
from daemon.clock import FakeClock
from daemon.config.policy import DingTalkStream, NotifyConfig, Policy, Step
from daemon.notify.delivery import Outbox
from daemon.notify.escalation import Escalation
from daemon.notify.rendering import ChannelRenderer
from daemon.store import Store, audit
from rules.model import Level, Location
from tests.daemon.app.dingtalk_server import CARD_TOPIC, StreamGateway, card_click
from tests.daemon.app.test_ackpage import SECRET, T0
from tests.daemon.notify.test_escalation import open_one

HERE = Location("notify.yaml", 1, 1)
ZHANG = Person("zhang", "张三", "值班员", phone="13800000001", dingtalk="staff-zhang")
ZHAO = Person("zhao", "赵六", "县委副书记", dingtalk="staff-zhao")
LINKS = "https://yq.example.gov.cn"


@pytest.fixture
def gateway() -> Iterator[StreamGateway]:
    server = StreamGateway()
    yield server
    server.close()


def card_spec(gateway: StreamGateway, template: str = "tpl.yq") -> ChannelSpec:
    return ChannelSpec("dingtalk", gateway.endpoint, "dingtalk",
                       DingTalkCard("app-key", "app-secret", template, endpoint=gateway.endpoint))


def red_notice(signer: Signer, level: str = "red", people: tuple[Person, ...] = (ZHANG,)) -> Notification:
    token = signer.token("YQ-20261123-0001", "zhang", T0)
    alert = Alert("YQ-20261123-0001", level, "红色" if level == "red" else "蓝色", "城东燃气爆炸",
                  excerpt="知情人13800001234称两人死亡", deadline=T0 + timedelta(minutes=30))
    return Notification("n-1", "dingtalk", people, "【红色】城东燃气爆炸", "**城东燃气爆炸**", alert,
                        Parts(level=level, markdown=True, ack_url=f"{LINKS}/ack?t={token}"))


def test_a_red_notice_through_the_outbox_is_a_card_and_its_click_acknowledges(
        gateway: StreamGateway, tmp_path: Path) -> None:
    store, clock, signer = Store(tmp_path / "state.db"), FakeClock(T0), Signer(SECRET)
    spec = card_spec(gateway)
    notify = NotifyConfig(channels={"dingtalk": spec}, directory=Directory({"zhang": ZHANG}, {"值班": ("zhang",)}),
                          policies={Level.RED: Policy(Level.RED, (Step(("值班",), ("dingtalk",), HERE),))})
    escalation = Escalation(notify, with_ack_links(ChannelRenderer(), AckLinks(LINKS, Signer(SECRET)), clock))
    incident = open_one(store, escalation, Level.RED, T0)
    escalation.fire_due(store, T0)
    outbox = Outbox(store, notify.channels, lambda s, n: deliver(s, n, now=clock.now), random.Random(1))
    assert outbox.deliver_due(clock.now) == 1
    assert store.one("SELECT status FROM outbox")[0] == "sent"

    [(token, body)] = gateway.cards
    assert token.startswith("tok-")
    assert len(gateway.token_calls) == 1
    assert gateway.token_calls[0] == {"appKey": "app-key", "appSecret": "app-secret"}
    assert body["openSpaceId"] == "dtv1.card//IM_ROBOT.staff-zhang"
    assert (body["cardTemplateId"], body["callbackType"]) == ("tpl.yq", "STREAM")
    assert body["imRobotOpenDeliverModel"]["robotCode"] == "app-key"
    params = body["cardData"]["cardParamMap"]
    assert (params["incident"], params["level"], params["status"]) == (incident.id, "red", "待确认")
    assert params["title"].startswith("【红色】")
    assert "城东燃气爆炸" in params["markdown"]
    assert signer.verify(params["token"], T0).person == "zhang"

    listener = StreamListener(DingTalkStream("app-key", "app-secret", gateway.endpoint),
                              ChatAck(store, signer, notify.directory, clock), backoff=0.05, max_backoff=0.2)
    listener.start()
    try:
        gateway.connected.get(timeout=5)
        ack = gateway.push(CARD_TOPIC, card_click("staff-zhang", "ack", incident.id, params["token"]), "m1")
    finally:
        listener.stop()
    assert json.loads(ack["data"])["response"]["cardData"]["cardParamMap"]["status"] == "已确认（张三）"
    assert incidents.by_ids(store, [incident.id])[0].acked_by == "zhang"
    [entry] = audit.entries_for_incidents(store, [incident.id])[incident.id]
    assert (entry.actor, entry.client) == ("zhang", "dingtalk")
    store.close()


def test_the_card_is_filled_from_the_alert_masked(gateway: StreamGateway) -> None:
    result = deliver(card_spec(gateway), red_notice(Signer(SECRET)), now=FakeClock(T0).now)
    assert result.ok, result.detail
    params = gateway.cards[0][1]["cardData"]["cardParamMap"]
    assert params["excerpt"] == "知情人138****1234称两人死亡"
    assert params["deadline"] == "11-23 10:30"  # Beijing time


def test_one_token_serves_two_cards_and_a_new_one_is_fetched_before_it_expires(gateway: StreamGateway) -> None:
    channel, clock, spec = DingTalkCardChannel(TokenCache()), FakeClock(T0), card_spec(gateway)
    notice = red_notice(Signer(SECRET), people=(ZHANG, ZHAO))
    assert channel.send(spec, notice, timeout=2, now=clock.now).reached == ("zhang", "zhao")
    assert [b["openSpaceId"] for _t, b in gateway.cards] == ["dtv1.card//IM_ROBOT.staff-zhang",
                                                             "dtv1.card//IM_ROBOT.staff-zhao"]
    assert len({b["outTrackId"] for _t, b in gateway.cards}) == 2  # one card each
    assert len(gateway.token_calls) == 1
    clock.advance(timedelta(minutes=110))  # 7200 s less the 5 minutes' margin: still good
    assert channel.send(spec, notice, timeout=2, now=clock.now).ok
    assert len(gateway.token_calls) == 1
    clock.advance(timedelta(minutes=6))
    assert channel.send(spec, notice, timeout=2, now=clock.now).ok
    assert len(gateway.token_calls) == 2
    assert gateway.cards[-1][0] != gateway.cards[0][0]


def test_a_revoked_token_is_replaced_once(gateway: StreamGateway) -> None:
    channel, spec = DingTalkCardChannel(TokenCache()), card_spec(gateway)
    notice = red_notice(Signer(SECRET))
    assert channel.send(spec, notice, timeout=2, now=FakeClock(T0).now).ok
    gateway.revoked.add(gateway.cards[0][0])
    assert channel.send(spec, notice, timeout=2, now=FakeClock(T0).now).ok
    assert len(gateway.token_calls) == 2


def test_a_429_is_retried_after_what_it_asks(gateway: StreamGateway) -> None:
    gateway.scripted.put((429, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "限流"},
                          {"Retry-After": "30"}))
    result = deliver(card_spec(gateway), red_notice(Signer(SECRET)), now=FakeClock(T0).now)
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 30.0)
    assert "QpsLimitForApi" in result.detail


def test_an_unknown_template_and_wrong_credentials_are_permanent(gateway: StreamGateway) -> None:
    result = deliver(card_spec(gateway, "tpl.nosuch"), red_notice(Signer(SECRET)), now=FakeClock(T0).now)
    assert result.outcome is Outcome.PERMANENT
    assert "param.invalid" in result.detail
    wrong = ChannelSpec("dingtalk", gateway.endpoint, "dingtalk",
                        DingTalkCard("app-key", "wrong-secret", "tpl.yq", endpoint=gateway.endpoint))
    result = deliver(wrong, red_notice(Signer(SECRET)), now=FakeClock(T0).now)
    assert result.outcome is Outcome.PERMANENT
    assert "invalidClientIdOrSecret" in result.detail
    assert "wrong-secret" not in result.detail
    assert len(gateway.cards) == 1  # nothing was sent without a token


@pytest.mark.parametrize("case", ["blue", "no-ack-link", "no-alert"])
def test_what_is_not_a_card_goes_as_the_robots_text(gateway: StreamGateway, case: str) -> None:
    notice = red_notice(Signer(SECRET), level="blue" if case == "blue" else "red")
    if case == "no-ack-link":
        notice = Notification(notice.id, notice.channel, notice.recipients, notice.title, notice.body, notice.alert,
                              Parts(level="red", markdown=True))
    elif case == "no-alert":
        notice = Notification("n-2", "dingtalk", (ZHANG,), "日报", "第一行\n第二行")
    result: Result = deliver(card_spec(gateway), notice, now=FakeClock(T0).now)
    assert result.ok, result.detail
    assert gateway.cards == []
    [(_token, body)] = gateway.texts
    assert (body["robotCode"], body["userIds"], body["msgKey"]) == ("app-key", ["staff-zhang"], "sampleMarkdown")
    text = json.loads(body["msgParam"])
    assert text["title"] == notice.title
    if case == "no-alert":
        assert text["text"] == "第一行  \n第二行"


def test_a_person_without_a_dingtalk_id_is_named_not_reached(gateway: StreamGateway) -> None:
    nobody = Person("wang", "王五", phone="13800000002")
    result = deliver(card_spec(gateway), red_notice(Signer(SECRET), people=(nobody,)), now=FakeClock(T0).now)
    assert result.outcome is Outcome.PERMANENT
    assert result.detail == "no recipient has a DingTalk user id for this channel: 王五"
