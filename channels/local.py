"""Channels that need no network, registered as apprise schemas so they are configured like any other:

- ``jsonl:///var/lib/yuqing/notifications.jsonl`` appends one JSON object a line
  (``time``, ``type``, ``title``, ``body`` and ``to`` when the channel addresses people);
- ``console://`` prints ``title`` and ``body`` to standard output.

apprise hands a decorated function the URL already split (``meta['host']``, ``meta['fullpath']``,
``meta['qsd']``), and takes the first path segment for a host: ``jsonl:///var/x.jsonl`` arrives as host
``var`` and fullpath ``/x.jsonl``. ``jsonl_path`` puts it back together.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import structlog
from apprise.decorators import notify
from apprise.manager_plugins import NotificationManager

from channels import apprise_channel
from channels.base import addresses, field_secrets
from channels.model import ChannelSpec, Notification, Result
from channels.urls import prepare_url, scheme_of, url_secrets
from rules.county import SHANGHAI

log = structlog.get_logger(__name__)

_lock = threading.Lock()
AT = "at"  # the query parameter ``LocalChannel.send`` gives a jsonl URL: when it sends, epoch seconds


class LocalChannel:
    """``jsonl://``, ``console://`` and the tests' ``capture://`` (``channels.testing``): apprise schemas of
    our own, sent like any apprise URL once registered. Their path is a file here, not a credential."""

    name = "local"
    schemes = frozenset({"jsonl", "console", "capture"})
    secret_fields = ("url",)  # secret query values (``?apikey=…``); the path stays readable

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        register()
        targets, _ = addresses(spec, notification.recipients)
        url = prepare_url(spec.url, to=targets, timeout=timeout)
        if scheme_of(url) == "jsonl":  # apprise hands a schema nothing but its URL: the time rides there
            url += f"&{AT}={now().timestamp():.3f}"
        secrets = field_secrets(spec, self.secret_fields) | url_secrets(url)
        return apprise_channel.send_url(url, notification, secrets)


CHANNEL = LocalChannel()


def register() -> None:
    """Make ``jsonl://`` and ``console://`` known to apprise. Safe to call any number of times."""
    register_schema("jsonl", "JSON lines file", _send_jsonl)
    register_schema("console", "Console", _send_console)


def register_schema(scheme: str, name: str, send: Callable[..., bool]) -> None:
    """Register ``send`` for ``scheme://`` unless apprise already knows the scheme."""
    with _lock:
        if scheme not in NotificationManager():  # type: ignore[no-untyped-call]
            notify(on=scheme, name=name)(send)  # type: ignore[no-untyped-call]


def jsonl_path(meta: Mapping[str, Any]) -> Path:
    """The file a ``jsonl://`` URL names. ``.`` or ``..`` as first segment means relative to the working
    directory; notify.yaml's loader has already made its paths absolute."""
    host = unquote(str(meta.get("host", "")))
    rest = unquote(str(meta.get("fullpath", "")))
    if host in (".", ".."):
        return Path(host + rest)
    return Path("/" + host + rest)


def recipients(meta: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``to=`` list that ``channels.delivery`` adds for channels addressing people."""
    qsd = meta.get("qsd") or {}
    raw = str(qsd.get("to", ""))
    return tuple(part for part in raw.replace(";", ",").split(",") if part.strip())


def _send_jsonl(body: str, title: str, notify_type: str, meta: dict[str, Any], *_: Any, **__: Any) -> bool:
    path = jsonl_path(meta)
    record: dict[str, Any] = {}
    if stamp := _stamp(meta):  # none when apprise is used directly, not through LocalChannel
        record["time"] = stamp
    record |= {"type": notify_type, "title": title, "body": body}
    if to := recipients(meta):
        record["to"] = list(to)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write() on an O_APPEND descriptor: concurrent writers never interleave within a line.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            written = os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("channel.jsonl.failed", path=str(path), error=exc.strerror or str(exc))
        return False
    return written == len(line)


def _stamp(meta: Mapping[str, Any]) -> str | None:
    try:
        at = datetime.fromtimestamp(float((meta.get("qsd") or {})[AT]), SHANGHAI)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    return at.isoformat(timespec="seconds")


def _send_console(body: str, title: str, *_: Any, **__: Any) -> bool:
    text = f"{title}\n{body}" if title else body
    print(text, file=sys.stdout, flush=True)
    return True
