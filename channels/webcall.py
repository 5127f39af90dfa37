"""One HTTP request to an SMS gateway, and what its answer means for the outbox.

The stdlib client is enough here and keeps every detail in our hands: the status code decides between
OK, RETRY and PERMANENT (apprise's custom schemas can only say yes or no), and nothing about the request
is logged by a library underneath us.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from channels.model import Outcome, Person, Result

_MAX_BODY = 64 * 1024  # a gateway's answer is a few hundred bytes; never read an endless one
_RETRY_4XX = frozenset({408, 425, 429})  # the client side is fine, the gateway wants us to wait
_MAX_RETRY_AFTER = 86400.0


@dataclass(frozen=True)
class Reply:
    status: int  # 0 when no answer came (refused, timeout, TLS error)
    body: bytes = b""
    error: str = ""
    retry_after: float | None = None  # seconds, from a 429 or 503 answer's ``Retry-After``

    def text(self) -> str:
        return self.body.decode("utf-8", "replace").strip()


def call(method: str, url: str, *, now: Callable[[], datetime], body: bytes | None = None,
         headers: Mapping[str, str] | None = None, timeout: float = 10) -> Reply:
    """Send one request; never raises for network trouble, which comes back as ``status=0``. ``now`` is
    the injected clock, read when an answer's ``Retry-After`` is an HTTP date."""
    request = urllib.request.Request(url, data=body, method=method.upper(), headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.read(_MAX_BODY))
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, exc.read(_MAX_BODY), retry_after=retry_after(exc.headers, now()))
    except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError and timeouts are OSErrors
        reason = getattr(exc, "reason", exc)
        return Reply(0, error=f"{type(exc).__name__}: {reason}")


def retry_after(headers: Message | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds (RFC 9110: a number of seconds or an HTTP date), None when absent or
    unreadable; a date counts from ``now``. Capped at a day: a gateway asking for more is not a reason to
    hold an alert longer."""
    value = (headers.get("Retry-After") if headers is not None else None) or ""
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return min(max((when - now).total_seconds(), 0.0), _MAX_RETRY_AFTER)


def by_status(status: int) -> Outcome:
    """2xx OK; 408/425/429 and 5xx (and no answer at all) RETRY; any other 4xx PERMANENT."""
    if 200 <= status < 300:
        return Outcome.OK
    if status == 0 or status >= 500 or status in _RETRY_4XX:
        return Outcome.RETRY
    return Outcome.PERMANENT


def describe(reply: Reply, limit: int = 200) -> str:
    if reply.status == 0:
        return f"no answer ({reply.error})"
    text = " ".join(reply.text().split())
    return f"HTTP {reply.status}" + (f": {text[:limit]}" if text else "")


def per_recipient(people: Iterable[Person], phone_of: Callable[[Person], str | None],
                  send_one: Callable[[Person, str], Result]) -> Result:
    """Send to each person with a phone on their own and fold the results into one.

    All reached → OK. Anyone worth retrying → RETRY. Otherwise PERMANENT (some phones will never work;
    the outbox falls back for them). ``reached`` names who got it, so a retry can skip them. Details name
    people, never their numbers.
    """
    reached: list[str] = []
    failures: list[tuple[Person, Result]] = []
    for person in people:
        phone = phone_of(person)
        if not phone:
            continue
        result = send_one(person, phone)
        if result.ok:
            reached.append(person.key)
        else:
            failures.append((person, result))
    if not failures:
        return Result(Outcome.OK, reached=tuple(reached))
    retries = [r for _, r in failures if r.outcome is Outcome.RETRY]
    outcome = Outcome.RETRY if retries else Outcome.PERMANENT
    detail = "; ".join(f"{p.name}: {r.outcome.value}, {r.detail}" for p, r in failures)
    if reached:
        detail += f"; reached {len(reached)} of {len(reached) + len(failures)}"
    # The retry goes to all of them at once: wait as long as the most patient answer asked.
    waits = [r.retry_after for r in retries if r.retry_after is not None]
    return Result(outcome, detail, tuple(reached), max(waits) if waits else None)
