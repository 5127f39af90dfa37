"""The optional HTTP listener: a small router on a ThreadingHTTPServer, off unless ``http.listen`` is set.

``POST /api/v1/messages`` takes JSON (an object or a list) or JSONL (``Content-Type:
application/x-ndjson``) with ``Authorization: Bearer <token>``. Request threads only validate and
publish the messages into ``state_dir/spool/http`` (temp name, fsync, rename) before answering 202: the
one evaluation thread reads them from there, and nothing accepted is lost in a crash. Other endpoints
(an acknowledgement page, /metrics) are added to the same ``Router``.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from daemon.config import Config, InboxSpec
from daemon.formats import FileRejected, records_from_bytes
from daemon.ingest import publish
from rules.message import message_to_dict

log = structlog.get_logger(__name__)

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
    router: Router
    server_version = "yuqing-sentinel"
    timeout = 15  # a client that stalls mid-request does not hold a thread for ever

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        found = self.router.find(self.command, url.path)
        if isinstance(found, Response):
            self._send(found)
            return
        response = self._checked(found)
        if response is None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, url.path, parse_qs(url.query), dict(self.headers.items()),
                              self.rfile.read(length), self.client_address[0])
            try:
                response = found.handler(request)
            except Exception:
                log.exception("http.error", path=url.path)
                response = Response.json(500, {"error": "internal error; see the daemon's log"})
        self._send(response)

    def _checked(self, route: Route) -> Response | None:
        if not authorized(route, self.headers.get("Authorization")):
            return Response.json(401, {"error": "a valid bearer token is required"},
                                 (("WWW-Authenticate", 'Bearer realm="yuqing"'),))
        if self.command == "POST":
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return Response.json(411, {"error": "send a Content-Length; chunked bodies are not accepted"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return Response.json(400, {"error": "Content-Length is not a number"})
            if length > route.max_body:
                self.close_connection = True  # the unread body must not be taken for the next request
                return Response.json(413, {"error": f"body of {length} bytes is over the limit of {route.max_body}"})
        return None

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http.request", client=self.client_address[0], line=format % args)


class HttpServer:
    def __init__(self, listen: str, router: Router) -> None:
        host, _, port = listen.rpartition(":")
        handler = type("Handler", (_RequestHandler,), {"router": router})
        self.router = router
        self.server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), handler)
        self.server.daemon_threads = True
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
