"""Time is injected, never read inside logic, so tests can drive escalation on a fake clock.

This is the one module that reads the wall clock (ruff's banned-api in pyproject.toml keeps it so): the
service reads ``now`` from its Clock once per tick and passes it down, each CLI command once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from rules.county import SHANGHAI


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware current time."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


STEP_TOLERANCE = timedelta(seconds=5)  # less than this is scheduling jitter, not a clock step


class ClockWatch:
    """Notices the wall clock stepping (an NTP correction, a clock set by hand) by comparing how far it
    moved with how far the monotonic clock did. Waiting is measured on the monotonic clock; the wall
    clock is what people read and what the store records."""

    def __init__(self, clock: Clock, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.monotonic = monotonic
        self._wall, self._mono = clock.now(), monotonic()

    def step(self) -> timedelta | None:
        """How far the wall clock jumped since the last call (negative: backwards), or None."""
        wall, mono = self.clock.now(), self.monotonic()
        jump = wall - (self._wall + timedelta(seconds=mono - self._mono))
        self._wall, self._mono = wall, mono
        return jump if abs(jump) > STEP_TOLERANCE else None


_stamp_lock = threading.Lock()
_last_stamp = 0


def unique_stamp() -> int:
    """Wall-clock nanoseconds, strictly increasing within the process: for names that must sort in the
    order they were made and never repeat, across restarts too (spool files). Not for logic: that takes
    the injected ``now``; a fake clock here would hand out the same name twice."""
    global _last_stamp
    with _stamp_lock:
        _last_stamp = max(time.time_ns(), _last_stamp + 1)
        return _last_stamp


def to_epoch(at: datetime) -> float:
    return at.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def local(at: datetime) -> datetime:
    """Asia/Shanghai, the time shown to people."""
    return at.astimezone(SHANGHAI)
