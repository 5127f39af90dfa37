"""Typed values of the delivery layer. Imports nothing from the project."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Address = Literal["email", "phone", "none"]


@dataclass(frozen=True)
class Person:
    key: str  # the id used in notify.yaml (``zhang``)
    name: str  # 张三
    role: str = ""
    phone: str | None = None
    email: str | None = None

    def address(self, kind: Address) -> str | None:
        if kind == "email":
            return self.email
        if kind == "phone":
            return self.phone
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

    @property
    def masked_url(self) -> str:
        from channels.delivery import mask_url

        return mask_url(self.url)


@dataclass(frozen=True)
class Alert:
    """What a notification is about, in the words a template needs. Times are Asia/Shanghai."""

    incident_id: str
    level: str  # red / yellow / blue
    level_label: str  # 红色
    title: str
    kind: Literal["new", "escalation", "repeat", "raised", "digest", "test"] = "new"
    category: str = ""
    source: str = ""
    url: str | None = None
    first_seen: datetime | None = None
    excerpt: str = ""
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    deadline: datetime | None = None
    step: int = 0
    items: tuple[Alert, ...] = ()  # the incidents gathered in a digest


@dataclass(frozen=True)
class Notification:
    """One rendered message for one channel and its recipients; stored in the outbox before sending."""

    id: str  # idempotency key: same incident, step, round and channel → same id
    channel: str
    recipients: tuple[Person, ...]
    title: str
    body: str
    alert: Alert | None = None
    meta: dict[str, str] = field(default_factory=dict)


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # worth trying again later (timeouts, 5xx, connection refused)
    PERMANENT = "permanent"  # will never work as configured (bad URL, no address)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK
