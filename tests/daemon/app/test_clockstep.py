"""A wall clock stepped back by 2 h, on injected wall and monotonic clocks, against a real store."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from channels.model import ChannelSpec, Outcome, Result
from daemon.app.clockstep import move_pending
from daemon.clock import ClockWatch, FakeClock
from daemon.notify.delivery import Outbox
from daemon.notify.escalation import Escalation
from daemon.store import Store
from rules.model import Level
from tests.daemon.notify.test_escalation import T0, notify_config, open_one, outbox, render


def test_a_backward_step_of_two_hours_stalls_no_timer_and_no_retry(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    clock = FakeClock(T0)
    elapsed = [0.0]
    watch = ClockWatch(clock, lambda: elapsed[0])
    escalation = Escalation(notify_config(), render)
    open_one(store, escalation, Level.RED, clock.now())
    assert escalation.fire_due(store, clock.now()) == 1  # step 0 now; step 1 waits 15 minutes
    attempts: list[str] = []

    def refuse(_spec: ChannelSpec, notification: object) -> Result:
        attempts.append(str(notification))
        return Result(Outcome.RETRY, "503")

    box = Outbox(store, {"sms": ChannelSpec("sms", "sms://x", "phone"), "email": ChannelSpec("email", "mailto://x")},
                 refuse, random.Random(1))
    box.deliver_due(clock.now)  # both fail: retried in about 5 s

    def advance(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        elapsed[0] += seconds

    advance(600)
    assert watch.step() is None
    box.deliver_due(clock.now)
    tried = len(attempts)
    clock.advance(timedelta(hours=-2))  # NTP steps the clock back
    elapsed[0] += 1
    step = watch.step()
    assert step is not None
    assert abs(step + timedelta(hours=2, seconds=1)) < timedelta(seconds=1)
    with store.transaction() as db:
        moved = move_pending(db, step)
    assert moved["timers"] >= 1
    assert moved["outbox"] == 2

    advance(5 * 60 + 1)  # 15 minutes after step 0 by the monotonic clock
    assert escalation.fire_due(store, clock.now()) == 1
    assert "escalation:red:燃气爆炸" in [t for _, t in outbox(store)]
    box.deliver_due(clock.now)
    assert len(attempts) > tried  # retries go on too


def test_small_jitter_is_not_a_step() -> None:
    clock = FakeClock(T0)
    elapsed = [0.0]
    watch = ClockWatch(clock, lambda: elapsed[0])
    clock.advance(timedelta(seconds=62))
    elapsed[0] += 60
    assert watch.step() is None
    clock.advance(timedelta(hours=1))
    assert watch.step() == timedelta(hours=1)  # forward: reported, nothing moved by the service
