"""DingTalk Stream mode: card clicks and robot chat messages over one outbound connection (no public IP).

The ``dingtalk-stream`` SDK speaks the protocol: ``POST {endpoint}/v1.0/gateway/connections/open`` with
the app's credentials and the topics wanted returns a WebSocket ``endpoint`` and a ``ticket``; over that
socket DingTalk pushes frames (``CALLBACK`` for card clicks and robot messages, ``SYSTEM`` for ping and
disconnect) and each is answered with an ACK frame. The SDK's frame types, routing and handlers are
used as they are. Two pieces of its 0.24 client are not, for reasons of running under systemd:

- ``open_connection``: the SDK's has no timeout (a dead proxy would hang the thread for ever) and takes
  its endpoint from an environment variable read at import; ours has both from notify.yaml.
- ``start``: the SDK's loop cannot be stopped (it swallows cancellation) and waits a fixed 10 s after a
  dropped socket; ours stops on ``stop()`` and reconnects with a capped exponential back-off.

The handlers run ``ChatAck`` (SQLite transactions) in a worker thread, so the socket keeps being read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import quote_plus

import requests
import structlog
import websockets
from dingtalk_stream import AckMessage, CallbackHandler, ChatbotHandler, ChatbotMessage, Credential
from dingtalk_stream import DingTalkStreamClient as SdkClient
from dingtalk_stream.card_callback import Card_Callback_Router_Topic, CardCallbackMessage
from dingtalk_stream.frames import CallbackMessage
from dingtalk_stream.version import VERSION_STRING

from channels.dingtalk_card import card_update, parse_click
from daemon.app.chatack import ChatAck
from daemon.app.reconnect import ConnectionThread
from daemon.config.policy import DingTalkStream

log = structlog.get_logger(__name__)

OPEN_PATH = "/v1.0/gateway/connections/open"
HTTP_TIMEOUT = 10.0


class _Client(SdkClient):  # type: ignore[misc]  # the SDK ships no type hints
    def __init__(self, settings: DingTalkStream) -> None:
        super().__init__(Credential(settings.client_id, settings.client_secret),
                         logger=logging.getLogger("dingtalk_stream.client"))
        self.endpoint = settings.endpoint

    def open_connection(self) -> dict[str, str] | None:
        body = {
            "clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": t} for t in self.callback_handler_map],
            "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union", "localIp": "",
        }
        try:
            response = requests.post(self.endpoint + OPEN_PATH, json=body, timeout=HTTP_TIMEOUT,
                                     headers={"Accept": "application/json"})
            response.raise_for_status()
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("dingtalk.open_failed", error=type(exc).__name__, detail=str(exc)[:200])
            return None
        if not isinstance(answer, dict) or not answer.get("endpoint") or not answer.get("ticket"):
            log.warning("dingtalk.open_failed", error="no endpoint or ticket in the answer")
            return None
        return {"endpoint": str(answer["endpoint"]), "ticket": str(answer["ticket"])}


class _CardHandler(CallbackHandler):  # type: ignore[misc]
    def __init__(self, chat: ChatAck) -> None:
        super().__init__()
        self.chat = chat

    async def process(self, message: CallbackMessage) -> tuple[int, dict[str, Any]]:
        card = CardCallbackMessage.from_dict(message.data)
        click = parse_click(card.content)
        if click is None:
            log.info("dingtalk.card_ignored", user=card.user_id)
            return AckMessage.STATUS_OK, {}
        status, note = await asyncio.to_thread(self.chat.click, card.user_id, click)
        return AckMessage.STATUS_OK, card_update(status, note)


class _ReplyHandler(ChatbotHandler):  # type: ignore[misc]
    def __init__(self, chat: ChatAck) -> None:
        super().__init__()
        self.chat = chat

    async def process(self, message: CallbackMessage) -> tuple[int, str]:
        incoming = ChatbotMessage.from_dict(message.data)
        # Only a private chat: in a group, "收到" says nothing about which notice, nor for whom.
        if incoming.conversation_type == "1" and incoming.text is not None:
            answer = await asyncio.to_thread(self.chat.reply, incoming.sender_staff_id or "",
                                             incoming.text.content or "")
            if answer and incoming.session_webhook:
                await asyncio.to_thread(self.reply_text, answer, incoming)
        return AckMessage.STATUS_OK, "OK"


class StreamListener(ConnectionThread[dict[str, str]]):
    """A thread holding the Stream mode connection open until ``stop()``."""

    name = "dingtalk-stream"

    def __init__(self, settings: DingTalkStream, chat: ChatAck, *, backoff: float = 1.0,
                 max_backoff: float = 60.0) -> None:
        super().__init__(backoff=backoff, max_backoff=max_backoff)
        self.client = _Client(settings)
        self.client.register_callback_handler(Card_Callback_Router_Topic, _CardHandler(chat))
        self.client.register_callback_handler(ChatbotMessage.TOPIC, _ReplyHandler(chat))

    def prepare(self) -> None:
        self.client.pre_start()

    def open_connection(self) -> dict[str, str] | None:
        return self.client.open_connection()

    async def session(self, connection: dict[str, str]) -> None:
        assert self._stop is not None
        uri = f'{connection["endpoint"]}?ticket={quote_plus(connection["ticket"])}'
        async with websockets.connect(uri, open_timeout=HTTP_TIMEOUT) as socket:
            self.client.websocket = socket
            self.connections += 1
            log.info("dingtalk.connected", connections=self.connections)
            reader = asyncio.create_task(self._read(socket))
            stopper = asyncio.create_task(self._stop.wait())
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader  # re-raises what ended the reading, for the caller to log

    async def _read(self, socket: Any) -> None:
        tasks: set[asyncio.Task[None]] = set()
        async for raw in socket:
            try:
                frame = json.loads(raw)
            except ValueError:
                log.warning("dingtalk.bad_frame", size=len(raw))
                continue
            # The SDK routes the frame to its handler and sends the ACK (or closes on ``disconnect``).
            task = asyncio.create_task(self.client.background_task(frame))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
