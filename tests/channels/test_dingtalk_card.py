"""The DingTalk card payloads: what a card carries and how a click or a reply is read back."""

from __future__ import annotations

from channels.dingtalk_card import Click, card_params, deliver_body, parse_click, reply_action
from channels.model import Alert

ALERT = Alert("YQ-20261123-0001", "red", "红色", "城东燃气爆炸", ack_url="https://yq.example/ack?t=YQ.zhang.x.sig")


def test_the_card_carries_the_incident_and_the_signed_token() -> None:
    params = card_params(ALERT, "正文")
    assert params["incident"] == "YQ-20261123-0001"
    assert params["token"] == "YQ.zhang.x.sig"
    assert params["title"] == "【红色】城东燃气爆炸"
    assert all(isinstance(v, str) for v in params.values())
    body = deliver_body("tpl.schema", "out-1", "dingabc", ("u1", "u2"), params)
    assert body["callbackType"] == "STREAM"
    assert body["openSpaceId"] == "dtv1.card//IM_ROBOT.u1;IM_ROBOT.u2"


def test_a_click_is_read_back_and_foreign_callbacks_are_not() -> None:
    content = {"cardPrivateData": {"actionIds": ["resolve"], "params": {"incident": "YQ-1", "token": "t"}}}
    assert parse_click(content) == Click("resolve", "YQ-1", "t")
    assert parse_click({"cardPrivateData": {"actionIds": ["vote"], "params": {"incident": "YQ-1"}}}) is None
    assert parse_click({"cardPrivateData": {"actionIds": ["ack"], "params": {}}}) is None
    assert parse_click({}) is None


def test_only_1_or_shoudao_acknowledges() -> None:
    assert reply_action(" 1 ") == reply_action("收到") == "ack"
    assert reply_action("12") is reply_action("收到了吗") is reply_action("") is None
