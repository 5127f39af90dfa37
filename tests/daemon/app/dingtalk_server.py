"""A local stand-in for DingTalk on 127.0.0.1: Stream mode's HTTP open-connection call
(``POST /v1.0/gateway/connections/open`` → endpoint + ticket), the WebSocket it names, a robot session
webhook that records replies, and the open API the card channel calls: access tokens
(``/v1.0/oauth2/accessToken``), ``/v1.0/card/instances/createAndDeliver`` and the robot's
``/v1.0/robot/oToMessages/batchSend``. Frames are the protocol's JSON (type, headers, data as a string)."""

from __future__ import annotations

import json
import queue
import secrets
from typing import Any

from websockets.asyncio.server import ServerConnection

from tests.daemon.app.local_gateway import Answer, LocalGateway

CARD_TOPIC = "/v1.0/card/instances/callback"
BOT_TOPIC = "/v1.0/im/bot/messages/get"


class StreamGateway(LocalGateway):
    def __init__(self) -> None:
        self.opens: list[dict[str, Any]] = []  # bodies of the open-connection calls
        self.replies: list[dict[str, Any]] = []  # what was posted to the session webhook
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected: queue.Queue[str] = queue.Queue()  # tickets, one per WebSocket accepted
        self.token_calls: list[dict[str, Any]] = []  # bodies of the access token calls
        self.cards: list[tuple[str, dict[str, Any]]] = []  # (access token sent, body) of createAndDeliver
        self.texts: list[tuple[str, dict[str, Any]]] = []  # (access token sent, body) of batchSend
        self.templates = {"tpl.yq"}  # card template ids that exist
        self.revoked: set[str] = set()  # tokens answered with 401 from now on
        # Answers to give the next API calls instead of the usual one: (status, body, headers).
        self.scripted: queue.Queue[tuple[int, dict[str, Any], dict[str, str]]] = queue.Queue()
        self._prefix = secrets.token_hex(4)  # a token of another server instance is not valid here
        super().__init__()
        self.endpoint = self.base

    def accepted(self, path: str) -> None:
        self.connected.put(path)

    def received(self, socket: ServerConnection, raw: str | bytes) -> None:
        self.acks.put(json.loads(raw))

    def api(self, path: str, headers: Any, body: dict[str, Any]) -> Answer:
        """The open API's answer to one call, as DingTalk gives it (errors: ``code`` and ``message``);
        the Stream mode's open-connection call; anything else is a robot session webhook."""
        if path == "/v1.0/gateway/connections/open":
            self.opens.append(body)
            return 200, {"endpoint": f"ws://127.0.0.1:{self.ws_port}/connect",
                         "ticket": f"ticket-{len(self.opens)}"}, {}
        if not path.startswith("/v1.0/"):
            self.replies.append(body)
            return 200, {"errcode": 0}, {}
        if path == "/v1.0/oauth2/accessToken":
            self.token_calls.append(body)
            if (body.get("appKey"), body.get("appSecret")) != ("app-key", "app-secret"):
                return 400, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或clientSecret"}, {}
            return 200, {"accessToken": f"tok-{self._prefix}-{len(self.token_calls)}", "expireIn": 7200}, {}
        token = headers.get("x-acs-dingtalk-access-token", "")
        (self.cards if path.endswith("createAndDeliver") else self.texts).append((token, body))
        if not self.scripted.empty():
            return self.scripted.get()
        if not token.startswith(f"tok-{self._prefix}-") or token in self.revoked:
            return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}, {}
        if path.endswith("createAndDeliver"):
            if body.get("cardTemplateId") not in self.templates:
                return 400, {"code": "param.invalid", "message": "cardTemplateId 不存在"}, {}
            space = body["openSpaceId"].removeprefix("dtv1.card//")
            return 200, {"success": True, "result": {"outTrackId": body["outTrackId"], "deliverResults": [
                {"spaceType": "IM_ROBOT", "spaceId": space, "success": True, "errorMsg": ""}]}}, {}
        return 200, {"processQueryKey": "q-1"}, {}

    def push(self, topic: str, data: dict[str, Any], message_id: str) -> dict[str, Any]:
        """Sends a CALLBACK frame and returns the client's ACK for it."""
        frame = {"specVersion": "1.0", "type": "CALLBACK", "data": json.dumps(data),
                 "headers": {"appId": "app", "connectionId": "c1", "contentType": "application/json",
                             "messageId": message_id, "time": "1700000000000", "topic": topic}}
        self.send(json.dumps(frame))
        while True:
            ack = self.acks.get(timeout=5)
            if ack["headers"].get("messageId") == message_id:
                return ack

    def session_webhook(self) -> str:
        return f"{self.endpoint}/robot/session"


def card_click(user_id: str, action: str, incident: str, token: str) -> dict[str, Any]:
    content = {"cardPrivateData": {"actionIds": [action], "params": {"incident": incident, "token": token}}}
    return {"type": "actionCallback", "userId": user_id, "corpId": "ding-corp", "outTrackId": "card-1",
            "content": json.dumps(content), "extension": "{}"}


def bot_text(user_id: str, text: str, webhook: str, conversation_type: str = "1") -> dict[str, Any]:
    return {"conversationId": "cid-1", "conversationType": conversation_type, "senderStaffId": user_id,
            "senderId": f"$:{user_id}", "senderNick": "n", "msgId": "msg-1", "msgtype": "text",
            "text": {"content": text}, "sessionWebhook": webhook, "robotCode": "app",
            "createAt": 1700000000000, "sessionWebhookExpiredTime": 1700000600000}
