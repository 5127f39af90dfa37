"""``channels.delivery.deliver`` on the real wall clock, as the daemon calls it with its SystemClock: the
tests that are not about time need not say when they send."""

from __future__ import annotations

from datetime import UTC, datetime

from channels import delivery
from channels.model import ChannelSpec, Notification, Result


def wall_clock() -> datetime:
    return datetime.now(UTC)


def deliver(spec: ChannelSpec, notification: Notification, *, timeout: float = 10) -> Result:
    return delivery.deliver(spec, notification, now=wall_clock, timeout=timeout)
