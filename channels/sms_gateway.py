"""SMS channels that are not apprise URLs: the county's own HTTP gateway (``kind: http-sms``), Aliyun and
Tencent Cloud. ``send`` is what ``channels.delivery.deliver`` calls for a ``ChannelSpec`` with a gateway.

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
from typing import Any
from urllib.parse import quote, quote_plus

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from channels import aliyun, tencent
from channels.model import AliyunSms, ChannelSpec, Gateway, HttpSms, Notification, Person, Result
from channels.webcall import by_status, call, describe, per_recipient

KINDS = ("http-sms", "aliyun-sms", "tencent-sms")
VARIABLES = ("phone", "text", "title", "body", "name", "level")


def secrets(gateway: Gateway) -> frozenset[str]:
    """Values of a gateway's settings that must never show up in a log line or a result."""
    if isinstance(gateway, HttpSms):
        return frozenset(v for k, v in gateway.headers.items()
                         if k.lower() not in ("content-type", "accept", "user-agent") and len(v) >= 4)
    if isinstance(gateway, AliyunSms):
        return frozenset({gateway.access_key_secret, gateway.access_key_id})
    return frozenset({gateway.secret_key, gateway.secret_id})


def values(person: Person, phone: str, notification: Notification) -> dict[str, str]:
    """What a gateway template may use. ``text`` is title and body on two lines, as a phone shows them
    (the SMS renderer keeps both within two segments together)."""
    title, body = notification.title.strip(), notification.body.strip()
    level = notification.alert.level if notification.alert else notification.meta.get("level", "")
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


def send(spec: ChannelSpec, notification: Notification, *, now: Callable[[], datetime], timeout: float = 10) -> Result:
    """One request per recipient; the signed gateways sign each at ``now()``, the moment it is made."""
    gateway = spec.gateway
    if gateway is None:
        raise ValueError(f"channel {spec.name} has no gateway")
    one: Callable[[Person, str], Result]
    if isinstance(gateway, HttpSms):
        def one(person: Person, phone: str) -> Result:
            return _http_sms(gateway, values(person, phone, notification), timeout)
    elif isinstance(gateway, AliyunSms):
        def one(person: Person, phone: str) -> Result:
            context = values(person, phone, notification)
            params = {k: render(v, context) for k, v in gateway.params.items()}
            return aliyun.send_sms(gateway, phone, params, now=now, timeout=timeout)
    else:
        def one(person: Person, phone: str) -> Result:
            context = values(person, phone, notification)
            params = [render(v, context) for v in gateway.params]
            return tencent.send_sms(gateway, phone, params, now=now, timeout=timeout)
    return per_recipient(notification.recipients, lambda p: p.address(spec.address), one)


def _http_sms(gateway: HttpSms, context: Mapping[str, str], timeout: float) -> Result:
    url = render(gateway.url, context, "url")
    escape = _escape_for(gateway.content_type)
    body = render(gateway.body, context, escape).encode("utf-8") if gateway.body else None
    headers = {k: render(v, context) for k, v in gateway.headers.items()}
    if body is not None:
        headers.setdefault("Content-Type", gateway.content_type)
    reply = call(gateway.method, url, body=body, headers=headers, timeout=timeout)
    outcome = by_status(reply.status)
    return Result(outcome, "" if outcome.name == "OK" else describe(reply))


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
