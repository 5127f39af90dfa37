"""E-mail for ``mailto://`` / ``mailtos://`` channels: a plain-text and an HTML part, and for reports
the charts as ``cid:`` related parts and files attached.

apprise sends HTML mail as ``multipart/alternative`` too, but makes the plain part itself by stripping
the HTML (``convert_between``): links lose their address and the table turns into one word a line. Our
plain part is ``email.j2``, written for reading as text, so this module builds the message itself and
only borrows apprise's URL parsing: the same channel URL (``mode=starttls|ssl|insecure``, ``smtp=``,
``from=``, ``verify=no``, ``cto``) serves text-only mail through apprise and two-part mail here.
A notification without ``parts.html``, or on a channel with ``address: none`` (a fixed ``to=`` in the
URL), goes through apprise as text.

Reports (daemon/reports/schedule.py) carry their PNG charts and XLSX workbook in ``parts``, so a report is
stored in the outbox before it is sent and retried like any other notification. CID and not
``data:`` URIs: Gmail and Outlook do not show ``data:`` images; related parts are shown by every common
client, including the webmail of government mail systems.

A 5xx reply to a recipient (RCPT) or to the message itself (DATA) is PERMANENT, as RFC 5321 means it:
that address or that message will never be taken. Every other trouble is RETRY: no answer, 4xx replies,
and refusals of the session (login, STARTTLS required, sender), which an administrator can fix.

Modes as apprise reads them: ``mailtos://`` defaults to STARTTLS on port 587, ``?mode=ssl`` is implicit TLS
(port 465), ``mailto://`` is plain SMTP (port 25) unless ``mode=`` says otherwise.
"""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

import apprise
from apprise.plugins.email import NotifyEmail

from channels import apprise_channel
from channels.base import field_secrets
from channels.model import ChannelSpec, Notification, Outcome, Result
from channels.urls import prepare_url, url_secrets

NO_FILES: Mapping[str, bytes] = {}


class MailChannel:
    name = "mail"
    schemes = frozenset({"mailto", "mailtos"})
    secret_fields = ("url",)  # the SMTP password (``mailtos://user:PASSWORD@host``)

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        """Each message's Date header is ``now()`` as it is composed; apprise's text mail stamps its own."""
        parts = notification.parts
        html = parts.html
        if spec.address != "email" or not html:
            return apprise_channel.CHANNEL.send(spec, notification, timeout=timeout, now=now)
        url = prepare_url(spec.url, timeout=timeout)
        images, attachments = dict(parts.images), dict(parts.attachments)
        people = {p.key: p.email for p in notification.recipients if p.email}
        with apprise_channel.redacting(field_secrets(spec, self.secret_fields) | url_secrets(url)):
            return send(url, subject=notification.title, text=notification.body, html=html, people=people,
                        now=now, images=images, attachments=attachments)


CHANNEL = MailChannel()


def compose(*, sender: tuple[str, str], to: str, subject: str, text: str, html: str, date: datetime,
            domain: str = "localhost", images: Mapping[str, bytes] = NO_FILES,
            attachments: Mapping[str, bytes] = NO_FILES) -> EmailMessage:
    """One ``multipart/alternative`` message: text first, HTML second (mail clients show the last part
    they understand), UTF-8 with the Chinese subject RFC 2047-encoded. ``images`` become PNG parts
    related to the HTML (``<img src="cid:ID">``); ``attachments`` make the message ``multipart/mixed``.
    ``date`` is shown in the server's own zone, as ``formatdate(localtime=True)`` did."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr(sender, charset="utf-8") if sender[0] else sender[1]
    message["To"] = to
    message["Date"] = format_datetime(date.astimezone())
    message["Message-ID"] = make_msgid(domain=domain)
    message["X-Application"] = "yuqing-sentinel"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    html_part = message.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    for cid, png in images.items():
        html_part.add_related(png, "image", "png", cid=f"<{cid}>")
    for filename, data in attachments.items():
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        message.add_attachment(data, maintype, subtype, filename=filename)
    return message


def send(url: str, *, subject: str, text: str, html: str, people: Mapping[str, str], now: Callable[[], datetime],
         images: Mapping[str, bytes] = NO_FILES, attachments: Mapping[str, bytes] = NO_FILES) -> Result:
    """Send to every address of ``people`` (person key → address), one message each, over the SMTP
    server ``url`` names. ``reached`` lists the keys whose message the server accepted."""
    plugin = apprise.Apprise.instantiate(url)
    if not isinstance(plugin, NotifyEmail):
        return Result(Outcome.PERMANENT, "not an e-mail URL")
    if not people:
        return Result(Outcome.PERMANENT, "no recipient has an e-mail address for this channel")
    name, address = plugin.from_addr
    sender = (str(name or ""), str(address))
    reached: list[str] = []
    try:
        with _connect(plugin) as smtp:
            for key, to in people.items():
                message = compose(sender=sender, to=to, subject=subject, text=text, html=html, date=now(),
                                  domain=plugin.smtp_host or "localhost", images=images, attachments=attachments)
                smtp.send_message(message, from_addr=sender[1], to_addrs=[to])
                reached.append(key)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        outcome = Outcome.PERMANENT if codes and all(c >= 500 for c in codes) else Outcome.RETRY
        return Result(outcome, f"recipient refused ({', '.join(map(str, codes))})", tuple(reached))
    except smtplib.SMTPResponseException as exc:  # message or sender refused, login rejected, …
        error = exc.smtp_error
        reply = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        refused = isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
        outcome = Outcome.PERMANENT if refused else Outcome.RETRY
        return Result(outcome, f"SMTP {exc.smtp_code}: {reply[:200]}", tuple(reached))
    except (OSError, smtplib.SMTPException) as exc:
        return Result(Outcome.RETRY, f"SMTP {type(exc).__name__}: {exc}"[:300], tuple(reached))
    return Result(Outcome.OK, reached=tuple(reached))


def _connect(plugin: NotifyEmail) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if not plugin.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    timeout = float(plugin.socket_connect_timeout or 10)
    host, port, mode = plugin.smtp_host, int(plugin.port or 25), plugin.secure_mode
    smtp: smtplib.SMTP
    if mode == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if mode == "starttls":
            smtp.starttls(context=context)
        if plugin.user and plugin.password:
            smtp.login(plugin.user, plugin.password)
    except BaseException:
        smtp.close()
        raise
    return smtp
