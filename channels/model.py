"""Typed values of the delivery layer. Imports only ``channels.urls`` (which imports nothing from the
project), so every channel module can use these types without an import cycle."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal

from channels.urls import mask_url

Address = Literal["email", "phone", "dingtalk", "feishu", "none"]


@dataclass(frozen=True)
class HttpSms:
    """The county's own SMS gateway: one HTTP request per recipient, URL and body are Jinja templates
    over ``phone``, ``text``, ``title``, ``body`` and ``name``. 2xx is OK, 4xx PERMANENT, 5xx RETRY."""

    KIND: ClassVar[str] = "http-sms"  # notify.yaml's ``kind:``, and the channel registry's key
    url: str
    method: str = "POST"
    body: str = ""  # empty: no body (a GET gateway with everything in the URL)
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


@dataclass(frozen=True)
class AliyunSms:
    """Aliyun 短信服务 ``SendSms`` (RPC style, HMAC-SHA1 signature). ``params`` are the template's
    variables, each a Jinja template over the same names as ``HttpSms``."""

    KIND: ClassVar[str] = "aliyun-sms"
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    params: Mapping[str, str] = field(default_factory=lambda: {"content": "{{ text }}"})
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    region: str = "cn-hangzhou"


@dataclass(frozen=True)
class TencentSms:
    """Tencent Cloud SMS ``SendSms`` 2021-01-11 (TC3-HMAC-SHA256). ``params`` fill the template's
    ``{1}``, ``{2}`` … in order."""

    KIND: ClassVar[str] = "tencent-sms"
    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    template_id: str
    params: tuple[str, ...] = ("{{ text }}",)
    endpoint: str = "https://sms.tencentcloudapi.com/"
    region: str = "ap-guangzhou"


@dataclass(frozen=True)
class DingTalkCard:
    """DingTalk interactive cards (``channels.dingtalk_openapi``): the internal app's credentials (those of
    ``dingtalk_stream``, whose connection brings the clicks back), the card template, the robot that
    delivers the card into each person's private chat (the app's own robot: its code is the client id)."""

    KIND: ClassVar[str] = "dingtalk-card"
    client_id: str
    client_secret: str
    template_id: str
    robot_code: str = ""  # empty: the client id
    endpoint: str = "https://api.dingtalk.com"

    @property
    def robot(self) -> str:
        return self.robot_code or self.client_id


@dataclass(frozen=True)
class FeishuCard:
    """Feishu message cards (``channels.feishu_openapi``): the self-built app's credentials (those of
    ``feishu_ws``, whose long connection brings the clicks back); messages go to each person's open_id."""

    KIND: ClassVar[str] = "feishu-card"
    app_id: str
    app_secret: str
    domain: str = "https://open.feishu.cn"


Gateway = HttpSms | AliyunSms | TencentSms | DingTalkCard | FeishuCard


@dataclass(frozen=True)
class Person:
    key: str  # the id used in notify.yaml (``zhang``)
    name: str  # 张三
    role: str = ""
    phone: str | None = None
    email: str | None = None
    dingtalk: str | None = None  # their DingTalk userId (staffId): a card click or chat reply acks as them
    feishu: str | None = None  # their Feishu open_id (of the county's app): likewise

    def address(self, kind: Address) -> str | None:
        if kind == "email":
            return self.email
        if kind == "phone":
            return self.phone
        if kind == "dingtalk":
            return self.dingtalk
        if kind == "feishu":
            return self.feishu
        return None


@dataclass(frozen=True)
class ChannelSpec:
    """A named channel of notify.yaml: an apprise URL and how a person is addressed on it.

    ``address="none"`` is a group channel (a webhook, a DingTalk robot, the console): one delivery
    reaches everybody, so recipients are only named in the text.
    """

    name: str
    url: str  # may hold secrets: never log it, log ``masked_url`` instead
    address: Address = "none"
    # Set for channels that are not apprise URLs (``kind: http-sms``, ``aliyun-sms``, ``tencent-sms``);
    # ``url`` is then the endpoint, kept for logs.
    gateway: Gateway | None = None
    # The channel a person is tried on next when this one keeps failing (``fallback: sms``), and after
    # how many failed attempts the outbox gives up on this one for that notification.
    fallback: str | None = None
    fallback_after: int = 3

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


@dataclass(frozen=True)
class Alert:
    """What a notification is about, in the words a template needs. Times are Asia/Shanghai."""

    incident_id: str
    level: str  # red / yellow / blue
    level_label: str  # 红色
    title: str
    # ``resolved``: the 已处置 notice to everyone who was told (daemon/notify/closure.py).
    kind: Literal["new", "escalation", "repeat", "raised", "resurgence", "digest", "test", "resolved"] = "new"
    category: str = ""
    source: str = ""
    url: str | None = None
    first_seen: datetime | None = None
    excerpt: str = ""
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    deadline: datetime | None = None
    step: int = 0
    missed: int = 0  # repeats that fell due while the daemon was down or the clock jumped: sent as this one
    items: tuple[Alert, ...] = ()  # the incidents gathered in a digest
    spread: tuple[str, ...] = ()  # facts of the spread as people read them: 转发 1200、3 个平台
    ack_url: str | None = None  # the signed acknowledgement page, when the daemon serves one
    # The person key when this rendering reaches one person alone (``channels.delivery.addressed``): their
    # acknowledgement link then acks as them. Empty for a group or several people.
    recipient: str = ""


@dataclass(frozen=True)
class Parts:
    """What a notification carries beside its title and body, for the channels that use it.

    ``level`` is the incident's level (red / yellow / blue; empty when none) for apprise's notification
    type and the SMS gateways' ``level`` variable when the notification has no ``alert`` (a combined
    group, a row read back from the outbox). ``markdown``: the body is markdown, as chat robots render
    it. ``html``: the HTML part of an e-mail (``channels.mail``), with ``images`` (Content-ID → PNG)
    shown inline as ``cid:`` parts and ``attachments`` (file name → contents), in order."""

    level: str = ""
    markdown: bool = False
    html: str | None = None
    images: tuple[tuple[str, bytes], ...] = ()
    attachments: tuple[tuple[str, bytes], ...] = ()
    # The signed acknowledgement link the text carries (set by the renderer when the daemon serves one):
    # a DingTalk card takes its token, which comes back with a click.
    ack_url: str | None = None


NO_PARTS = Parts()


@dataclass(frozen=True)
class Notification:
    """One rendered message for one channel and its recipients; stored in the outbox before sending."""

    id: str  # idempotency key: same incident, step, round and channel → same id
    channel: str
    recipients: tuple[Person, ...]
    title: str
    body: str
    alert: Alert | None = None
    parts: Parts = NO_PARTS


class Outcome(enum.Enum):
    OK = "ok"  # delivered
    RETRY = "retry"  # worth trying again later (timeouts, 5xx, connection refused, SMTP 4xx)
    PERMANENT = "permanent"  # will never work as configured (bad URL, no address, SMTP 5xx)


@dataclass(frozen=True)
class Result:
    """What one ``Channel.send`` came to: delivered, retry (after ``retry_after`` seconds when the other
    side said how long to wait), or a permanent failure that the outbox does not retry."""

    outcome: Outcome
    detail: str = ""
    # Person keys already reached, for channels that send one request per recipient: a retry or a
    # fallback need only go to the others. Empty when unknown (one request for everybody).
    reached: tuple[str, ...] = ()
    # RETRY only: the least wait the service asked for (HTTP ``Retry-After``); None leaves it to back-off.
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK
