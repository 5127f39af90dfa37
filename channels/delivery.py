"""Sending one ``Notification`` over one channel through apprise, and saying whether to try again.

apprise has no retry by default and waits 15 s on an SMTP server that never answers (FIELD-GUIDE §3), so
every URL gets ``cto``/``rto`` and the outbox retries on ``Outcome.RETRY``. Channel URLs carry passwords
and tokens: they are logged only through ``mask_url``, and while a delivery runs a filter on apprise's
logger blanks that URL's secrets out of every apprise log line (apprise logs gateway URLs at DEBUG).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from urllib.parse import quote, unquote

import apprise
import structlog
from apprise.plugins.dingtalk import NotifyDingTalk

from channels import local, mail, sms_gateway
from channels.model import Alert, ChannelSpec, Notification, Outcome, Person, Result

log = structlog.get_logger(__name__)

MASK = "***"
# Query keys whose values are secrets (matched as substrings: ``access_token``, ``apikey``, ``+X-Token``).
SECRET_KEYS = ("token", "secret", "key", "pass", "pwd", "sign", "auth", "credential")
# Group chat robots: a message reaches the whole group; addresses, if any, are only @-mentions.
GROUP_ROBOTS = frozenset({"dingtalk", "wecombot", "feishu", "lark"})
# Schemes whose host part is the credential (``dingtalk://{token}/``).
HOST_IS_SECRET = frozenset({"dingtalk", "wecombot", "feishu", "lark", "tgram", "pushplus", "serverchan", "slack",
                            "discord"})
# Schemes whose path is a file of this machine, not a credential.
LOCAL_SCHEMES = frozenset({"jsonl", "console", "file", "capture"})
# A path segment kept in logs: a plain word (``hook``, ``robot``, ``open-apis``) or a version (``v2``).
# Anything else (digits, long or mixed runs) may be a webhook's key, however short: ``/hook/s3cr3t``.
_PATH_WORD = re.compile(r"[A-Za-z][A-Za-z_-]{0,11}|v[0-9]{1,2}")
# A URL inside free text (an exception, a gateway's answer): up to white space or a quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s'\"<>]+")
_MIN_SECRET = 4  # shorter "secrets" would blank ordinary words out of log lines
_FORMATS = ("text", "markdown", "html")
_NOTIFY_TYPES = {"red": "failure", "yellow": "warning", "blue": "info"}


def notify_type(level: str) -> str:
    """apprise's notification type for a level: red → failure, yellow → warning, anything else → info."""
    return _NOTIFY_TYPES.get(level.strip().lower(), "info")


# ---------------------------------------------------------------- masking URLs


def mask_url(url: str) -> str:
    """``url`` fit for logs: password, lone user (a token), token-like path parts and secret query
    values become ``***``. ``mailto://alerts:pw@smtp.gov.cn`` → ``mailto://alerts:***@smtp.gov.cn``."""
    return _split_secrets(url)[0]


def mask_urls_in(text: str) -> str:
    """``text`` with every URL in it masked by ``mask_url``: for error details and log lines."""
    return _URL_IN_TEXT.sub(lambda found: mask_url(found.group(0)), text) if "://" in text else text


def url_secrets(url: str) -> frozenset[str]:
    """The secret parts of ``url`` as written and as percent-decoded, for redacting free text."""
    found = _split_secrets(url)[1]
    return frozenset(s for value in found for s in (value, unquote(value)) if len(s) >= _MIN_SECRET)


def channel_secrets(spec: ChannelSpec) -> frozenset[str]:
    """Everything of a channel that must never be logged: its URL's secrets and its gateway's keys."""
    return url_secrets(spec.url) | (sms_gateway.secrets(spec.gateway) if spec.gateway else frozenset())


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _split_secrets(url: str) -> tuple[str, list[str]]:
    if "://" not in url:
        return _mask_query(url, [])
    scheme, rest = url.split("://", 1)
    rest, sep, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    secrets: list[str] = []
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        if colon:
            secrets.append(password)
            userinfo = f"{user}:{MASK}"
        else:  # a user with no password is a token in apprise URLs (smseagle://token@host)
            secrets.append(user)
            userinfo = MASK
    host, colon, port = hostport.partition(":")
    if host and (scheme.lower() in HOST_IS_SECRET or _looks_like_token(host)):
        secrets.append(host)
        host = MASK
    segments = []
    local_path = scheme.lower() in LOCAL_SCHEMES
    for segment in path.split("/"):
        if segment and not local_path and (_looks_like_token(segment) or not _PATH_WORD.fullmatch(segment)):
            secrets.append(segment)
            segment = MASK
        segments.append(segment)
    masked_query, secrets = _mask_query(query, secrets) if sep else ("", secrets)
    masked = f"{scheme}://{userinfo}{at}{host}{colon}{port}{slash}{'/'.join(segments)}{sep}{masked_query}"
    return masked, secrets


