"""What every console response shares: security headers, cookies, forms, redirects, the login throttle.

Pages load only what the daemon serves itself (``/console/static/``): the Content-Security-Policy allows
no other origin, no inline script and no framing, so a title carrying markup can neither run nor load
anything even if it slipped past autoescaping.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs

from daemon.app.httpapi import Request, Response, page_headers

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
       " form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# A report is the same HTML as the e-mail's: inline styles, no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
HTML = "text/html; charset=utf-8"
MAX_FORM = 8192  # bytes: the longest form is a note


def security_headers(csp: str = CSP) -> tuple[tuple[str, str], ...]:
    return page_headers(csp)


def html(status: int, body: str, extra: Iterable[tuple[str, str]] = (), csp: str = CSP) -> Response:
    return Response(status, body.encode(), HTML, (*security_headers(csp), *extra))


def redirect(location: str, extra: Iterable[tuple[str, str]] = ()) -> Response:
    """303 See Other: after a POST the browser GETs the result, and a reload never posts again."""
    return Response(303, b"", "text/plain; charset=utf-8", (("Location", location), *security_headers(), *extra))


def header(request: Request, name: str) -> str:
    """A request header by name, whatever its case."""
    wanted = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == wanted), "")


def cookies(request: Request) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in header(request, "Cookie").split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name:
            found.setdefault(name, value)
    return found


def set_cookie(name: str, value: str, max_age: int, secure: bool) -> tuple[str, str]:
    """HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), only under /console."""
    flags = "; Secure" if secure else ""
    return "Set-Cookie", f"{name}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{flags}"


def form(request: Request) -> dict[str, str]:
    """The first value of each field of a urlencoded body."""
    fields = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50)
    return {key: values[0] for key, values in fields.items()}


def form_values(request: Request, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes), in the order sent."""
    fields = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=False, max_num_fields=200)
    return fields.get(name, [])


def query(request: Request, name: str) -> str:
    return (request.query.get(name) or [""])[0]


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def day(text: str) -> date | None:
    """A day picked in a form (``2026-11-20``, what ``<input type=date>`` sends), or None if it is not one."""
    if not _DAY.fullmatch(text):
        return None
    try:
        found = date.fromisoformat(text)
    except ValueError:
        return None
    return found if found.year >= 2000 else None


class Throttle:
    """Failed logins per name and per address: after ``limit`` within ``window`` that name (or address)
    is refused until the oldest failure is ``window`` old. scrypt already makes each guess cost ~50 ms;
    this caps guesses at a few an hour. In memory: a restart forgets, which only helps the owner back in."""

    def __init__(self, limit: int = 5, window: timedelta = timedelta(minutes=15)) -> None:
        self.limit = limit
        self.window = window
        self.failures: dict[str, deque[datetime]] = {}
        self.lock = threading.Lock()

    def blocked(self, keys: Iterable[str], now: datetime) -> bool:
        with self.lock:
            return any(len(self._recent(key, now)) >= self.limit for key in keys)

    def failed(self, keys: Iterable[str], now: datetime) -> None:
        with self.lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self.lock:
            self.failures.pop(key, None)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        found = self.failures.setdefault(key, deque())
        while found and now - found[0] >= self.window:
            found.popleft()
        if not found and len(self.failures) > 10_000:  # bounded, whatever a scan of names sends
            self.failures.clear()
            found = self.failures.setdefault(key, deque())
        return found
