"""A local stand-in for Feishu on 127.0.0.1: the long connection's endpoint call
(``POST /callback/ws/endpoint`` → a ws URL with ``device_id`` and ``service_id``, and a client config), the
WebSocket it names speaking protobuf ``pbbp2.Frame``s (the classes the lark-oapi SDK ships), and the open
API the card channel calls: ``/open-apis/auth/v3/tenant_access_token/internal``,
``/open-apis/im/v1/messages`` and ``/open-apis/im/v1/messages/{id}/reply``. Errors are as Feishu gives
them: ``code`` and ``msg`` in the JSON body."""

from __future__ import annotations

import base64
import json
import queue
import secrets
from typing import Any

from lark_oapi.ws.pb.pbbp2_pb2 import Frame
from websockets.asyncio.server import ServerConnection

from tests.daemon.app.local_gateway import Answer, LocalGateway

APP = ("cli_test", "app-secret")
SERVICE_ID = 7


class FeishuServer(LocalGateway):
    def __init__(self) -> None:
        self.endpoint_calls: list[dict[str, Any]] = []
        self.connected: queue.Queue[str] = queue.Queue()  # request paths, one per WebSocket accepted
        self.answers: queue.Queue[Frame] = queue.Queue()  # DATA frames the client sent back
        self.pings: queue.Queue[Frame] = queue.Queue()
        self.token_calls: list[dict[str, Any]] = []
        self.messages: list[tuple[str, str, dict[str, Any]]] = []  # (token sent, path, body)
        self.revoked: set[str] = set()  # tokens answered with 99991663 from now on
        self.scripted: queue.Queue[tuple[int, dict[str, Any], dict[str, str]]] = queue.Queue()
        self._prefix = secrets.token_hex(4)
        super().__init__()
        self.domain = self.base

    def accepted(self, path: str) -> None:
        self.connected.put(path)

    def received(self, socket: ServerConnection, raw: str | bytes) -> None:
        frame = Frame()
        frame.ParseFromString(raw)
        (self.pings if frame.method == 0 else self.answers).put(frame)

    def api(self, path: str, headers: Any, body: dict[str, Any]) -> Answer:
        if path == "/callback/ws/endpoint":
            self.endpoint_calls.append(body)
            if (body.get("AppID"), body.get("AppSecret")) != APP:
                return 200, {"code": 1000040343, "msg": "app secret invalid"}, {}
            url = (f"ws://127.0.0.1:{self.ws_port}/ws?device_id=dev-{len(self.endpoint_calls)}"
                   f"&service_id={SERVICE_ID}")
            config = {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1}
            return 200, {"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": config}}, {}
        if path == "/open-apis/auth/v3/tenant_access_token/internal":
            self.token_calls.append(body)
            if (body.get("app_id"), body.get("app_secret")) != APP:
                return 400, {"code": 10014, "msg": "app secret invalid"}, {}
            token = f"t-{self._prefix}-{len(self.token_calls)}"
            return 200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}, {}
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        self.messages.append((token, path, body))
        if not self.scripted.empty():
            return self.scripted.get()
        if not token.startswith(f"t-{self._prefix}-") or token in self.revoked:
            return 400, {"code": 99991663, "msg": "Invalid access token for authorization."}, {}
        if path.startswith("/open-apis/im/v1/messages"):
            return 200, {"code": 0, "msg": "success", "data": {"message_id": f"om_{len(self.messages)}"}}, {}
        return 404, {"code": 404, "msg": "not found"}, {}

    def push(self, event: dict[str, Any], message_id: str) -> dict[str, Any]:
        """Sends an event in a DATA frame and returns the client's answer: ``code`` and the decoded ``data``."""
        frame = Frame(SeqID=1, LogID=1, service=SERVICE_ID, method=1,
                      payload=json.dumps(event, ensure_ascii=False).encode())
        for key, value in (("type", "event"), ("message_id", message_id), ("trace_id", "tr-1"),
                           ("sum", "1"), ("seq", "0")):
            header = frame.headers.add()
            header.key, header.value = key, value
        self.send(frame.SerializeToString())
        while True:
            answer = self.answers.get(timeout=5)
            if {h.key: h.value for h in answer.headers}.get("message_id") == message_id:
                payload = json.loads(answer.payload)
                data = payload.get("data")
                return {"code": payload["code"], "data": json.loads(base64.b64decode(data)) if data else None}


def _event(event_type: str, event: dict[str, Any]) -> dict[str, Any]:
    header = {"event_id": secrets.token_hex(8), "token": "", "create_time": "1700000000000",
              "event_type": event_type, "tenant_key": "tenant", "app_id": APP[0]}
    return {"schema": "2.0", "header": header, "event": event}


def card_click(open_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return _event("card.action.trigger", {
        "operator": {"open_id": open_id, "tenant_key": "tenant"}, "token": "c-1",
        "action": {"value": value, "tag": "button"}, "host": "im_message",
        "context": {"open_message_id": "om_card", "open_chat_id": "oc_1"}})


def bot_text(open_id: str, text: str, chat_type: str = "p2p", message_id: str = "om_in") -> dict[str, Any]:
    return _event("im.message.receive_v1", {
        "sender": {"sender_id": {"open_id": open_id}, "sender_type": "user", "tenant_key": "tenant"},
        "message": {"message_id": message_id, "chat_id": "oc_2", "chat_type": chat_type,
                    "message_type": "text", "content": json.dumps({"text": text}, ensure_ascii=False),
                    "create_time": "1700000000000"}})
