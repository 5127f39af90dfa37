"""Every URL scheme no other channel claims: sent through apprise (webhooks, DingTalk, WeCom and Feishu
robots, SMSEagle, …), and the apprise plumbing the other URL channels share.

apprise has no retry by default and waits 15 s on an SMTP server that never answers (FIELD-GUIDE §3), so
every URL gets ``cto``/``rto`` and the outbox retries on ``Outcome.RETRY``. apprise answers only yes or
no: a failure is RETRY, a URL it refuses is PERMANENT. Channel URLs carry passwords and tokens: while a
delivery runs, a filter on apprise's logger blanks that URL's secrets out of every apprise log line
(apprise logs gateway URLs at DEBUG).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import unquote

import apprise
from apprise.plugins.dingtalk import NotifyDingTalk

from channels.base import addresses, field_secrets
from channels.model import ChannelSpec, Notification, Outcome, Result
from channels.urls import mask_url, prepare_url, redact, url_secrets

# Group chat robots: a message reaches the whole group; addresses, if any, are only @-mentions.
GROUP_ROBOTS = frozenset({"dingtalk", "wecombot", "feishu", "lark"})
_NOTIFY_TYPES = {"red": "failure", "yellow": "warning", "blue": "info"}


class AppriseChannel:
    """The fallback of ``channels.registry``: one apprise notification to every recipient's address
    (``to=``), or one to the group for ``address: none``."""

    name = "apprise"
    schemes: frozenset[str] = frozenset()
    # Passwords, lone users (tokens), token-like hosts and path parts, secret query values.
    secret_fields = ("url",)

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        """apprise's services stamp their own times (DingTalk signs with its own clock): ``now`` is unused."""
        targets, _ = addresses(spec, notification.recipients)
        url = prepare_url(spec.url, to=targets, timeout=timeout)
        return send_url(url, notification, field_secrets(spec, self.secret_fields) | url_secrets(url))


CHANNEL = AppriseChannel()


def notify_type(level: str) -> str:
    """apprise's notification type for a level: red → failure, yellow → warning, anything else → info."""
    return _NOTIFY_TYPES.get(level.strip().lower(), "info")


def body_format(notification: Notification) -> str:
    """``markdown`` when ``parts.markdown`` says so, else ``text``. Declaring it lets apprise convert for
    each service: text keeps its line breaks in e-mail, markdown reaches DingTalk as markdown (the
    ``chat`` style)."""
    return "markdown" if notification.parts.markdown else "text"


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


# ---------------------------------------------------------------- sending


@contextmanager
def redacting(secrets: frozenset[str]) -> Iterator[None]:
    """Blank ``secrets`` out of apprise's (and urllib3's) log lines while the block runs."""
    with _REDACTOR.hiding(secrets):
        yield


def send_url(url: str, notification: Notification, secrets: frozenset[str]) -> Result:
    """Send ``notification`` to the apprise URL ``url`` (``to=``, ``cto``, ``rto`` already in it)."""
    level = notification.alert.level if notification.alert else notification.parts.level
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
