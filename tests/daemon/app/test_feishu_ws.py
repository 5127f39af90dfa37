"""Feishu's long connection end to end: the lark-oapi SDK's frame handling, connected to a local server on
127.0.0.1 that speaks the protocol with the SDK's own protobuf Frame classes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.directory import Directory
from channels.feishu_card import card
from channels.model import Person
from daemon import incidents
from daemon.app.ackpage import Signer
from daemon.app.chatack import ChatAck
from daemon.app.feishu_ws import FeishuListener
from daemon.clock import FakeClock, to_epoch
from daemon.config.policy import FeishuWs
from daemon.store import Store, audit
from tests.daemon.app.feishu_server import APP, FeishuServer, bot_text, card_click
from tests.daemon.app.test_ackpage import SECRET, T0, open_red

PEOPLE = {"zhang": Person("zhang", "张三", "值班员", dingtalk="staff-zhang", feishu="ou_zhang"),
          "zhao": Person("zhao", "赵六", "县委副书记")}


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.store = Store(tmp_path / "state.db")
        self.clock = FakeClock(T0)
        self.signer = Signer(SECRET)
        self.server = FeishuServer()
        chat = ChatAck(self.store, self.signer, Directory(PEOPLE, {}), self.clock, client="feishu")
        settings = FeishuWs(APP[0], APP[1], self.server.domain)
        self.listener = FeishuListener(settings, chat, self.clock, backoff=0.05, max_backoff=0.2)
        self.listener.start()
        assert "device_id=dev-1" in self.server.connected.get(timeout=5)

    def close(self) -> None:
        self.listener.stop()
        self.server.close()
        self.store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path)
    yield rig
    rig.close()


def button(action: str, incident: str, token: str) -> dict[str, Any]:
    """The value of a button of the card the channel sends, as Feishu hands it back with a click."""
    sent = card("【红色】城东燃气爆炸", "red", "**城东燃气爆炸**", incident=incident, token=token)
    [row] = [e for e in sent["elements"] if e["tag"] == "action"]  # type: ignore[union-attr,index]
    [value] = [b["value"] for b in row["actions"] if b["value"]["action"] == action]
    return dict(value)


def test_the_endpoint_call_carries_the_credentials(rig: Rig) -> None:
    assert rig.server.endpoint_calls[0] == {"AppID": APP[0], "AppSecret": APP[1]}


def test_a_click_on_ack_acknowledges_as_the_mapped_person_and_redraws_the_card(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    answer = rig.server.push(card_click("ou_zhang", button("ack", incident.id, token)), "m1")
    assert answer["code"] == 200
    redrawn = answer["data"]["card"]["data"]
    assert "已确认（张三）" in redrawn["elements"][2]["content"]
    assert not [e for e in redrawn["elements"] if e["tag"] == "action"]  # no buttons once recorded
    assert redrawn["header"]["title"]["content"] == "【红色】城东燃气爆炸"
    assert answer["data"]["toast"]["type"] == "success"
    stored = incidents.by_ids(rig.store, [incident.id])[0]
    assert (str(stored.status), stored.acked_by) == ("acknowledged", "zhang")
    [entry] = audit.entries_for_incidents(rig.store, [incident.id])[incident.id]
    assert (entry.actor, entry.action, entry.client) == ("zhang", "acknowledge", "feishu")


def test_a_click_on_resolve_resolves(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    answer = rig.server.push(card_click("ou_zhang", button("resolve", incident.id, token)), "m1")
    assert "已处置（张三）" in answer["data"]["card"]["data"]["elements"][2]["content"]
    assert str(incidents.by_ids(rig.store, [incident.id])[0].status) == "resolved"


def test_an_unknown_user_acknowledges_nothing_and_keeps_the_buttons(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    answer = rig.server.push(card_click("ou_stranger", button("ack", incident.id, token)), "m1")
    assert "您的飞书账号未登记" in answer["data"]["toast"]["content"]
    assert [e for e in answer["data"]["card"]["data"]["elements"] if e["tag"] == "action"]
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged
    assert audit.entries_for_incidents(rig.store, [incident.id]) == {}


def test_a_dingtalk_id_is_not_a_feishu_id(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    rig.server.push(card_click("staff-zhang", button("ack", incident.id, token)), "m1")
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged


def test_a_forged_token_or_a_foreign_button_acknowledges_nothing(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    other = rig.signer.token("YQ-20261123-0099", "zhang", T0)
    rig.server.push(card_click("ou_zhang", button("ack", incident.id, other)), "m1")
    rig.server.push(card_click("ou_zhang", button("ack", incident.id, "forged.zhang.x.sig")), "m2")
    answer = rig.server.push(card_click("ou_zhang", {"action": "vote", "incident": incident.id}), "m3")
    assert answer["code"] == 200
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged


def test_a_private_reply_acknowledges_the_latest_notice_and_answers_in_the_chat(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    with rig.store.transaction() as db:  # the notice was sent to zhang just now
        db.execute("UPDATE outbox SET created_at = ? WHERE incident_id = ?", (to_epoch(T0), incident.id))
    rig.server.push(bot_text("ou_zhang", "好的"), "m1")
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged  # other words do nothing
    assert rig.server.push(bot_text("ou_zhang", " 收到 ", message_id="om_42"), "m2")["code"] == 200
    assert incidents.by_ids(rig.store, [incident.id])[0].acked_by == "zhang"
    [entry] = audit.entries_for_incidents(rig.store, [incident.id])[incident.id]
    assert entry.client == "feishu"
    for _ in range(250):  # the confirmation goes from a worker thread
        if rig.server.messages:
            break
        time.sleep(0.02)
    _token, path, body = rig.server.messages[-1]
    assert path == "/open-apis/im/v1/messages/om_42/reply"
    assert incident.id in body["content"]


def test_a_reply_in_a_group_chat_acknowledges_nothing(rig: Rig) -> None:
    incident = open_red(rig.store, T0)
    with rig.store.transaction() as db:
        db.execute("UPDATE outbox SET created_at = ? WHERE incident_id = ?", (to_epoch(T0), incident.id))
    rig.server.push(bot_text("ou_zhang", "1", chat_type="group"), "m1")
    assert not incidents.by_ids(rig.store, [incident.id])[0].acknowledged


def test_the_client_pings_at_the_interval_the_server_configures(rig: Rig) -> None:
    ping = rig.server.pings.get(timeout=3)  # PingInterval 1 s in the endpoint's ClientConfig
    assert {h.key: h.value for h in ping.headers}["type"] == "ping"
    assert ping.service == 7


def test_the_client_reconnects_after_the_server_drops_the_socket(rig: Rig) -> None:
    rig.server.drop()
    assert "device_id=dev-2" in rig.server.connected.get(timeout=5)  # a new endpoint call, a new URL
    incident = open_red(rig.store, T0)
    token = rig.signer.token(incident.id, "zhang", T0)
    rig.server.push(card_click("ou_zhang", button("ack", incident.id, token)), "m9")
    assert incidents.by_ids(rig.store, [incident.id])[0].acknowledged
