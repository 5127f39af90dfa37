"""Feishu's long connection (长连接): card clicks and private messages over one outbound connection (no
public IP).

The ``lark-oapi`` SDK speaks the protocol: ``POST {domain}/callback/ws/endpoint`` with ``{"AppID",
"AppSecret"}`` answers a ``wss`` URL (carrying ``device_id`` and ``service_id``) and a client config
(ping interval, reconnect policy); over that socket Feishu pushes protobuf ``pbbp2.Frame``s — DATA frames
with an event's JSON (``card.action.trigger``, ``im.message.receive_v1``), CONTROL frames for ping and
pong — and each DATA frame is answered with the same frame carrying ``{"code": 200, "data": base64(answer)}``.
The SDK's frame handling (``_handle_message``: parsing, reassembling split payloads, dispatching to the
``EventDispatcherHandler``, writing the answer) and its event types are used as they are. Two pieces of
its 1.7 client are not, for reasons of running under systemd:

- ``_get_conn_url``: the SDK's POST has no timeout (a dead proxy would hang the thread for ever); ours has;
- ``start``: the SDK's runs a module-global event loop for ever (no way to stop it) and waits up to 30 s
  (``ReconnectNonce``) before reconnecting; ours runs its own loop on its own thread, stops on
  ``stop()`` and reconnects with a capped exponential back-off.

The handlers run ``ChatAck`` (a short SQLite transaction) on the connection's loop, as the SDK calls them;
the confirmation of a private reply is an HTTP call and goes to a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
import structlog
import websockets
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)
from lark_oapi.event.dispatcher_handler import EventDispatcherHandler
from lark_oapi.ws.client import Client as SdkClient
from lark_oapi.ws.client import _new_ping_frame, _ws_connect_kwargs
from lark_oapi.ws.const import DEVICE_ID, GEN_ENDPOINT_URI, SERVICE_ID
from lark_oapi.ws.model import ClientConfig

from channels.dingtalk_card import reply_action
from channels.feishu_card import card_answer, parse_click, reply_text
from channels.feishu_openapi import CHANNEL as FEISHU
from channels.model import FeishuCard
from daemon.app.chatack import ChatAck
from daemon.app.reconnect import ConnectionThread
from daemon.clock import Clock
from daemon.config.policy import FeishuWs

log = structlog.get_logger(__name__)

HTTP_TIMEOUT = 10.0


class _Client(SdkClient):  # type: ignore[misc]  # the SDK ships no type hints
    def __init__(self, settings: FeishuWs, handler: EventDispatcherHandler) -> None:
        super().__init__(settings.app_id, settings.app_secret, event_handler=handler, domain=settings.domain,
                         auto_reconnect=False)

    def endpoint(self) -> str | None:
        """The socket URL from the endpoint call, with a timeout; None (logged) when there is none."""
        try:
            response = requests.post(self._domain + GEN_ENDPOINT_URI, timeout=HTTP_TIMEOUT,
                                     json={"AppID": self._app_id, "AppSecret": self._app_secret},
                                     headers={"locale": "zh"})
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("feishu.endpoint_failed", error=type(exc).__name__, detail=str(exc)[:200])
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        if response.status_code != 200 or answer.get("code") != 0 or not isinstance(data, dict) \
                or not data.get("URL"):
            log.warning("feishu.endpoint_failed", status=response.status_code, code=answer.get("code"),
                        detail=str(answer.get("msg", ""))[:200])
            return None
        if isinstance(data.get("ClientConfig"), dict):
            self._configure(ClientConfig(data["ClientConfig"]))
        return str(data["URL"])


class FeishuListener(ConnectionThread[str]):
    """A thread holding the long connection open until ``stop()``."""

    name = "feishu-ws"

    def __init__(self, settings: FeishuWs, chat: ChatAck, clock: Clock, *, backoff: float = 1.0,
                 max_backoff: float = 60.0) -> None:
        super().__init__(backoff=backoff, max_backoff=max_backoff)
        self.chat, self.clock = chat, clock
        self.gateway = FeishuCard(settings.app_id, settings.app_secret, settings.domain)
        handler = (EventDispatcherHandler.builder("", "")
                   .register_p2_card_action_trigger(self._click)
                   .register_p2_im_message_receive_v1(self._message)
                   .build())
        self.client = _Client(settings, handler)

    # -- the events

    def _click(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        event = data.event
        open_id = (event.operator.open_id if event and event.operator else None) or ""
        click = parse_click(event.action.value if event and event.action else None)
        if click is None:
            log.info("feishu.card_ignored", user=open_id)
            return P2CardActionTriggerResponse({})
        status, note = self.chat.click(open_id, click)
        return P2CardActionTriggerResponse(card_answer(click, status, note))

    def _message(self, data: Any) -> None:
        event = data.event
        message, sender = event.message, event.sender
        # Only a private chat: in a group, "收到" says nothing about which notice, nor for whom.
        if message is None or message.chat_type != "p2p" or message.message_type != "text":
            return
        text = reply_text(message.content or "")
        if reply_action(text) is None:
            return
        open_id = (sender.sender_id.open_id if sender and sender.sender_id else None) or ""
        answer = self.chat.reply(open_id, text)
        if answer and message.message_id and self._loop is not None:
            self._loop.run_in_executor(None, self._confirm, str(message.message_id), answer)

    def _confirm(self, message_id: str, answer: str) -> None:
        result = FEISHU.reply(self.gateway, message_id, answer, self.clock.now, HTTP_TIMEOUT)
        if not result.ok:
            log.warning("feishu.reply_failed", outcome=result.outcome.value, detail=result.detail)

    # -- the connection

    def open_connection(self) -> str | None:
        return self.client.endpoint()

    async def session(self, url: str) -> None:
        assert self._stop is not None
        query = parse_qs(urlparse(url).query)
        async with websockets.connect(url, open_timeout=HTTP_TIMEOUT, **_ws_connect_kwargs()) as socket:
            client = self.client
            client._conn, client._conn_url = socket, url
            client._conn_id = query.get(DEVICE_ID, [""])[0]
            client._service_id = query.get(SERVICE_ID, ["0"])[0]
            self.connections += 1
            log.info("feishu.connected", connections=self.connections)
            tasks = {asyncio.create_task(self._read(socket)), asyncio.create_task(self._ping()),
                     asyncio.create_task(self._stop.wait())}
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                client._conn = None
                for task in tasks:
                    task.cancel()
            for task in done:  # re-raises what ended the reading, for the caller to log
                with contextlib.suppress(asyncio.CancelledError):
                    task.result()

    async def _read(self, socket: Any) -> None:
        handling: set[asyncio.Task[None]] = set()
        async for raw in socket:
            if isinstance(raw, str):
                log.warning("feishu.bad_frame", size=len(raw))
                continue
            # The SDK parses the frame, calls the handler and writes the answer.
            task = asyncio.create_task(self.client._handle_message(raw))
            handling.add(task)
            task.add_done_callback(handling.discard)

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(max(1, int(self.client._ping_interval or 120)))
            frame = _new_ping_frame(int(self.client._service_id or 0))
            await self.client._write_message(frame.SerializeToString())
