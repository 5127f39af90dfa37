"""The optional HTTP listener: a small router on a bounded server (``daemon.app.httpserver``: at most
``max_connections`` requests at once, a deadline and a byte budget per request), off unless
``http.listen`` is set. Every malformed, oversized or slow request gets its own answer (400, 408, 411,
413, 431, 503); none can reach the evaluation thread.

``POST /api/v1/messages`` takes JSON (an object or a list) or JSONL (``Content-Type:
application/x-ndjson``) with ``Authorization: Bearer <token>``. Request threads only validate and
publish the messages into ``state_dir/spool/http`` (temp name, fsync, rename) before answering 202: the
one evaluation thread reads them from there, and nothing accepted is lost in a crash. Other endpoints
(an acknowledgement page, /metrics) are added to the same ``Router``.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from daemon.app.httpserver import READ_CHUNK, BoundedServer, RequestReader, RequestTooLarge
from daemon.app.httpserver import HttpLimits as HttpLimits  # re-exported: the listener's public knobs
from daemon.config import Config, InboxSpec
from daemon.ingest.folders import publish
from daemon.ingest.formats import FileRejected, records_from_bytes
from rules.message import message_to_dict

log = structlog.get_logger(__name__)

_DIGITS = re.compile(r"[0-9]+")
_QUERY = re.compile(r"\?[^\s\"]*")
DEFAULT_LIMITS = HttpLimits()
_HUGE = 10**18  # a longer number is simply too large (and int() refuses over 4300 digits)
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/ndjson")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    client: str


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        return cls(status, json.dumps(payload, ensure_ascii=False).encode(), headers=headers)


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    token: str | None = None  # a bearer token the request must carry
    max_body: int = 0  # bytes; larger requests get 413 before their body is read


@dataclass
class Router:
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str, handler: Handler, *, token: str | None = None, max_body: int = 0) -> None:
        with self.lock:
            self.routes[(method.upper(), path)] = Route(method.upper(), path, handler, token, max_body)

    def find(self, method: str, path: str) -> Route | Response:
        with self.lock:
            route = self.routes.get((method, path))
            allowed = sorted(m for m, p in self.routes if p == path)
        if route is not None:
            return route
        if allowed:
            return Response.json(405, {"error": f"method {method} not allowed"}, (("Allow", ", ".join(allowed)),))
        return Response.json(404, {"error": f"no such endpoint: {path}"})


def authorized(route: Route, header: str | None) -> bool:
    if route.token is None:
        return True
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), route.token.encode())


class _RequestHandler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0: no idle keep-alive holds a slot), read against the clock
    and a byte budget (``RequestReader``); any failure is this request's answer, never the server's."""

    router: Router
    server_version = "yuqing-sentinel"
    protocol_version = "HTTP/1.0"
    limits: HttpLimits
    reader: RequestReader

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the plain socket file: reads go through the deadline and the budget instead
        self.reader = RequestReader(self.connection, self.limits)
        self.rfile = io.BufferedReader(self.reader, READ_CHUNK)

    def handle(self) -> None:
        self.close_connection = True
        self.requestline, self.request_version = "", "HTTP/1.0"  # until a request line is read
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                return
            if len(self.raw_requestline) > 65536:
                self._send(Response.json(414, {"error": "request line too long"}))
            elif self.parse_request():  # answers 400/431/505 itself
                self._dispatch()
        except RequestTooLarge:
            self._refuse(431, f"request headers over {self.limits.max_header_bytes} bytes")
        except TimeoutError:
            self._refuse(408, "request not complete in time")
        except OSError:
            pass  # the client went away; nothing to answer

    def _refuse(self, status: int, error: str) -> None:
        log.info("http.refused", client=self.client_address[0], status=status, error=error)
        with contextlib.suppress(OSError):
            self._send(Response.json(status, {"error": error}))

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        found = self.router.find(self.command, url.path)
        response = found if isinstance(found, Response) else self._checked(found)
        if response is None and isinstance(found, Route):
            length = content_length(self.headers.get_all("Content-Length") or [])
            assert isinstance(length, int)  # checked above
            self.reader.allow_body(length)
            body = self.rfile.read(length)
            if len(body) < length:
                response = Response.json(400, {"error": f"body ended after {len(body)} of {length} bytes"})
            else:
                request = Request(self.command, url.path, parse_qs(url.query), dict(self.headers.items()),
                                  body, self.client_address[0])
                response = _answer(found, request)
        assert response is not None
        self._send(response)

    def _checked(self, route: Route) -> Response | None:
        if not authorized(route, self.headers.get("Authorization")):
            return Response.json(401, {"error": "a valid bearer token is required"},
                                 (("WWW-Authenticate", 'Bearer realm="yuqing"'),))
        if self.headers.get("Transfer-Encoding"):
            return Response.json(411, {"error": "send a Content-Length; chunked bodies are not accepted"})
        length = content_length(self.headers.get_all("Content-Length") or [])
        if isinstance(length, Response):
            return length
        if length > route.max_body:
            return Response.json(413, {"error": f"body of {length} bytes is over the limit of {route.max_body}"})
        return None

    def _send(self, response: Response) -> None:
        self.connection.settimeout(self.limits.request_timeout)  # a client that never reads is let go too
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The query is cut: an ack link's token is a credential (``?t=…``).
        log.debug("http.request", client=self.client_address[0], line=_QUERY.sub("?…", format % args))


