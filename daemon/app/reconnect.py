"""Keeping an outbound chat connection up (DingTalk Stream mode, Feishu's long connection): open it,
work it until it ends or the service stops, and open it again after a growing pause. Neither SDK's own
loop can be stopped or bounds its waits, so the listeners run this one instead."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog
import websockets

log = structlog.get_logger(__name__)

T = TypeVar("T")


async def keep_connected(name: str, stop: asyncio.Event, open_connection: Callable[[], T | None],
                         session: Callable[[T], Awaitable[None]], backoff: float, max_backoff: float) -> None:
    """Until ``stop`` is set: ``open_connection`` (blocking, run on a worker thread; None when it failed),
    then ``session`` on what it opened. Between tries a pause of ``backoff`` s doubling up to
    ``max_backoff``, ±20% so that many daemons do not reconnect in step; a session that ran resets it."""
    failures = 0
    while not stop.is_set():
        target = await asyncio.to_thread(open_connection)
        if target is not None:
            try:
                await session(target)
                failures = 0
            except (OSError, websockets.exceptions.WebSocketException) as exc:
                log.warning(f"{name}.connection_lost", error=type(exc).__name__, detail=str(exc)[:200])
        if stop.is_set():
            break
        delay = min(max_backoff, backoff * 2 ** min(failures, 10)) * random.uniform(0.8, 1.2)
        failures += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    log.info(f"{name}.stopped")


class ConnectionThread(Generic[T]):
    """A thread with its own event loop holding one outbound connection open until ``stop()``; a
    subclass says how to open it (``open_connection``, blocking) and how to work it (``session``)."""

    name = "connection"

    def __init__(self, *, backoff: float = 1.0, max_backoff: float = 60.0) -> None:
        self.backoff, self.max_backoff = backoff, max_backoff
        self.connections = 0  # sockets opened so far, for tests and logs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait(5)

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def prepare(self) -> None:
        """Called on the connection's loop before the first connection."""

    def open_connection(self) -> T | None:
        raise NotImplementedError

    async def session(self, target: T) -> None:
        raise NotImplementedError

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._started.set()
        self.prepare()
        await keep_connected(self.name.partition("-")[0], self._stop, self.open_connection, self.session,
                             self.backoff, self.max_backoff)
