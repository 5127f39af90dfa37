"""DingTalk Stream mode end to end: the real dingtalk-stream SDK connected to a local gateway on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.directory import Directory
from channels.model import Person
from daemon import incidents
from daemon.app.ackpage import Signer
from daemon.app.chatack import ChatAck
from daemon.app.dingtalk_stream import StreamListener
from daemon.clock import FakeClock, to_epoch
from daemon.config.policy import DingTalkStream
from daemon.store import Store, audit
from tests.daemon.app.dingtalk_server import BOT_TOPIC, CARD_TOPIC, StreamGateway, bot_text, card_click
from tests.daemon.app.test_ackpage import SECRET, T0, open_red

PEOPLE = {"zhang": Person("zhang", "张三", "值班员", dingtalk="staff-zhang"),
          "zhao": Person("zhao", "赵六", "县委副书记")}


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.store = Store(tmp_path / "state.db")
        self.clock = FakeClock(T0)
        self.signer = Signer(SECRET)
        self.gateway = StreamGateway()
        chat = ChatAck(self.store, self.signer, Directory(PEOPLE, {}), self.clock)
        settings = DingTalkStream("app-key", "app-secret", self.gateway.endpoint)
        self.listener = StreamListener(settings, chat, backoff=0.05, max_backoff=0.2)
        self.listener.start()
        assert self.gateway.connected.get(timeout=5).endswith("ticket=ticket-1")

    def close(self) -> None:
        self.listener.stop()
        self.gateway.close()
        self.store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path)
    yield rig
    rig.close()


def test_the_open_call_carries_the_credentials_and_both_topics(rig: Rig) -> None:
    body = rig.gateway.opens[0]
    assert (body["clientId"], body["clientSecret"]) == ("app-key", "app-secret")
    assert {s["topic"] for s in body["subscriptions"]} == {CARD_TOPIC, BOT_TOPIC}


def test_a_click_on_ack_acknowledges_as_the_mapped_person_and_updates_the_card(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    ack = rig.gateway.push(CARD_TOPIC, card_click("staff-zhang", "ack", incident.id, token), "m1")
    assert ack["code"] == 200
    update = json.loads(ack["data"])["response"]
    assert update["cardData"]["cardParamMap"]["status"] == "已确认（张三）"
    stored = incidents.by_ids(rig.store, [incident.id])[0]
    assert (str(stored.status), stored.acked_by) == ("acknowledged", "zhang")
    [entry] = audit.entries_for_incidents(rig.store, [incident.id])[incident.id]
    assert (entry.actor, entry.action, entry.client) == ("zhang", "acknowledge", "dingtalk")


def test_a_click_on_resolve_resolves(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    ack = rig.gateway.push(CARD_TOPIC, card_click("staff-zhang", "resolve", incident.id, token), "m1")
    assert json.loads(ack["data"])["response"]["cardData"]["cardParamMap"]["status"] == "已处置（张三）"
    assert str(incidents.by_ids(rig.store, [incident.id])[0].status) == "resolved"


def test_an_unknown_user_acknowledges_nothing(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    ack = rig.gateway.push(CARD_TOPIC, card_click("staff-stranger", "ack", incident.id, token), "m1")
    assert "未登记" in json.loads(ack["data"])["response"]["cardData"]["cardParamMap"]["note"]
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged
    assert audit.entries_for_incidents(rig.store, [incident.id]) == {}


def test_a_card_for_another_incident_or_a_forged_token_acknowledges_nothing(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    other = rig.signer.token("YQ-20261123-0099", "zhang", T0)
    rig.gateway.push(CARD_TOPIC, card_click("staff-zhang", "ack", incident.id, other), "m1")
    rig.gateway.push(CARD_TOPIC, card_click("staff-zhang", "ack", incident.id, "forged.zhang.x.sig"), "m2")
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged


def test_a_private_reply_acknowledges_the_latest_notice_and_answers(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    with rig.store.transaction() as db:  # the notice was sent to zhang just now
        db.execute("UPDATE outbox SET created_at = ? WHERE incident_id = ?", (to_epoch(T0), incident.id))
    webhook = rig.gateway.session_webhook()
    rig.gateway.push(BOT_TOPIC, bot_text("staff-zhang", "好的", webhook), "m1")
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged  # other words do nothing
    rig.gateway.push(BOT_TOPIC, bot_text("staff-zhang", " 收到 ", webhook), "m2")
    assert incidents.by_ids(rig.store, [incident.id])[0].acked_by == "zhang"
    [entry] = audit.entries_for_incidents(rig.store, [incident.id])[incident.id]
    assert entry.client == "dingtalk"
    assert incident.id in rig.gateway.replies[-1]["text"]["content"]


def test_a_reply_in_a_group_chat_acknowledges_nothing(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    with rig.store.transaction() as db:
        db.execute("UPDATE outbox SET created_at = ? WHERE incident_id = ?", (to_epoch(T0), incident.id))
    rig.gateway.push(BOT_TOPIC, bot_text("staff-zhang", "1", rig.gateway.session_webhook(), "2"), "m1")
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged


def test_the_client_reconnects_after_the_gateway_drops_the_socket(rig: Rig) -> None:
    rig.gateway.drop()
    assert rig.gateway.connected.get(timeout=5).endswith("ticket=ticket-2")  # a new open call, a new ticket
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    rig.gateway.push(CARD_TOPIC, card_click("staff-zhang", "ack", incident.id, token), "m9")
    assert incidents.by_ids(rig.store, [incident.id])[0].acknowledged
