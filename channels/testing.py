"""Test helpers shipped as API (like ``structlog.testing``): a channel that records instead of sending.

    channel = CapturingChannel("duty")                  # registers capture:// with apprise
    specs = {"sms": channel.spec(address="phone")}     # use wherever a ChannelSpec is expected
    ... run the daemon ...
    assert [c.title for c in channel.captured()] == ["【红色预警】城东拆迁户聚集"]

``capture://NAME?fail=yes`` (``CapturingChannel(name, fail=True)``) refuses every notification, to test
retries. Records live in one module-level list shared by every instance; ``clear()`` empties it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from channels.local import recipients, register_schema
from channels.model import Address, ChannelSpec

SCHEME = "capture"


@dataclass(frozen=True)
class Captured:
    channel: str  # the NAME of capture://NAME
    title: str
    body: str
    recipients: tuple[str, ...]  # the to= addresses the delivery added (empty for group channels)
    notify_type: str


_records: list[Captured] = []
_lock = threading.Lock()


def register() -> None:
    """Make ``capture://`` known to apprise. Idempotent."""
    register_schema(SCHEME, "Capture (tests)", _send)


def captured(channel: str | None = None) -> list[Captured]:
    """Everything recorded so far, oldest first; only ``channel``'s when given."""
    with _lock:
        return [c for c in _records if channel is None or c.channel == channel]


def clear() -> None:
    with _lock:
        _records.clear()


def _send(body: str, title: str, notify_type: str, meta: dict[str, Any], *_: Any, **__: Any) -> bool:
    qsd = meta.get("qsd") or {}
    if str(qsd.get("fail", "")).lower() in ("1", "yes", "true"):
        return False
    record = Captured(unquote(str(meta.get("host", ""))), title, body, recipients(meta), notify_type)
    with _lock:
        _records.append(record)
    return True


class CapturingChannel:
    """One named capturing channel. Instances with the same name see the same records."""

    def __init__(self, name: str = "capture", *, fail: bool = False) -> None:
        register()
        self.name = name
        self.fail = fail

    @property
    def url(self) -> str:
        return f"{SCHEME}://{self.name}" + ("?fail=yes" if self.fail else "")

    def spec(self, address: Address = "none", channel: str | None = None) -> ChannelSpec:
        """A ``ChannelSpec`` delivering here, named ``channel`` (default: this channel's name)."""
        return ChannelSpec(channel or self.name, self.url, address)

    def captured(self) -> list[Captured]:
        return captured(self.name)

    def clear(self) -> None:
        """Forget this channel's records (other channels keep theirs)."""
        with _lock:
            _records[:] = [c for c in _records if c.channel != self.name]
