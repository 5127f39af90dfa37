"""A local stand-in for DingTalk on 127.0.0.1: Stream mode's HTTP open-connection call
(``POST /v1.0/gateway/connections/open`` → endpoint + ticket), the WebSocket it names, a robot session
webhook that records replies, and the open API the card channel calls: access tokens
(``/v1.0/oauth2/accessToken``), ``/v1.0/card/instances/createAndDeliver`` and the robot's
``/v1.0/robot/oToMessages/batchSend``. Frames are the protocol's JSON (type, headers, data as a string)."""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

CARD_TOPIC = "/v1.0/card/instances/callback"
BOT_TOPIC = "/v1.0/im/bot/messages/get"


class StreamGateway:
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
        self._socket: ServerConnection | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()  # quick shutdown
        self.endpoint = f"http://127.0.0.1:{self.http.server_address[1]}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        async with serve(self._accept, "127.0.0.1", 0) as server:
            self.ws_port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stopped.wait()

    async def _accept(self, socket: ServerConnection) -> None:
        self._socket = socket
        assert socket.request is not None
        self.connected.put(socket.request.path)
        async for raw in socket:
            self.acks.put(json.loads(raw))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, answer, headers = 200, {"errcode": 0}, {}
                if self.path == "/v1.0/gateway/connections/open":
                    gateway.opens.append(body)
                    answer = {"endpoint": f"ws://127.0.0.1:{gateway.ws_port}/connect",
                              "ticket": f"ticket-{len(gateway.opens)}"}
                elif self.path.startswith("/v1.0/"):
                    status, answer, headers = gateway.api(self.path, self.headers, body)
                else:
                    gateway.replies.append(body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        return Handler

    def api(self, path: str, headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The open API's answer to one call, as DingTalk gives it (errors: ``code`` and ``message``)."""
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
        self._call(self._send(frame))
        while True:
            ack = self.acks.get(timeout=5)
            if ack["headers"].get("messageId") == message_id:
                return ack

    def drop(self) -> None:
        """Closes the current socket from the server's side, as the gateway does when it restarts."""
        self._call(self._close())

    async def _send(self, frame: dict[str, Any]) -> None:
        assert self._socket is not None
        await self._socket.send(json.dumps(frame))

    async def _close(self) -> None:
        assert self._socket is not None
        await self._socket.close()

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(5)

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
