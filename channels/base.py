"""What a channel is: the ``Channel`` protocol every delivery module implements, and how the secrets a
channel declares are read out of a configured ``ChannelSpec``.

A channel serves one or more keys, the URL schemes of notify.yaml's apprise-style URLs (``mailto``,
``jsonl``) or the ``kind:`` of a gateway (``aliyun-sms``); ``channels.registry`` maps each key to its
channel and everything else to apprise. ``send`` never raises for trouble on the other side: it says
whether the notification was delivered, is worth another try (after ``retry_after`` seconds when the
service said so), or will never go through as configured.

``secret_fields`` name the parts of a spec that hold secrets, as dotted paths from the spec:

- ``url`` (or any field ending in ``url``): the URL's secret parts (``channels.urls.url_secrets``);
- a text field (``gateway.access_key_secret``): its whole value;
- a mapping (``gateway.headers``): every value but those of ``PUBLIC_HEADERS``.

``field_secrets`` turns them into the values ``daemon.logs`` and every ``Result`` blank out, so adding a
channel cannot forget a secret without a declaration saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from channels.model import ChannelSpec, Notification, Person, Result
from channels.urls import MIN_SECRET, url_secrets

# Header values that describe the request, never authorise it.
PUBLIC_HEADERS = frozenset({"content-type", "accept", "user-agent"})


class Channel(Protocol):
    """One way of delivering a notification. Implementations hold no state about notifications and are
    thread-safe (a cache they keep, such as an access token, is locked): the outbox sends from several
    threads at once."""

    @property
    def name(self) -> str:
        """Short name for logs and docs (``mail``, ``aliyun-sms``, ``apprise``)."""
        ...

    @property
    def schemes(self) -> frozenset[str]:
        """The URL schemes or gateway kinds it serves; empty for the apprise fallback."""
        ...

    @property
    def secret_fields(self) -> tuple[str, ...]:
        """Dotted paths of the spec fields holding secrets (``url``, ``gateway.secret_key``)."""
        ...

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        """Deliver ``notification`` to its recipients that have an address of ``spec.address``. ``now`` is
        the injected clock (channels never read the wall clock), read as each request goes out: for a
        gateway's signature, a mail's Date header, a jsonl record's time."""
        ...


def field_secrets(spec: ChannelSpec, fields: Iterable[str]) -> frozenset[str]:
    """The secret values of ``spec`` that ``fields`` point at. A path that does not exist on ``spec`` is
    a channel's programming error, raised as ``AttributeError`` (the contract tests try each one)."""
    found: set[str] = set()
    for path in fields:
        value: object = spec
        for part in path.split("."):
            value = getattr(value, part)
        found |= _values(path, value)
    return frozenset(found)


def _values(path: str, value: object) -> frozenset[str]:
    if isinstance(value, str):
        if path.endswith("url"):
            return url_secrets(value)
        return frozenset({value}) if len(value) >= MIN_SECRET else frozenset()
    if isinstance(value, Mapping):
        return frozenset(str(v) for k, v in value.items()
                         if str(k).lower() not in PUBLIC_HEADERS and len(str(v)) >= MIN_SECRET)
    if value is None:
        return frozenset()
    raise TypeError(f"secret field {path} is a {type(value).__name__}, not text or a mapping")


def addresses(spec: ChannelSpec, people: Iterable[Person]) -> tuple[list[str], list[str]]:
    """(addresses of ``people`` on ``spec``, names of those without one). Both empty for group channels."""
    if spec.address == "none":
        return [], []
    found: list[str] = []
    missing: list[str] = []
    for person in people:
        address = person.address(spec.address)
        if address:
            found.append(address)
        else:
            missing.append(person.name)
    return found, missing
