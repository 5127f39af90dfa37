"""Sending one ``Notification`` over one channel, and saying whether to try again.

``deliver`` is the one entry point: it finds the channel of the spec in ``channels.registry`` (mail,
the SMS gateways, local files and console, apprise for every other scheme), refuses at once what cannot
reach anybody, blanks the channel's declared secrets out of the result and logs the outcome. Channel URLs
carry passwords and tokens: they are logged only through ``mask_url``.

The URL helpers (``mask_url``, ``url_secrets``, ``prepare_url`` …) live in ``channels.urls`` and the
apprise ones in ``channels.apprise_channel``; they are also importable from here, as they always were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog

from channels.apprise_channel import GROUP_ROBOTS, body_format, notify_type
from channels.base import addresses
from channels.model import Alert, ChannelSpec, Notification, Outcome, Person, Result
from channels.registry import channel_secrets, resolve
from channels.urls import (
    HOST_IS_SECRET,
    LOCAL_SCHEMES,
    MASK,
    SECRET_KEYS,
    mask_url,
    mask_urls_in,
    prepare_url,
    redact,
    scheme_of,
    url_secrets,
)

__all__ = [
    "GROUP_ROBOTS", "HOST_IS_SECRET", "LOCAL_SCHEMES", "MASK", "SECRET_KEYS", "addressed", "body_format",
    "channel_secrets", "deliver", "mask_url", "mask_urls_in", "notify_type", "prepare_url", "redact", "url_secrets",
]

log = structlog.get_logger(__name__)


def deliver(spec: ChannelSpec, notification: Notification, *, now: Callable[[], datetime],
            timeout: float = 10) -> Result:
    """Send ``notification`` over ``spec``: OK, RETRY (may work later) or PERMANENT (never will, as set up).
    ``now`` is the injected clock, read as each request is made: for signatures, a mail's Date, a jsonl time.

    Email and phone channels reach the recipients that have such an address; group channels
    (``address="none"``) are sent once. ``timeout`` bounds connecting and each read. How a channel sends
    (one request for all, one per recipient, text and HTML parts) is its own business (``Channel.send``).
    """
    fields = {"channel": spec.name, "url": spec.masked_url, "notification": notification.id}
    targets, missing = addresses(spec, notification.recipients)
    # A group robot with `address: phone` only @-mentions people: with nobody to mention, the group
    # still gets the message.
    if spec.address != "none" and not targets and scheme_of(spec.url) not in GROUP_ROBOTS:
        names = "、".join(p.name for p in notification.recipients) or "(none)"
        what = {"email": "an e-mail address", "dingtalk": "a DingTalk user id",
                "feishu": "a Feishu open_id"}.get(spec.address, "a phone number")
        detail = f"no recipient has {what} for this channel: {names}"
        result = Result(Outcome.PERMANENT, detail)
        log.warning("channel.undeliverable", **fields, detail=result.detail)
        return result
    result = resolve(spec).send(spec, notification, timeout=timeout, now=now)
    result = replace(result, detail=redact(result.detail, channel_secrets(spec)))
    if missing:
        skipped = f"skipped (no {spec.address}): " + "、".join(missing)  # names only: never addresses
        result = replace(result, detail=f"{result.detail}; {skipped}" if result.detail else skipped)
    if result.ok:
        log.info("channel.delivered", **fields, recipients=len(targets), detail=result.detail)
    else:
        log.warning("channel.failed", **fields, outcome=result.outcome.value, detail=result.detail,
                    retry_after=result.retry_after)
    return result


def addressed(alert: Alert, spec: ChannelSpec, people: tuple[Person, ...]) -> Alert:
    """``alert`` as rendered for ``people`` on ``spec``: it names the one person a personal channel
    (e-mail, SMS; not a group robot that only @-mentions) reaches alone, and nobody otherwise."""
    alone = len(people) == 1 and spec.address != "none" and scheme_of(spec.url) not in GROUP_ROBOTS
    recipient = people[0].key if alone else ""
    return alert if alert.recipient == recipient else replace(alert, recipient=recipient)
