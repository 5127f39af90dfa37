"""``kind: feishu-card`` against the local Feishu stand-in (tests/daemon/app/feishu_server.py): red and
yellow notices with a signed ack link as cards, the rest as text, the tenant token cached and renewed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from channels.dingtalk_openapi import TokenCache
from channels.feishu_card import parse_click
from channels.feishu_openapi import FeishuCardChannel
from channels.model import Alert, ChannelSpec, FeishuCard, Notification, Outcome, Parts, Person
from daemon.app.ackpage import Signer
from daemon.clock import FakeClock
from tests.daemon.app.feishu_server import APP, FeishuServer
from tests.daemon.app.test_ackpage import SECRET, T0

ZHANG = Person("zhang", "张三", "值班员", feishu="ou_zhang")
ZHAO = Person("zhao", "赵六", "县委副书记")  # no open_id: not this channel's


@pytest.fixture
def server() -> Iterator[FeishuServer]:
    s = FeishuServer()
    yield s
    s.close()


def spec(server: FeishuServer, secret: str = APP[1]) -> ChannelSpec:
    return ChannelSpec("feishu", server.domain, "feishu", FeishuCard(APP[0], secret, server.domain))


def notice(level: str = "red", ack: bool = True, kind: str = "new") -> Notification:
    token = Signer(SECRET).token("YQ-20261123-0001", "zhang", T0)
    alert = Alert("YQ-20261123-0001", level, "红色" if level == "red" else "蓝色", "城东燃气爆炸", kind=kind,
                  excerpt="知情人13800001234称两人死亡", deadline=T0 + timedelta(minutes=30))
    return Notification("n-1", "feishu", (ZHANG, ZHAO), "【红色】城东燃气爆炸", "**城东燃气爆炸**", alert,
                        Parts(level=level, markdown=True,
                              ack_url=f"https://yq.example.gov.cn/ack?t={token}" if ack else None))


def send(channel: FeishuCardChannel, server: FeishuServer, n: Notification, clock: FakeClock,
         secret: str = APP[1]) -> Outcome:
    return channel.send(spec(server, secret), n, timeout=5, now=clock.now).outcome


def test_a_red_notice_is_a_card_to_the_open_id_whose_buttons_carry_the_token(server: FeishuServer) -> None:
    channel, clock = FeishuCardChannel(TokenCache()), FakeClock(T0)
    assert send(channel, server, notice(), clock) is Outcome.OK
    [(token, path, body)] = server.messages
    assert path == "/open-apis/im/v1/messages?receive_id_type=open_id"
    assert (body["receive_id"], body["msg_type"]) == ("ou_zhang", "interactive")
    sent = json.loads(body["content"])
    assert sent["header"]["template"] == "red"
    [row] = [e for e in sent["elements"] if e["tag"] == "action"]
    click = parse_click(row["actions"][0]["value"])
    assert click is not None
    assert (click.action, click.incident_id) == ("ack", "YQ-20261123-0001")
    assert Signer(SECRET).verify(click.token, T0).incident_id == "YQ-20261123-0001"
    assert token.startswith("t-")


@pytest.mark.parametrize(("level", "ack", "kind"), [("blue", True, "new"), ("red", False, "new"),
                                                    ("red", True, "digest"), ("red", True, "resolved")])
def test_what_is_not_a_card_is_text(server: FeishuServer, level: str, ack: bool, kind: str) -> None:
    assert send(FeishuCardChannel(TokenCache()), server, notice(level, ack, kind), FakeClock(T0)) is Outcome.OK
    [(_, _, body)] = server.messages
    assert body["msg_type"] == "text"
    assert json.loads(body["content"])["text"].startswith("【红色】城东燃气爆炸\n")


def test_the_token_is_kept_until_near_its_expiry_and_renewed_when_refused(server: FeishuServer) -> None:
    channel, clock = FeishuCardChannel(TokenCache()), FakeClock(T0)
    send(channel, server, notice(), clock)
    send(channel, server, notice(), clock)
    assert len(server.token_calls) == 1
    clock.advance(timedelta(hours=2))  # within five minutes of its 7200 s
    send(channel, server, notice(), clock)
    assert len(server.token_calls) == 2
    server.revoked.add(server.messages[-1][0])
    assert send(channel, server, notice(), clock) is Outcome.OK
    assert len(server.token_calls) == 3


def test_rate_limits_retry_and_refusals_are_permanent(server: FeishuServer) -> None:
    channel, clock = FeishuCardChannel(TokenCache()), FakeClock(T0)
    server.scripted.put((429, {"code": 99991400, "msg": "request trigger frequency limit"}, {"Retry-After": "3"}))
    result = channel.send(spec(server), notice(), timeout=5, now=clock.now)
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 3.0)
    server.scripted.put((400, {"code": 230013, "msg": "Bot has NO availability to this user."}, {}))
    assert send(channel, server, notice(), clock) is Outcome.PERMANENT
    assert send(channel, server, notice(), clock, secret="wrong") is Outcome.PERMANENT