def _answer(route: Route, request: Request) -> Response:
    try:
        return route.handler(request)
    except Exception:
        log.exception("http.error", path=request.path)
        return Response.json(500, {"error": "internal error; see the daemon's log"})


def content_length(values: list[str]) -> int | Response:
    """The declared body size, or a 400 for anything but one plain decimal number (no sign, no
    spaces inside, no repeats that disagree: a smuggled second length is refused, not guessed)."""
    if not values:
        return 0
    given = {v.strip() for v in values}
    if len(given) != 1 or not _DIGITS.fullmatch(value := given.pop()):
        return Response.json(400, {"error": "Content-Length is not a number of bytes"})
    return int(value) if len(value) < 19 else _HUGE


class HttpServer:
    def __init__(self, listen: str, router: Router, limits: HttpLimits = DEFAULT_LIMITS) -> None:
        host, _, port = listen.rpartition(":")
        handler = type("Handler", (_RequestHandler,), {"router": router, "limits": limits})
        self.router = router
        self.server = BoundedServer((host or "127.0.0.1", int(port)), handler, limits)
        self.thread = threading.Thread(target=self.server.serve_forever, name="http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self.thread.start()
        log.info("http.listening", host=self.address[0], port=self.address[1], routes=sorted(
            f"{m} {p}" for m, p in self.router.routes))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class IngestEndpoint:
    """Validates the whole request first: either every message is accepted or none is (400 says why)."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self.spec = InboxSpec(spool)

    def __call__(self, request: Request) -> Response:
        kind = (request.headers.get("Content-Type") or request.headers.get("content-type") or "").lower()
        fmt = "jsonl" if any(t in kind for t in JSONL_TYPES) else "json"
        if not request.body.strip():
            return Response.json(400, {"error": "empty body: send a JSON object, a list, or JSONL"})
        try:
            records = list(records_from_bytes(request.body, fmt, self.spec))
        except FileRejected as exc:
            return Response.json(400, {"error": str(exc)})
        problems = [f"{r.where}: {r.error}" for r in records if r.message is None]
        if problems:
            return Response.json(400, {"error": f"{len(problems)} of {len(records)} message(s) are invalid;"
                                                " nothing was accepted", "problems": problems[:100]})
        messages = [r.message for r in records if r.message is not None]
        publish(self.spool, "http", [json.dumps(message_to_dict(m), ensure_ascii=False) for m in messages])
        log.info("http.accepted", client=request.client, messages=len(messages))
        return Response.json(202, {"accepted": len(messages), "ids": [m.id for m in messages]})


def build_router(config: Config, spool: Path) -> Router:
    router = Router()
    if config.http_token:
        router.add("POST", "/api/v1/messages", IngestEndpoint(spool), token=config.http_token,
                   max_body=config.max_file_bytes)
    else:
        log.warning("http.ingest_off", reason="no http.token in the config")
    return router


def serve_http(config: Config, spool: Path) -> HttpServer | None:
    """The listener when ``http.listen`` is set, started; None otherwise."""
    if not config.http_listen:
        return None
    server = HttpServer(config.http_listen, build_router(config, spool))
    server.start()
    return server


def page_headers(csp: str) -> tuple[tuple[str, str], ...]:
    """Headers of every HTML page the listener serves: its Content-Security-Policy, no MIME sniffing, no
    framing, no Referer (a page's URL may be a signed link), never cached."""
    return (("Content-Security-Policy", csp), ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store"))
