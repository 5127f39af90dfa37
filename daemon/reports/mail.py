"""Report e-mail: the HTML part with its PNG charts as ``multipart/related`` (``cid:``) parts, and the
XLSX workbook attached. The outbox keeps both in the notification's ``meta`` (base64), so a report is
stored before it is sent and retried like any other notification.

Why CID and not ``data:`` URIs: Gmail and Outlook do not show ``data:`` images; related parts are
shown by every common client, including the webmail of government mail systems. Other channels (chat
robots, the console, jsonl files) get the plain-text report; its files are kept under state_dir/reports.

``channels.mail`` builds ordinary two-part mail; this wraps the channel ``deliver`` and handles only
notifications that carry ``meta["images"]`` or ``meta["attachments"]`` on an SMTP channel.
"""

from __future__ import annotations

import base64
import json
import smtplib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

import apprise
from apprise.plugins.email import NotifyEmail

from channels import mail
from channels.delivery import prepare_url, redact, url_secrets
from channels.model import ChannelSpec, Notification, Outcome, Result
from daemon.notify.outbox import Deliver

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def pack(images: dict[str, bytes], attachments: dict[str, bytes]) -> dict[str, str]:
    """``meta`` entries for a report notification."""
    return {"images": json.dumps({cid: base64.b64encode(png).decode() for cid, png in images.items()}),
            "attachments": json.dumps({name: base64.b64encode(data).decode() for name, data in attachments.items()})}


class DeliverAt(Protocol):
    """``channels.delivery.deliver``: sends at the moments ``now`` tells."""

    def __call__(self, spec: ChannelSpec, notification: Notification, *, now: Callable[[], datetime]) -> Result: ...


def with_report_parts(inner: DeliverAt, now: Callable[[], datetime]) -> Deliver:
    """The outbox's ``Deliver``: ``inner`` on the injected clock ``now``, reports with their parts here."""

    def deliver(spec: ChannelSpec, notification: Notification) -> Result:
        meta = notification.meta
        is_mail = spec.address == "email" and spec.url.split("://")[0] in ("mailto", "mailtos")
        if is_mail and meta.get("html") and ("images" in meta or "attachments" in meta):
            return send(spec, notification, now)
        return inner(spec, notification, now=now)

    return deliver


def send(spec: ChannelSpec, notification: Notification, now: Callable[[], datetime], timeout: float = 10) -> Result:
    meta = notification.meta
    images = {cid: base64.b64decode(data) for cid, data in json.loads(meta.get("images", "{}")).items()}
    files = {name: base64.b64decode(data) for name, data in json.loads(meta.get("attachments", "{}")).items()}
    url = prepare_url(spec.url, timeout=timeout)
    secrets = url_secrets(spec.url) | url_secrets(url)
    plugin = apprise.Apprise.instantiate(url)
    if not isinstance(plugin, NotifyEmail):
        return Result(Outcome.PERMANENT, "not an e-mail URL")
    name, address = plugin.from_addr
    sender = (str(name or ""), str(address))
    people = {p.key: p.email for p in notification.recipients if p.email}
    if not people:
        return Result(Outcome.PERMANENT, "no recipient has an e-mail address for this channel")
    reached: list[str] = []
    try:
        with mail._connect(plugin) as smtp:
            for key, to in people.items():
                message = mail.compose(sender=sender, to=to, subject=notification.title, text=notification.body,
                                       html=meta["html"], date=now(), domain=plugin.smtp_host or "localhost")
                html_part = message.get_body(("html",))
                assert isinstance(html_part, EmailMessage)
                for cid, png in images.items():
                    html_part.add_related(png, "image", "png", cid=f"<{cid}>")
                for filename, data in files.items():
                    message.add_attachment(data, *XLSX_TYPE, filename=filename)
                smtp.send_message(message, from_addr=sender[1], to_addrs=[to])
                reached.append(key)
    except smtplib.SMTPResponseException as exc:
        return Result(Outcome.RETRY, redact(f"SMTP {exc.smtp_code}", secrets), tuple(reached))
    except (OSError, smtplib.SMTPException) as exc:
        return Result(Outcome.RETRY, redact(f"SMTP {type(exc).__name__}: {exc}"[:300], secrets), tuple(reached))
    return Result(Outcome.OK, reached=tuple(reached))
