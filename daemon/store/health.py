"""Whether the state database takes writes: a full disk, or another writer holding it past the busy timeout.

Every thread shares one ``StoreHealth``. The first failed write of an episode is logged once at error;
the first write that succeeds again ends it. While it lasts the service claims no new work, and the
outbox keeps what it delivered in memory instead of delivering it again (daemon/notify/outbox.py).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from daemon.clock import Clock

log = structlog.get_logger(__name__)

# Primary result codes that say "cannot write now", not "this statement is wrong".
UNWRITABLE_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
                              sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN})


QUIET = timedelta(hours=1)  # after telling the admin team, stay quiet this long about new episodes


class StoreUnwritable(sqlite3.OperationalError):
    """A write transaction failed because the store cannot be written now; it may come back by itself."""


def is_unwritable(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, StoreUnwritable) or (code is not None and code & 0xFF in UNWRITABLE_CODES)


@dataclass(frozen=True)
class Trouble:
    """One episode of an unwritable store: why, and since when (wall clock, for people to read)."""

    reason: str
    since: datetime


class StoreHealth:
    """A store that flaps (a disk nearly full) tells the admin team at most once per ``QUIET`` period,
    like Alertmanager's group_interval: each episode is logged, but only announced ones are announced
    as over."""

    def __init__(self, path: Path, clock: Clock, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._trouble: Trouble | None = None
        self._unannounced: Trouble | None = None  # the admin notice for this episode is still to go
        self._announced: Trouble | None = None  # the episode the admin team was told of
        self._announced_at = float("-inf")
        self._ended: Trouble | None = None  # an announced episode over, its end still to announce

    @property
    def writable(self) -> bool:
        return self._trouble is None

    @property
    def trouble(self) -> Trouble | None:
        return self._trouble

    def failed(self, exc: sqlite3.Error) -> None:
        with self._lock:
            if self._trouble is not None:
                return
            self._trouble = Trouble(str(exc), self.clock.now())
            if self.monotonic() - self._announced_at >= QUIET.total_seconds():
                self._unannounced = self._trouble
        log.error("store.unwritable", path=str(self.path), reason=str(exc),
                  hint="free disk space, or find the process holding the database; new work waits, nothing"
                       " already sent is sent again")

    def succeeded(self) -> None:
        if self._trouble is None:  # the usual case, without taking the lock
            return
        with self._lock:
            trouble, self._trouble, self._unannounced = self._trouble, None, None
            if trouble is not None and trouble is self._announced:
                self._ended = trouble
        if trouble is not None:
            down = (self.clock.now() - trouble.since).total_seconds()
            log.warning("store.writable", path=str(self.path), was=trouble.reason, down_s=round(down, 1))

    def take_unannounced(self) -> Trouble | None:
        """The current episode, once: for the one admin notice about it."""
        with self._lock:
            trouble, self._unannounced = self._unannounced, None
            if trouble is not None:
                self._announced, self._announced_at = trouble, self.monotonic()
            return trouble

    def take_ended(self) -> Trouble | None:
        """An episode that has ended, once: for the notice that all is well again."""
        with self._lock:
            trouble, self._ended = self._ended, None
            return trouble