def _mask_query(query: str, secrets: list[str]) -> tuple[str, list[str]]:
    parts = []
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if eq and value and any(word in unquote(key).lower() for word in SECRET_KEYS):
            secrets.append(value)
            value = MASK
        parts.append(f"{key}{eq}{value}")
    return "&".join(parts), secrets


def _looks_like_token(text: str) -> bool:
    """Long runs of letters and digits (webhook keys, 64-hex DingTalk tokens); not words or file names."""
    if len(text) < 16 or not text.replace("-", "").replace("_", "").isalnum() or not text.isascii():
        return False
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


# ---------------------------------------------------------------- apprise's log lines


class _Redactor(logging.Filter):
    """Blanks the secrets of every delivery in progress out of apprise's records, at every level."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._active: Counter[str] = Counter()

    @contextmanager
    def hiding(self, secrets: frozenset[str]) -> Iterator[None]:
        with self._lock:
            self._active.update(secrets)
        try:
            yield
        finally:
            with self._lock:
                self._active.subtract(secrets)
                self._active += Counter()  # drops the zero counts

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            active = list(self._active)
        if active:
            message = record.getMessage()
            cleaned = redact(message, active)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


class _Capture(logging.Handler):
    """apprise's WARNING+ lines from this thread while it adds a URL (the outbox delivers from several
    threads at once). Lines of the send itself come from the result: apprise sends in a worker thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


