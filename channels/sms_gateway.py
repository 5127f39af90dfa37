"""SMS channels that are not apprise URLs: the county's own HTTP gateway (``kind: http-sms``), Aliyun and
Tencent Cloud. This module is the ``http-sms`` channel and the template rendering all three share;
``channels.aliyun`` and ``channels.tencent`` are the other two channels.

Why not an apprise custom schema: a decorated apprise function can only answer yes or no, so a 400
(wrong template, never works) and a 503 (try again) would look the same to the outbox; and a templated
JSON body with headers does not fit in a URL without ending up in apprise's DEBUG lines. Behind the same
``deliver()`` the rest of the daemon does not see the difference.

Template values are escaped for where they land: JSON string escapes in a JSON body, form encoding in a
form body, percent-encoding in the URL, so a quote or a line break in a notification cannot break the
request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from channels.model import ChannelSpec, Gateway, HttpSms, Notification, Person, Result
from channels.webcall import by_status, call, describe, per_recipient

KINDS = ("http-sms", "aliyun-sms", "tencent-sms")
VARIABLES = ("phone", "text", "title", "body", "name", "level")
G = TypeVar("G", bound=Gateway)


class HttpSmsChannel:
    """``kind: http-sms``: one request per recipient; 2xx OK, 408/425/429 and 5xx RETRY (after the
    gateway's ``Retry-After`` when it sends one), any other 4xx PERMANENT."""

    name = "http-sms"
    schemes = frozenset({HttpSms.KIND})
    # Tokens in the URL template's query, and every header but Content-Type and the like.
    secret_fields = ("url", "gateway.url", "gateway.headers")

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        """The county's gateway signs nothing: ``now`` only dates a ``Retry-After`` given as a date."""
        gateway = gateway_of(spec, HttpSms)

        def one(person: Person, phone: str) -> Result:
            return _http_sms(gateway, values(person, phone, notification), now, timeout)

        return per_recipient(notification.recipients, lambda p: p.address(spec.address), one)


CHANNEL = HttpSmsChannel()


def gateway_of(spec: ChannelSpec, kind: type[G]) -> G:
    """``spec.gateway`` as the ``kind`` its channel expects (the registry chose the channel by it)."""
    if not isinstance(spec.gateway, kind):
        raise ValueError(f"channel {spec.name} has no {kind.__name__} gateway")
    return spec.gateway


def values(person: Person, phone: str, notification: Notification) -> dict[str, str]:
    """What a gateway template may use. ``text`` is title and body on two lines, as a phone shows them
    (the SMS renderer keeps both within two segments together)."""
    title, body = notification.title.strip(), notification.body.strip()
    level = notification.alert.level if notification.alert else notification.parts.level
    return {"phone": phone, "text": f"{title}\n{body}" if title else body, "title": title, "body": body,
            "name": person.name, "level": level}


def render(template: str, context: Mapping[str, str], escape: str = "none") -> str:
    """Render a gateway template; ``escape`` is ``json``, ``form``, ``url`` or ``none``."""
    return _environment(escape).from_string(template).render(**context)


def check_template(template: str) -> str | None:
    """Why ``template`` cannot be used (syntax, unknown variable), or None. For notify.yaml's loader."""
    sample = dict.fromkeys(VARIABLES, "x")
    try:
        render(template, sample)
    except jinja2.UndefinedError as exc:
        return f"{exc.message}; templates may use {', '.join(VARIABLES)}"
    except jinja2.TemplateError as exc:
        return f"template error: {exc.message or type(exc).__name__}"
    return None


def _http_sms(gateway: HttpSms, context: Mapping[str, str], now: Callable[[], datetime], timeout: float) -> Result:
    url = render(gateway.url, context, "url")
    escape = _escape_for(gateway.content_type)
    body = render(gateway.body, context, escape).encode("utf-8") if gateway.body else None
    headers = {k: render(v, context) for k, v in gateway.headers.items()}
    if body is not None:
        headers.setdefault("Content-Type", gateway.content_type)
    reply = call(gateway.method, url, now=now, body=body, headers=headers, timeout=timeout)
    outcome = by_status(reply.status)
    if outcome.name == "OK":
        return Result(outcome)
    return Result(outcome, describe(reply), retry_after=reply.retry_after if outcome.name == "RETRY" else None)


def _escape_for(content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    if kind.endswith("json"):  # application/json, application/vnd.x+json
        return "json"
    return "form" if kind == "application/x-www-form-urlencoded" else "none"


_ESCAPES: dict[str, Callable[[str], str]] = {
    "json": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "form": quote_plus,
    "url": lambda s: quote(s, safe=""),
    "none": lambda s: s,
}


@cache
def _environment(escape: str) -> SandboxedEnvironment:
    escaper = _ESCAPES[escape]

    def finalize(value: Any) -> str:
        return escaper("" if value is None else str(value))

    # Sandboxed: the templates come from a config file; StrictUndefined: a misspelt name fails at check.
    return SandboxedEnvironment(undefined=jinja2.StrictUndefined, finalize=finalize, autoescape=False,
                                keep_trailing_newline=True)
