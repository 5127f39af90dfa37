"""The listener's sockets: a bounded pool of request threads and a deadline and byte budget per request.

The stdlib's ``ThreadingHTTPServer`` starts a thread per connection with no cap and reads a request
for as long as the client keeps sending, a byte at a time if it likes (slowloris). Here:

- at most ``max_connections`` requests are served at once, by a fixed pool of threads; a connection
  over the cap gets ``503`` with ``Retry-After`` from the accepting thread and is closed, so file
  descriptors and threads stay bounded whatever arrives;
- a request has ``request_timeout`` seconds from its accept for its request line and headers (``408``
  after), and its body a further second per ``MIN_BODY_RATE`` bytes;
- the request line and headers may take ``max_header_bytes`` (``431`` beyond);
- when the process runs out of file descriptors, the accepting thread pauses instead of spinning.

Nothing here is shared with the evaluation thread: whatever clients do, grading goes on.
"""

from __future__ import annotations

import contextlib
import errno
import io
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)

READ_CHUNK = 4096  # buffered read size; under max_header_bytes, so read-ahead fits the header budget
MIN_BODY_RATE = 64 * 1024  # bytes a second a body must at least arrive at
_OUT_OF_FDS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_PAUSE_WHEN_OUT_OF_FDS = 0.2  # seconds; connections being served finish and free theirs meanwhile
_BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
         b"Retry-After: 5\r\nConnection: close\r\nContent-Length: 45\r\n\r\n"
         b'{"error": "too many connections; try again"}\n')


@dataclass(frozen=True)
class HttpLimits:
    max_connections: int = 32
    request_timeout: float = 10.0  # seconds from accept to the end of the headers
    max_header_bytes: int = 16 * 1024


class RequestTooLarge(Exception):
    """The request line and headers went over ``max_header_bytes``."""


class RequestReader(io.RawIOBase):
    """A socket read against one deadline for the whole request (not per ``recv``: a byte every few
    seconds must not keep a request alive) and a byte budget: the headers' until ``allow_body``."""

    def __init__(self, sock: socket.socket, limits: HttpLimits) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = time.monotonic() + limits.request_timeout
        self.budget = limits.max_header_bytes

    def readable(self) -> bool:
        return True

    def allow_body(self, length: int) -> None:
        self.budget += length
        self.deadline = max(self.deadline, time.monotonic()) + length / MIN_BODY_RATE

    def readinto(self, buffer: Any) -> int:
        if self.budget <= 0:
            raise RequestTooLarge
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request took too long")
        self.sock.settimeout(remaining)
        with memoryview(buffer) as view:
            got = self.sock.recv_into(view[: self.budget])
        self.budget -= got
        return got


class BoundedServer(socketserver.TCPServer):
    """Accepts on one thread; serves on a pool of ``max_connections`` threads; refuses the rest."""

    allow_reuse_address = True
    request_queue_size = 128  # the kernel holds these until accepted; they cost the process nothing

    def __init__(self, address: tuple[str, int], handler: Callable[..., socketserver.BaseRequestHandler],
                 limits: HttpLimits) -> None:
        super().__init__(address, handler)
        self.limits = limits
        self.slots = threading.BoundedSemaphore(limits.max_connections)
        self.pool = ThreadPoolExecutor(max_workers=limits.max_connections, thread_name_prefix="http")
        self.refused = 0
        self.last_out_of_fds = float("-inf")

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in _OUT_OF_FDS:
                now = time.monotonic()
                if now - self.last_out_of_fds > 60:
                    log.error("http.out_of_fds", error=exc.strerror, serving=self.serving(),
                              hint="new connections wait until open ones finish")
                self.last_out_of_fds = now
                time.sleep(_PAUSE_WHEN_OUT_OF_FDS)
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self._busy(request)
            return
        try:
            self.pool.submit(self._serve, request, client_address)
        except RuntimeError:  # the pool is shut down: the server is stopping
            self.slots.release()
            self.shutdown_request(request)

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self.slots.release()

    def _busy(self, request: socket.socket) -> None:
        """503 without blocking the accepting thread; what the client already sent is read and dropped so
        the close is a clean FIN and the client reads the answer."""
        self.refused += 1
        if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
            log.warning("http.busy", refused=self.refused, max_connections=self.limits.max_connections)
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(_BUSY)
            request.recv(65536)
        self.shutdown_request(request)

    def serving(self) -> int:
        return self.limits.max_connections - self.slots._value  # for the log line only

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("http.connection_error", client=str(client_address[0]) if client_address else None)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)