_REDACTOR = _Redactor()
_APPRISE_LOG = logging.getLogger("apprise")
# A logger's filters see only records made by that very logger, not its children's: name each one that
# writes request lines (urllib3 logs "POST /hook?apikey=… 200" at DEBUG).
for _name in ("apprise", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests"):
    logging.getLogger(_name).addFilter(_REDACTOR)


@contextmanager
def _captured(secrets: frozenset[str]) -> Iterator[list[str]]:
    handler = _Capture()
    with _REDACTOR.hiding(secrets):
        _APPRISE_LOG.addHandler(handler)
        try:
            yield handler.lines
        finally:
            _APPRISE_LOG.removeHandler(handler)


# ---------------------------------------------------------------- apprise's DingTalk signature

# apprise 2.2.0 percent-encodes DingTalk's ``sign`` and then hands it to requests as a query parameter,
# which encodes it again: DingTalk decodes once, compares, and answers 310000 "sign not match" (the
# same double encoding broke other clients: wowiwj/ding-notice#11). Undoing the first encoding leaves one;
# on an apprise that no longer encodes, ``unquote`` of base64 changes nothing.
_dingtalk_signature = NotifyDingTalk.get_signature


def _signature_encoded_once(self: NotifyDingTalk) -> tuple[str, str]:
    timestamp, signature = _dingtalk_signature(self)  # type: ignore[no-untyped-call]
    return timestamp, unquote(signature)


if getattr(_dingtalk_signature, "__name__", "") != _signature_encoded_once.__name__:
    NotifyDingTalk.get_signature = _signature_encoded_once  # type: ignore[method-assign]


# ---------------------------------------------------------------- delivering


def deliver(spec: ChannelSpec, notification: Notification, *, now: Callable[[], datetime],
            timeout: float = 10) -> Result:
    """Send ``notification`` over ``spec``: OK, RETRY (may work later) or PERMANENT (never will, as set up).
    ``now`` is the injected clock, read as each request is made: for signatures, a mail's Date, a jsonl time.

    Email and phone channels are sent once to all recipients that have such an address (``to=``); group
    channels (``address="none"``) once. ``timeout`` bounds connecting and each read (apprise ``cto``/``rto``).
    A channel with a ``gateway`` (http-sms, Aliyun, Tencent) sends one request per recipient; an e-mail
    channel given ``meta["html"]`` sends text and HTML parts (``channels.mail``).
    """
    local.register()
    fields = {"channel": spec.name, "url": spec.masked_url, "notification": notification.id}
    targets, missing = _addresses(spec, notification.recipients)
    # A group robot with `address: phone` only @-mentions people: with nobody to mention, the group
    # still gets the message.
    if spec.address != "none" and not targets and _scheme(spec.url) not in GROUP_ROBOTS:
        names = "、".join(p.name for p in notification.recipients) or "(none)"
        what = "an e-mail address" if spec.address == "email" else "a phone number"
        detail = f"no recipient has {what} for this channel: {names}"
        result = Result(Outcome.PERMANENT, detail)
        log.warning("channel.undeliverable", **fields, detail=result.detail)
        return result
    secrets = channel_secrets(spec)
    if spec.gateway is not None:
        result = sms_gateway.send(spec, notification, now=now, timeout=timeout)
        result = Result(result.outcome, redact(result.detail, secrets), result.reached)
    elif spec.address == "email" and notification.meta.get("html") and _is_mail(spec.url):
        people = {p.key: p.email for p in notification.recipients if p.email}
        result = mail.send(prepare_url(spec.url, timeout=timeout), subject=notification.title,
                           text=notification.body, html=notification.meta["html"], people=people, now=now)
        result = Result(result.outcome, redact(result.detail, secrets), result.reached)
    else:
        url = prepare_url(spec.url, to=targets, timeout=timeout)
        if _scheme(url) == "jsonl":  # apprise hands a custom schema nothing but its URL: the time rides there
            url += f"&{local.AT}={now().timestamp():.3f}"
        result = _send(url, notification, secrets | url_secrets(url))
    if missing:
        skipped = f"skipped (no {spec.address}): " + "、".join(missing)  # names only: never addresses
        result = Result(result.outcome, f"{result.detail}; {skipped}" if result.detail else skipped,
                        result.reached)
    if result.ok:
        log.info("channel.delivered", **fields, recipients=len(targets), detail=result.detail)
    else:
        log.warning("channel.failed", **fields, outcome=result.outcome.value, detail=result.detail)
    return result


def addressed(alert: Alert, spec: ChannelSpec, people: tuple[Person, ...]) -> Alert:
    """``alert`` as rendered for ``people`` on ``spec``: it names the one person a personal channel
    (e-mail, SMS; not a group robot that only @-mentions) reaches alone, and nobody otherwise."""
    alone = len(people) == 1 and spec.address != "none" and _scheme(spec.url) not in GROUP_ROBOTS
    recipient = people[0].key if alone else ""
    return alert if alert.recipient == recipient else replace(alert, recipient=recipient)


def prepare_url(url: str, *, to: Iterable[str] = (), timeout: float = 10) -> str:
    """``url`` with ``to=`` extended by ``to`` and ``cto``/``rto`` added when absent."""
    base, sep, query = url.partition("?")
    parts = [p for p in query.split("&") if p] if sep else []
    keys = [unquote(p.partition("=")[0]).lower() for p in parts]
    targets = [quote(t.strip(), safe="@") for t in to if t.strip()]
    if targets:
        if "to" in keys:
            i = keys.index("to")
            existing = [t for t in parts[i].partition("=")[2].split(",") if t]
            parts[i] = "to=" + ",".join(dict.fromkeys(existing + targets))
        else:
            parts.append("to=" + ",".join(dict.fromkeys(targets)))
    for key in ("cto", "rto"):
        if key not in keys:
            parts.append(f"{key}={timeout:g}")
    return f"{base}?{'&'.join(parts)}"


def body_format(notification: Notification) -> str:
    """``meta["format"]`` (``text``, ``markdown`` or ``html``; text when absent). Declaring it lets
    apprise convert for each service: text keeps its line breaks in e-mail, markdown reaches DingTalk as
    markdown (the ``chat`` style)."""
    declared = notification.meta.get("format", "text").strip().lower()
    return declared if declared in _FORMATS else "text"


def _scheme(url: str) -> str:
    return url.partition("://")[0].strip().lower()


def _is_mail(url: str) -> bool:
    return _scheme(url) in ("mailto", "mailtos")


def _addresses(spec: ChannelSpec, people: Iterable[Person]) -> tuple[list[str], list[str]]:
    """(addresses, names of people without one). Empty for group channels."""
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


def _send(url: str, notification: Notification, secrets: frozenset[str]) -> Result:
    level = notification.alert.level if notification.alert else notification.meta.get("level", "")
    sender = apprise.Apprise()
    with _captured(secrets) as lines:
        if not sender.add(url):
            refused = f"apprise refused the URL {mask_url(url)}"
            return Result(Outcome.PERMANENT, _detail(refused, lines, secrets))
        try:
            outcome = sender.notify(
                body=notification.body, title=notification.title, notify_type=notify_type(level),
                body_format=body_format(notification),
            )
        except Exception as exc:  # apprise is not expected to raise; a bug there must not stop the outbox
            return Result(Outcome.RETRY, _detail(f"apprise raised {type(exc).__name__}", lines, secrets))
    lines += [entry.message for entry in getattr(outcome, "logs", list)() if entry.level != "INFO"]
    succeeded = getattr(outcome, "success_count", 1 if bool(outcome) else 0)
    failed = getattr(outcome, "failed_count", 0 if bool(outcome) else 1)
    if succeeded > 0 and failed == 0:
        return Result(Outcome.OK, _detail("", lines, secrets))
    status = getattr(getattr(outcome, "status", None), "name", "FAILURE")
    return Result(Outcome.RETRY, _detail(f"delivery failed ({status})", lines, secrets))


def _detail(head: str, lines: list[str], secrets: frozenset[str]) -> str:
    text = "; ".join([head, *dict.fromkeys(lines)] if head else dict.fromkeys(lines))
    return redact(text, secrets)
