"""StoreHealth on injected clocks: one admin notice per episode, and a flapping store is not a storm."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.clock import FakeClock
from daemon.store.health import QUIET, StoreHealth, StoreUnwritable, is_unwritable

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def full() -> sqlite3.OperationalError:
    return StoreUnwritable("database or disk is full")


def test_a_flapping_store_is_announced_once_per_quiet_period(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    elapsed = [0.0]
    health = StoreHealth(tmp_path / "s.db", clock, lambda: elapsed[0])
    health.failed(full())
    first = health.take_unannounced()
    assert first is not None
    assert first.since == T0
    health.failed(full())  # the same episode
    assert health.take_unannounced() is None
    health.succeeded()
    assert health.take_ended() == first
    for _ in range(20):  # a disk nearly full: writes fail and succeed in turn
        elapsed[0] += 60
        health.failed(full())
        health.succeeded()
    assert health.take_unannounced() is None
    assert health.take_ended() is None  # nobody was told of those, so nobody is told they ended
    elapsed[0] += QUIET.total_seconds()
    clock.advance(timedelta(hours=2))
    health.failed(full())
    again = health.take_unannounced()
    assert again is not None
    assert again.since == T0 + timedelta(hours=2)


def test_only_errors_that_say_cannot_write_now_count() -> None:
    assert is_unwritable(full())
    conn = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as wrong:
        conn.execute("SELECT nope FROM nowhere")
    assert not is_unwritable(wrong.value)  # a wrong statement is a bug, not a full disk
