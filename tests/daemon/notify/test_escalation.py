"""Escalation on a fake clock against a real SQLite store: steps, repeats, acks, digests, no doubles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from channels.directory import Directory
from channels.model import Alert, ChannelSpec, Person
from daemon import incidents
from daemon.clock import FakeClock
from daemon.config.policy import NotifyConfig, Policy, Step
from daemon.notify.escalation import Escalation, decide
from daemon.notify.outbox import Rendered
from daemon.store import Store
from rules.model import Level, Location, Message, RuleMatch, Verdict

HERE = Location("notify.yaml", 1, 1)
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def notify_config() -> NotifyConfig:
    people = {"zhang": Person("zhang", "张三", phone="13800000001", email="zhang@example.gov.cn"),
              "zhao": Person("zhao", "赵六", phone="13800000004", email="zhao@example.gov.cn")}
    return NotifyConfig(
        channels={"email": ChannelSpec("email", "mailto://x", "email"), "sms": ChannelSpec("sms", "sms://x", "phone")},
        directory=Directory(people, {"值班": ("zhang",), "领导小组": ("zhao",)}),
        policies={
            Level.RED: Policy(Level.RED, (
                Step(("值班",), ("sms", "email"), HERE, deadline=timedelta(minutes=30)),
                Step(("领导小组",), ("sms",), HERE, after=timedelta(minutes=15), unless_acknowledged=True,
                     repeat=timedelta(minutes=15)),
            )),
            Level.BLUE: Policy(Level.BLUE, (Step(("值班",), ("email",), HERE, digest="daily"),)),
        },
    )


def render(alert: Alert, spec: ChannelSpec) -> Rendered:
    return Rendered(f"{alert.kind}:{alert.level}:{alert.title}", f"{spec.name}:{alert.incident_id}")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def open_one(store: Store, escalation: Escalation, level: Level, now: datetime) -> incidents.Incident:
    message = Message(id=f"m-{level}", source="weibo", text="城东燃气爆炸")
    verdict = Verdict(level, (RuleMatch("gas", "燃气爆炸", "燃气安全", level, level, (), HERE),))
    with store.transaction() as db:
        incident = incidents.open_incident(db, store, message, verdict, now)
        escalation.schedule(db, incident)
    return incident


def outbox(store: Store) -> list[tuple[str, str]]:
    return [(r["id"], r["title"]) for r in store.query("SELECT id, title FROM outbox ORDER BY created_at, id")]


def test_red_escalates_and_repeats_until_acknowledged(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(notify_config(), render)
    incident = open_one(store, escalation, Level.RED, clock.now())
    assert incident.id == "YQ-20261123-0001"
    assert incidents.get(store.db, incident.id).deadline_at == T0 + timedelta(minutes=30)

    assert escalation.fire_due(store, clock.now()) == 1
    assert sorted(i for i, _ in outbox(store)) == [f"{incident.id}:red:0:0:email", f"{incident.id}:red:0:0:sms"]
    assert escalation.fire_due(store, clock.now()) == 0  # nothing fires twice

    clock.advance(timedelta(minutes=15))
    escalation.fire_due(store, clock.now())
    clock.advance(timedelta(minutes=15))
    escalation.fire_due(store, clock.now())
    titles = [t for _, t in outbox(store)]
    assert titles[2:] == ["escalation:red:燃气爆炸", "repeat:red:燃气爆炸"]

    incidents.acknowledge(store, incident.id, "zhao", clock.now())
    clock.advance(timedelta(minutes=15))
    escalation.fire_due(store, clock.now())
    assert len(outbox(store)) == 4
    outcomes = [r["outcome"] for r in store.query("SELECT outcome FROM timers WHERE kind='step' ORDER BY id")]
    assert outcomes[-1] == "skipped:acknowledged"
    assert store.one("SELECT count(*) FROM timers WHERE fired_at IS NULL AND kind='step'")[0] == 0  # type: ignore[index]


def test_resolve_cancels_pending_timers(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(notify_config(), render)
    incident = open_one(store, escalation, Level.RED, clock.now())
    escalation.fire_due(store, clock.now())
    incidents.resolve(store, incident.id, "zhang", clock.now(), "已处置")
    clock.advance(timedelta(hours=2))
    assert escalation.fire_due(store, clock.now()) == 0
    assert len(outbox(store)) == 2
    assert store.one("SELECT action FROM audit")["action"] == "resolve"  # type: ignore[index]


def test_blue_waits_for_the_daily_digest(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(notify_config(), render)
    with store.transaction() as db:
        escalation.schedule_digest(db, clock.now())
    open_one(store, escalation, Level.BLUE, clock.now())
    escalation.fire_due(store, clock.now())
    assert outbox(store) == []
    clock.advance(timedelta(hours=22))  # 08:00 next morning in Shanghai
    escalation.fire_due(store, clock.now())
    assert [t for _, t in outbox(store)] == ["digest:blue:2026-11-24 蓝色舆情汇总（1条）"]
    due = store.query("SELECT due_at FROM timers WHERE kind='digest' AND fired_at IS NULL")
    assert len(due) == 1  # the next day's digest is already scheduled


def test_decide_is_pure_and_skips_what_no_longer_applies() -> None:
    step = Step(("领导小组",), ("sms",), HERE, unless_acknowledged=True, repeat=timedelta(minutes=15),
                until=timedelta(minutes=40))
    alert = Alert("YQ-1", "red", "红色", "t")
    base = incidents.Incident("YQ-1", Level.RED, "open", "t", "", ("宣传部",), T0, T0, alert)
    assert decide(step, 1, base, Level.RED, 0, T0).next_due == T0 + timedelta(minutes=15)
    assert decide(step, 1, base, Level.RED, 2, T0 + timedelta(minutes=30)).next_due is None  # past until
    assert decide(step, 1, base, Level.RED, 0, T0).teams == ("领导小组",)
    assert decide(step, 0, base, Level.RED, 0, T0).teams == ("领导小组", "宣传部")
    acked = incidents.Incident("YQ-1", Level.RED, "acknowledged", "t", "", (), T0, T0, alert, acked_at=T0)
    assert decide(step, 1, acked, Level.RED, 0, T0).reason == "acknowledged"
    assert decide(step, 1, base, Level.YELLOW, 0, T0).reason == "superseded by a level change"
    assert decide(None, 5, base, Level.RED, 0, T0).action == "skip"


def repeating_config(repeat: timedelta, until: timedelta | None = None) -> NotifyConfig:
    people = {"zhang": Person("zhang", "张三", email="zhang@example.gov.cn")}
    return NotifyConfig(
        channels={"email": ChannelSpec("email", "mailto://x", "email")},
        directory=Directory(people, {"值班": ("zhang",)}),
        policies={Level.RED: Policy(Level.RED, (
            Step(("值班",), ("email",), HERE, after=timedelta(minutes=1), repeat=repeat, until=until),))})


def render_missed(alert: Alert, spec: ChannelSpec) -> Rendered:
    return Rendered(f"{alert.kind}:{alert.missed}", spec.name)


def fire_all(escalation: Escalation, store: Store, now: datetime) -> int:
    fired = total = escalation.fire_due(store, now)
    while fired and total < 1000:
        fired = escalation.fire_due(store, now)
        total += fired
    return total


def pending_due(store: Store) -> list[float]:
    return [r["due_at"] for r in store.query("SELECT due_at FROM timers WHERE fired_at IS NULL AND kind = 'step'")]


def test_repeats_missed_over_a_forward_jump_coalesce_into_one_notice_and_count_from_now(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(repeating_config(timedelta(seconds=20)), render_missed)
    open_one(store, escalation, Level.RED, clock.now())
    clock.advance(timedelta(minutes=1))
    assert fire_all(escalation, store, clock.now()) == 1
    assert [t for _, t in outbox(store)] == ["new:0"]

    clock.advance(timedelta(hours=1))  # downtime, or the clock stepped forward
    fire_all(escalation, store, clock.now())
    assert [t for _, t in outbox(store)] == ["new:0", "repeat:179"]  # not 180 notices: one, saying so
    assert pending_due(store) == [(clock.now() + timedelta(seconds=20)).timestamp()]  # from now

    clock.advance(timedelta(seconds=20))
    fire_all(escalation, store, clock.now())
    assert [t for _, t in outbox(store)][-1] == "repeat:0"  # on time again: nothing missed


def test_missed_repeats_count_only_those_within_until(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(repeating_config(timedelta(minutes=10), until=timedelta(minutes=30)), render_missed)
    open_one(store, escalation, Level.RED, clock.now())
    clock.advance(timedelta(minutes=1))
    fire_all(escalation, store, clock.now())
    clock.advance(timedelta(hours=5))
    fire_all(escalation, store, clock.now())
    # Round 1 (+11 min) goes, saying round 2 (+21) was missed; +31 would be past until.
    assert [t for _, t in outbox(store)] == ["new:0", "repeat:1"]
    assert pending_due(store) == []

