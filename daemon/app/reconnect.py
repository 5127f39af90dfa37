"""Keeping an outbound chat connection up (DingTalk Stream mode, Feishu's long connection): open it,
work it until it ends or the service stops, and open it again after a growing pause. Neither SDK's own
loop can be stopped or bounds its waits, so the listeners run this one instead."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

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
