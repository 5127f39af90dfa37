"""E-mail with both a plain-text and an HTML part, for ``mailto://`` / ``mailtos://`` channels.

apprise sends HTML mail as ``multipart/alternative`` too, but makes the plain part itself by stripping
the HTML (``convert_between``): links lose their address and the table turns into one word a line. Our
plain part is ``email.j2``, written for reading as text, so this module builds the message itself and
only borrows apprise's URL parsing: the same channel URL (``mode=starttls|ssl|insecure``, ``smtp=``,
``from=``, ``verify=no``, ``cto``) serves text-only mail through apprise and two-part mail here.

Modes as apprise reads them: ``mailtos://`` defaults to STARTTLS on port 587, ``?mode=ssl`` is implicit TLS
(port 465), ``mailto://`` is plain SMTP (port 25) unless ``mode=`` says otherwise.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

import apprise
from apprise.plugins.email import NotifyEmail

from channels.model import Outcome, Result


def compose(*, sender: tuple[str, str], to: str, subject: str, text: str, html: str, date: datetime,
            domain: str = "localhost") -> EmailMessage:
    """One ``multipart/alternative`` message: text first, HTML second (mail clients show the last part
    they understand), UTF-8 with the Chinese subject RFC 2047-encoded. ``date`` is shown in the server's
    own zone, as ``formatdate(localtime=True)`` did."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr(sender, charset="utf-8") if sender[0] else sender[1]
    message["To"] = to
    message["Date"] = format_datetime(date.astimezone())
    message["Message-ID"] = make_msgid(domain=domain)
    message["X-Application"] = "yuqing-sentinel"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def send(url: str, *, subject: str, text: str, html: str, people: Mapping[str, str],
         now: Callable[[], datetime]) -> Result:
    """Send to every address of ``people`` (person key → address), one message each, over the SMTP
    server ``url`` names. ``reached`` lists the keys whose message the server accepted."""
    plugin = apprise.Apprise.instantiate(url)
    if not isinstance(plugin, NotifyEmail):
        return Result(Outcome.PERMANENT, "not an e-mail URL")
    name, address = plugin.from_addr
    sender = (str(name or ""), str(address))
    reached: list[str] = []
    try:
        with _connect(plugin) as smtp:
            for key, to in people.items():
                message = compose(sender=sender, to=to, subject=subject, text=text, html=html, date=now(),
                                  domain=plugin.smtp_host or "localhost")
                smtp.send_message(message, from_addr=sender[1], to_addrs=[to])
                reached.append(key)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        outcome = Outcome.PERMANENT if codes and all(c >= 500 for c in codes) else Outcome.RETRY
        return Result(outcome, f"recipient refused ({', '.join(map(str, codes))})", tuple(reached))
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        detail = f"SMTP {exc.smtp_code}: {text[:200]}"
        return Result(Outcome.RETRY, detail, tuple(reached))
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
