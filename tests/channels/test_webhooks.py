"""Group webhooks through apprise against a local server: DingTalk (markdown, signed with its ``secret``),
WeCom bot and Feishu. The plugins' hard-coded endpoints are pointed at 127.0.0.1 by patching their
``notify_url`` class attribute (FIELD-GUIDE §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from apprise.plugins.dingtalk import NotifyDingTalk
from apprise.plugins.feishu import NotifyFeishu
from apprise.plugins.wecombot import NotifyWeComBot

from channels.model import Alert, ChannelSpec, Notification, Outcome, Parts, Person
from channels.templates import render
from tests.channels.sending import deliver

if TYPE_CHECKING:
    from tests.channels.conftest import WebServer

TOKEN = "0123456789abcdef" * 4
SECRET = "SEC" + "a1b2c3d4" * 8
ALERT = Alert("INC-1", "red", "红色", "城东拆迁户聚集", category="征地拆迁", source="weibo",
              excerpt="联系人13800000001反映补偿款未到位")


def chat_note() -> Notification:
    title, body = render(ALERT, "chat")
    return Notification("n-1", "duty-group", (), title, body, alert=ALERT, parts=Parts(markdown=True))


def test_dingtalk_markdown_signed(webhook: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NotifyDingTalk, "notify_url", f"http://{webhook.base}/robot/send?access_token={{token}}")
    assert deliver(ChannelSpec("duty-group", f"dingtalk://{SECRET}@{TOKEN}/"), chat_note()).ok

    [request] = webhook.requests
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
    assert query["access_token"] == TOKEN
    # DingTalk's check: sign = base64(HMAC-SHA256(secret, f"{timestamp}\n{secret}")), timestamp in ms, ≤ 1 h old
    stamp = query["timestamp"]
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert query["sign"] == expected.decode()
    assert abs(time.time() * 1000 - int(stamp)) < 3_600_000
    payload = request.json()
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"] == "【红色预警】城东拆迁户聚集"
    assert "- **类别**：征地拆迁" in payload["markdown"]["text"]
    assert "138****0001" in payload["markdown"]["text"]


def test_dingtalk_unsigned_text(webhook: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NotifyDingTalk, "notify_url", f"http://{webhook.base}/robot/send?access_token={{token}}")
    n = Notification("n", "g", (), "【测试】通道", "测试通知")
    assert deliver(ChannelSpec("g", f"dingtalk://{TOKEN}/"), n).ok
    [request] = webhook.requests
    assert "sign=" not in request.path
    assert request.json()["text"]["content"] == "【测试】通道\r\n测试通知"


def test_dingtalk_with_address_phone_mentions_the_people_on_duty(webhook: WebServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # `address: phone` on a robot channel: DingTalk @-mentions each recipient by the mobile number
    # registered in the group, so the people on duty get a personal notice in the group chat.
    monkeypatch.setattr(NotifyDingTalk, "notify_url", f"http://{webhook.base}/robot/send?access_token={{token}}")
    people = (Person("liu", "刘洋", phone="13800000011"), Person("zhao", "赵敏", phone="+8613900000022"),
              Person("sun", "孙磊", email="sun@example.gov.cn"))
    note = Notification("n-2", "duty-group", people, "【红色预警】城东拆迁户聚集", "请值班人员处置")
    result = deliver(ChannelSpec("duty-group", f"dingtalk://{TOKEN}/", address="phone"), note)
    assert result.ok
    assert "孙磊" in result.detail  # no phone: named as skipped, never silently dropped
    [request] = webhook.requests
    mention = request.json()["at"]
    assert (sorted(mention["atMobiles"]), mention["isAtAll"]) == (["13800000011", "8613900000022"], False)


def test_dingtalk_with_address_phone_and_nobody_to_mention_still_tells_the_group(
        webhook: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NotifyDingTalk, "notify_url", f"http://{webhook.base}/robot/send?access_token={{token}}")
    note = Notification("n-3", "duty-group", (Person("sun", "孙磊", email="sun@example.gov.cn"),), "【红色预警】x", "y")
    assert deliver(ChannelSpec("duty-group", f"dingtalk://{TOKEN}/", address="phone"), note).ok
    [request] = webhook.requests
    assert request.json()["at"]["atMobiles"] == []


def test_wecom_bot(webhook: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NotifyWeComBot, "notify_url", f"http://{webhook.base}/cgi-bin/webhook/send?key={{key}}")
    assert deliver(ChannelSpec("wecom", f"wecombot://{TOKEN}"), chat_note()).ok
    [request] = webhook.requests
    assert request.path == f"/cgi-bin/webhook/send?key={TOKEN}"
    content = request.json()["text"]["content"]
    assert "城东拆迁户聚集" in content
    assert "征地拆迁" in content


def test_feishu(webhook: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NotifyFeishu, "notify_url", f"http://{webhook.base}/open-apis/bot/v2/hook/{{token}}/")
    assert deliver(ChannelSpec("feishu", f"feishu://{TOKEN}"), chat_note()).ok
    [request] = webhook.requests
    assert request.path == f"/open-apis/bot/v2/hook/{TOKEN}/"
    shown = feishu_text(request.json())
    assert "城东拆迁户聚集" in shown
    assert "征地拆迁" in shown


def feishu_text(payload: dict[str, Any]) -> str:
    """What a Feishu group shows, from either message shape apprise may post.

    Our notices are Markdown; apprise from 2.3 posts Markdown as an ``interactive`` card (title in the
    header, body in a ``lark_md`` element), 2.2 posted it as plain ``text``. The lock pins one version,
    but what users rely on is the text in the group, so both shapes are accepted and read out.
    """
    if payload["msg_type"] == "interactive":
        card = payload["card"]
        parts = [card["header"]["title"]["content"]]
        parts += [element["text"]["content"] for element in card["elements"] if "text" in element]
        return "\n".join(parts)
    assert payload["msg_type"] == "text"
    return str(payload["content"]["text"])


@pytest.mark.parametrize("status", [500, 502])
def test_webhook_server_error_is_retry(webhook: WebServer, monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    monkeypatch.setattr(NotifyWeComBot, "notify_url", f"http://{webhook.base}/cgi-bin/webhook/send?key={{key}}")
    webhook.status = status
    result = deliver(ChannelSpec("wecom", f"wecombot://{TOKEN}"), chat_note())
    assert result.outcome is Outcome.RETRY
    assert TOKEN not in result.detail
