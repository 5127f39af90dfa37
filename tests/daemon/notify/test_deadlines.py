"""Deadlines, quiet hours, the SMS limit, routes and the rota on a fake clock against a real store."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from channels.directory import Directory
from channels.model import Alert, ChannelSpec, Person
from daemon import incidents
from daemon.clock import FakeClock
from daemon.config.policy import Deadline, NotifyConfig, Policy, QuietHours, Route, SmsLimit, Step
from daemon.config.rota import Rota, Shift
from daemon.notify import deadlines
from daemon.notify.escalation import Escalation, decide
from daemon.notify.outbox import Rendered
from daemon.store import Store
from rules.model import Level, Location, Message, RuleMatch, Verdict

HERE = Location("notify.yaml", 1, 1)
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
MIN = timedelta(minutes=1)

PEOPLE = {k: Person(k, k.upper(), phone=f"1380000000{i}", email=f"{k}@example.gov.cn")
          for i, k in enumerate(("liu", "chen", "zhao", "he"))}


def config(**changes: object) -> NotifyConfig:
    base = NotifyConfig(
        channels={"email": ChannelSpec("email", "mailto://x", "email"), "sms": ChannelSpec("sms", "sms://x", "phone")},
        directory=Directory(PEOPLE, {"值班": ("liu",), "领导小组": ("zhao",), "纪委监委": ("he",)}),
        policies={level: Policy(level, (Step(("值班",), ("sms",), HERE),)) for level in Level if level > Level.NONE},
        deadlines=(Deadline("核实研判", HERE, ("值班",), ("sms",), within=30 * MIN, levels=frozenset({Level.RED}),
                            remind=(10 * MIN,), escalate=("领导小组",), escalate_via=("email",)),
                   Deadline("办结答复", HERE, ("值班",), ("email",), workdays=5, met_by="resolved", remind=(),
                            sources=frozenset({"board"}))),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def render(alert: Alert, spec: ChannelSpec) -> Rendered:
    return Rendered(f"{alert.kind}:{alert.title}", "\n".join(alert.reasons))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def open_one(store: Store, escalation: Escalation, level: Level, now: datetime, source: str = "weibo",
             category: str = "燃气安全", n: int = 0) -> incidents.Incident:
    message = Message(id=f"m-{level}-{n}", source=source, text=f"城东燃气爆炸{n}")
    verdict = Verdict(level, (RuleMatch("gas", "燃气爆炸", category, level, level, (), HERE),))
    with store.transaction() as db:
        incident = incidents.open_incident(db, store, message, verdict, now)
        escalation.schedule(db, incident)
    return incident


def sent(store: Store, like: str = "%") -> list[tuple[str, str, list[str]]]:
    return [(r["id"].split(":", 1)[1], r["title"], [p["key"] for p in json.loads(r["recipients"])])
            for r in store.query("SELECT * FROM outbox WHERE id LIKE ? ORDER BY created_at, id", (like,))]


def run(store: Store, escalation: Escalation, clock: FakeClock, until: timedelta, step: timedelta = MIN) -> None:
    end = clock.now() + until
    while clock.now() < end:
        clock.advance(step)
        escalation.fire_due(store, clock.now())


def test_red_deadline_reminds_before_and_at_and_escalates_when_missed(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(config(), render)
    incident = open_one(store, escalation, Level.RED, clock.now())
    assert incidents.get(store.db, incident.id).deadline_at == T0 + 30 * MIN
    run(store, escalation, clock, 19 * MIN)
    assert sent(store, "%deadline%") == []
    run(store, escalation, clock, 1 * MIN)
    assert sent(store, "%deadline%") == [("deadline:1:0:sms", "new:核实研判时限提醒：燃气爆炸", ["liu"])]
    run(store, escalation, clock, 10 * MIN)
    assert sent(store, "%deadline%")[1:] == [
        ("deadline:1:1:escalate:email", "escalation:核实研判时限已过：燃气爆炸", ["zhao"]),
        ("deadline:1:1:sms", "escalation:核实研判时限已过：燃气爆炸", ["liu"])]
    body = store.one("SELECT body FROM outbox WHERE id LIKE '%deadline:1:0:sms'")["body"]  # type: ignore[index]
    assert body.startswith("核实研判须于11-23 10:30前完成，还剩10分钟。")
    [outcome] = deadlines.outcomes(store, clock.now())
    assert (outcome.name, outcome.state, outcome.due_at, outcome.met_at) == ("核实研判", "missed", T0 + 30 * MIN, None)
    incidents.acknowledge(store, incident.id, "liu", clock.now())  # late: recorded as done, still missed
    [outcome] = deadlines.outcomes(store, clock.now())
    assert (outcome.state, outcome.met_at) == ("missed", clock.now())
    assert escalation.fire_due(store, clock.now() + timedelta(days=1)) == 0  # nothing left, nothing twice


def test_an_acknowledgement_meets_the_deadline_and_stops_its_reminders(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(config(), render)
    incident = open_one(store, escalation, Level.RED, clock.now())
    run(store, escalation, clock, 5 * MIN)
    assert deadlines.outcomes(store, clock.now())[0].state == "pending"
    incidents.acknowledge(store, incident.id, "liu", clock.now())
    run(store, escalation, clock, 40 * MIN)
    assert sent(store, "%deadline%") == []
    [outcome] = deadlines.outcomes(store, clock.now())
    assert (outcome.state, outcome.met_at) == ("met", T0 + 5 * MIN)
    assert store.one("SELECT outcome FROM deadlines")["outcome"] == "met"  # type: ignore[index]


def test_working_day_deadline_skips_the_weekend_and_a_rise_supersedes(store: Store) -> None:
    clock = FakeClock(T0 + timedelta(days=4))  # Friday 10:00
    escalation = Escalation(config(), render)
    incident = open_one(store, escalation, Level.BLUE, clock.now(), source="board")
    [outcome] = deadlines.outcomes(store, clock.now())
    assert outcome.due_at == datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # the next Friday, 10:00
    clock.advance(timedelta(hours=1))
    with store.transaction() as db:
        verdict = Verdict(Level.RED, (RuleMatch("gas", "燃气爆炸", "燃气安全", Level.RED, Level.RED, (), HERE),))
        escalation.schedule(db, incidents.raise_level(db, incident, verdict, clock.now()))
    states = [(o.level, o.name, o.state) for o in deadlines.outcomes(store, clock.now() + timedelta(days=30))]
    assert states == [("red", "核实研判", "missed"), ("blue", "办结答复", "superseded"), ("red", "办结答复", "missed")]


def test_decide_deadline_is_pure() -> None:
    alert = Alert("YQ-1", "red", "红色", "t")
    base = incidents.Incident("YQ-1", Level.RED, "open", "t", "", (), T0, T0, alert)
    deadline = config().deadlines[0]
    due = T0 + 30 * MIN
    assert deadlines.decide(deadline, base, Level.RED, due, T0 + 20 * MIN).action == "remind"
    missed = deadlines.decide(deadline, base, Level.RED, due, due)
    assert (missed.action, missed.escalate, missed.escalate_via) == ("missed", ("领导小组",), ("email",))
    acked = dataclasses.replace(base, acked_at=T0 + MIN)
    assert deadlines.decide(deadline, acked, Level.RED, due, due).action == "met"
    assert deadlines.decide(deadline, base, Level.YELLOW, due, due).action == "skip"
    assert deadlines.reminder_times(deadline, T0) == [T0 + 20 * MIN, due]


def test_quiet_hours_hold_back_yellow_not_red(store: Store) -> None:
    night = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    clock = FakeClock(night)
    escalation = Escalation(config(quiet=QuietHours(22 * 60, 7 * 60), deadlines=()), render)
    open_one(store, escalation, Level.YELLOW, clock.now(), n=1)
    open_one(store, escalation, Level.RED, clock.now(), n=2)
    escalation.fire_due(store, clock.now())
    assert [i for i, _, _ in sent(store)] == ["red:0:0:sms"]
    clock.advance(timedelta(hours=7, minutes=59))  # 06:59
    escalation.fire_due(store, clock.now())
    assert len(sent(store)) == 1
    clock.advance(MIN)  # 07:00: the morning brings the yellow one, once
    escalation.fire_due(store, clock.now())
    escalation.fire_due(store, clock.now() + timedelta(hours=1))
    assert [i for i, _, _ in sent(store)] == ["red:0:0:sms", "yellow:0:0:sms"]


def test_sms_limit_moves_yellow_to_email_but_never_holds_red(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(config(sms_limit=SmsLimit(2, "email"), deadlines=()), render)
    for n in range(3):
        open_one(store, escalation, Level.YELLOW, clock.now(), n=n)
    open_one(store, escalation, Level.RED, clock.now(), n=9)
    escalation.fire_due(store, clock.now())
    channels = [i.rsplit(":", 1)[-1] if "over-limit" not in i else "email>" for i, _, _ in sent(store)]
    assert channels == ["sms", "sms", "email>", "sms"]
    clock.advance(timedelta(minutes=61))  # an hour later the limit has room again
    open_one(store, escalation, Level.YELLOW, clock.now(), n=4)
    escalation.fire_due(store, clock.now())
    assert sent(store)[-1][0].endswith(":sms")


def test_routes_and_rota_join_the_first_step_at_firing_time(store: Store) -> None:
    night = Shift("夜班", ("chen",), 17 * 60 + 30, 15 * 60, HERE)
    clock = FakeClock(T0)
    rota = Rota("值班", (Shift("白班", ("liu",), 8 * 60 + 30, 9 * 60, HERE), night), HERE)
    routes = (Route("纪委监委", "涉贫", HERE),)
    escalation = Escalation(config(routes=routes, rotas={"值班": rota}, deadlines=()), render)
    open_one(store, escalation, Level.RED, clock.now(), category="涉贫")
    clock.advance(timedelta(hours=10))  # fired late, at 20:00: the night shift is on duty
    escalation.fire_due(store, clock.now())
    assert sent(store) == [("red:0:0:sms", "new:燃气爆炸", ["chen", "he"])]
    step = Step(("值班",), ("sms",), HERE)
    incident = incidents.get(store.db, "YQ-20261123-0001")
    assert decide(step, 0, incident, Level.RED, 0, T0).teams == ("值班",)
    assert decide(step, 0, incident, Level.RED, 0, T0, config(routes=routes)).teams == ("值班", "纪委监委")


def test_after_downtime_past_a_deadline_only_the_missed_notice_goes_not_every_reminder(store: Store) -> None:
    clock = FakeClock(T0)
    escalation = Escalation(config(), render)
    open_one(store, escalation, Level.RED, clock.now())
    clock.advance(timedelta(hours=2))  # down across the 10-minute reminder and the deadline
    escalation.fire_due(store, clock.now())
    assert [title for _, title, _ in sent(store, "%deadline%")] == [
        "escalation:核实研判时限已过：燃气爆炸", "escalation:核实研判时限已过：燃气爆炸"]  # team and escalation
    outcomes = [r["outcome"] for r in store.query("SELECT outcome FROM timers WHERE kind = 'deadline' ORDER BY round")]
    assert outcomes == ["skipped:a later reminder is due too", "missed:2"]
