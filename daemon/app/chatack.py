"""Acknowledgements that arrive in a chat app: a card button (确认收到 / 已处置) or a private reply 1 / 收到.

The chat app (DingTalk or Feishu) vouches for who pressed or wrote (its user id); ``notify.yaml`` maps that
id to a person (``people.<key>.dingtalk``; ``people.<key>.feishu``, the open_id). An id nobody is mapped
to is logged and nothing is acknowledged: the audit trail must name a person of the directory. A card
also carries the signed token of its notice's ack link (``channels.dingtalk_card``,
``channels.feishu_card``), checked like the ack page's, so only incidents we sent a card about can be
acknowledged by a click. Each action is one ``incidents.acknowledge`` / ``incidents.resolve``
transaction with ``client="dingtalk"`` (or ``"feishu"``), which writes the audit row; the evaluation
thread sees it at its next timer, so ``unless: acknowledged`` steps stop, as for the ack page.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from channels.dingtalk_card import Click, reply_action
from channels.directory import Directory
from channels.feishu_card import FeishuClick
from channels.model import Person
from daemon import incidents
from daemon.app.ackpage import Signer, TokenError
from daemon.clock import Clock
from daemon.config import Config
from daemon.config.policy import NotifyConfig
from daemon.incidents import IncidentError
from daemon.notify import outbox
from daemon.notify.ackkey import load_secret
from daemon.store import Store

if TYPE_CHECKING:
    from daemon.app.dingtalk_stream import StreamListener
    from daemon.app.feishu_ws import FeishuListener

log = structlog.get_logger(__name__)

CLIENT = "dingtalk"
APPS: dict[str, str] = {"dingtalk": "钉钉", "feishu": "飞书"}  # the ``client`` of the audit → its name
# How far back a reply 收到 looks for the notice it answers.
REPLY_WINDOW = timedelta(days=3)
DONE_LABELS = {"acknowledged": "已确认", "resolved": "已处置", "closed": "已关闭", "merged": "已合并"}


class ChatAck:
    """Turns a chat user's click or reply into an acknowledgement by the person it maps to; ``client`` is
    the chat app (``dingtalk`` or ``feishu``), which also says which id of a person it vouches for."""

    def __init__(self, store: Store, signer: Signer, directory: Directory, clock: Clock,
                 client: str = CLIENT) -> None:
        self.store = store
        self.signer = signer
        self.clock = clock
        self.client = client
        self.app = APPS[client]
        ids = {p.key: p.feishu if client == "feishu" else p.dingtalk for p in directory.people.values()}
        self.people = {ids[p.key]: p for p in directory.people.values() if ids[p.key]}

    def click(self, user_id: str, click: Click | FeishuClick) -> tuple[str, str]:
        """Acts on a card button; returns the card's new status line and a note under it."""
        person = self._person(user_id, via="card", incident=click.incident_id)
        if person is None:
            return "待确认", f"您的{self.app}账号未登记在值班名录中，本次操作未记录。"
        now = self.clock.now()
        try:
            token = self.signer.verify(click.token, now)
        except TokenError as exc:
            log.warning("chatack.refused", reason=exc.reason, incident=click.incident_id, by=person.key)
            return "待确认", "卡片已失效，请使用最新通知。"
        if token.incident_id != click.incident_id:
            log.warning("chatack.refused", reason="forged", incident=click.incident_id, by=person.key)
            return "待确认", "卡片已失效，请使用最新通知。"
        note = f"{self.app}卡片"
        try:
            if click.action == "resolve":
                incidents.resolve(self.store, click.incident_id, person.key, now, note=note, client=self.client)
            else:
                incidents.acknowledge(self.store, click.incident_id, person.key, now, note=note,
                                      client=self.client)
        except IncidentError:  # already resolved or closed (or gone): say so on the card
            with contextlib.suppress(IncidentError):
                status = str(incidents.by_ids(self.store, [click.incident_id])[0].status)
                return DONE_LABELS.get(status, status), ""
            return "待确认", "未找到该事件。"
        log.info("incident.acknowledged" if click.action == "ack" else "incident.resolved",
                 incident=click.incident_id, by=person.key, via=f"{self.client}-card")
        label = "已处置" if click.action == "resolve" else "已确认"
        return f"{label}（{person.name}）", ""

    def reply(self, user_id: str, text: str) -> str | None:
        """Acts on a private chat reply; returns the answer to send back, or None to stay silent."""
        if reply_action(text) is None:
            return None
        person = self._person(user_id, via="reply", incident=None)
        if person is None:
            return None
        now = self.clock.now()
        told = outbox.incidents_told(self.store, person.key, now - REPLY_WINDOW)
        waiting = {i.id: i for i in incidents.by_ids(self.store, told) if not (i.status.done or i.acknowledged)}
        for incident_id in told:  # the most recently told first
            if incident_id not in waiting:
                continue
            incidents.acknowledge(self.store, incident_id, person.key, now, note=f"{self.app}回复", client=self.client)
            log.info("incident.acknowledged", incident=incident_id, by=person.key, via=f"{self.client}-reply")
            return f"已确认收到：{incident_id} {waiting[incident_id].title}"
        return "没有待您确认的舆情事件。"

    def _person(self, user_id: str, *, via: str, incident: str | None) -> Person | None:
        person = self.people.get(user_id)
        if person is None:
            log.warning("chatack.unknown_user", user=user_id, via=via, incident=incident)
        return person


def chat_stream(config: Config, notify: NotifyConfig, store: Store, clock: Clock) -> StreamListener | None:
    """The DingTalk Stream mode listener, started, when notify.yaml has ``dingtalk_stream:``; else None."""
    if notify.dingtalk_stream is None:
        return None
    from daemon.app.dingtalk_stream import StreamListener  # the SDK only where it is used

    chat = ChatAck(store, Signer(load_secret(config)), notify.directory, clock)
    listener = StreamListener(notify.dingtalk_stream, chat)
    listener.start()
    log.info("dingtalk.stream_started", people=len(chat.people))
    return listener


def feishu_stream(config: Config, notify: NotifyConfig, store: Store, clock: Clock) -> FeishuListener | None:
    """The Feishu long connection listener, started, when notify.yaml has ``feishu_ws:``; else None."""
    if notify.feishu_ws is None:
        return None
    from daemon.app.feishu_ws import FeishuListener  # the SDK (2 s, ~140 MB to import) only where it is used

    chat = ChatAck(store, Signer(load_secret(config)), notify.directory, clock, client="feishu")
    listener = FeishuListener(notify.feishu_ws, chat, clock)
    listener.start()
    log.info("feishu.stream_started", people=len(chat.people))
    return listener
