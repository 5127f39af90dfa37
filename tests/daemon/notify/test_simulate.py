"""`yuqing simulate`: DESIGN's red policy pinned exactly, quiet hours, periods, and no drift from the daemon."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from channels.model import Alert, ChannelSpec
from daemon import incidents
from daemon.config.notify import load_notify
from daemon.config.policy import QuietHours
from daemon.notify.escalation import Escalation
from daemon.notify.outbox import Rendered
from daemon.notify.simulate import format_timeline, simulate
from daemon.store import Store
from rules.county import SHANGHAI
from rules.model import ActivePeriod, Level, Location, Message, RuleMatch, Verdict

DATA = Path(__file__).parents[1] / "data" / "notify"
ENV = {"DINGTALK_TOKEN": "0123456789abcdef0123456789abcdef"}
AT = datetime(2026, 10, 1, 3, 0, tzinfo=SHANGHAI)  # National Day, at night

RED = """\
simulated red (红色) incident, category 征地拆迁, level reached 2026-10-01 03:00 Asia/Shanghai
assumes nobody acknowledges: an ack stops every step marked "unless acknowledged"

2026-10-01 03:00 (+0m)      step 1  new         值班、宣传部、领导小组 → 张三、王五、赵六 via sms, email, duty-group; deadline 2026-10-01 03:30
2026-10-01 03:15 (+15m)     step 2  escalation  领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 03:30 (+30m)     step 2  repeat 1    领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 03:45 (+45m)     step 2  repeat 2    领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 04:00 (+1h)      step 2  repeat 3    领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 04:15 (+1h15m)   step 2  repeat 4    领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 04:30 (+1h30m)   step 2  repeat 5    领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 04:45 (+1h45m)   step 2  repeat 6    领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 05:00 (+2h)      step 2  repeat 7    领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 05:15 (+2h15m)   step 2  repeat 8    领导小组 → 赵六 via sms; unless acknowledged
2026-10-01 05:30 (+2h30m)   step 2  repeat 9    领导小组 → 赵六 via sms; unless acknowledged
step 2 repeats every 15m until acknowledged: 86 more within 1d not listed

2026-10-01 Thursday: statutory holiday (National Day), not a working day
sensitive period 国庆 (raise 1) in force: applies only to rules with raise_in_period: true (red stays red: it is the highest level); other rules keep their level
"""  # noqa: E501


def test_designs_red_policy_timeline_is_pinned() -> None:
    notify = load_notify(DATA / "design-complete.yaml", env=ENV)
    timeline = simulate(notify, Level.RED, AT, category="征地拆迁", periods=(ActivePeriod("国庆", 1),))
    assert format_timeline(timeline) == RED


def test_quiet_hours_hold_yellow_but_never_red_and_periods_say_what_rises() -> None:
    notify = dataclasses.replace(load_notify(DATA / "design-complete.yaml", env=ENV),
                                 quiet=QuietHours(start=22 * 60, end=7 * 60))
    yellow = simulate(notify, Level.YELLOW, AT, periods=(ActivePeriod("国庆", 1),))
    assert [(e.at, e.held_from) for e in yellow.entries] == [
        (datetime(2026, 10, 1, 7, 0, tzinfo=SHANGHAI), AT),
        (datetime(2026, 10, 1, 7, 0, tzinfo=SHANGHAI), AT + timedelta(hours=1))]
    assert "held by quiet hours from 03:00" in format_timeline(yellow)
    assert any("yellow would be red and get the red policy" in note for note in yellow.notes)
    red = simulate(notify, Level.RED, AT)
    assert red.entries[0].at == AT
    assert red.entries[0].held_from is None
    assert "no sensitive period in force" in red.notes


def test_blue_goes_to_the_next_digest_and_a_working_saturday_is_named() -> None:
    notify = load_notify(DATA / "design-complete.yaml", env=ENV)
    saturday = datetime(2026, 10, 10, 9, 0, tzinfo=SHANGHAI)  # 调休: worked in exchange for National Day
    blue = simulate(notify, Level.BLUE, saturday)
    assert [(e.at, e.digest) for e in blue.entries] == [(datetime(2026, 10, 11, 8, 0, tzinfo=SHANGHAI), True)]
    assert blue.notes[0] == "2026-10-10 Saturday: working day (adjusted working day, 调休)"


def test_the_timeline_is_what_the_daemon_sends(tmp_path: Path) -> None:
    """Fire the real escalation timers at every minute of two hours: the same sends, at the same times."""
    notify = load_notify(DATA / "design-complete.yaml", env=ENV)
    horizon = timedelta(hours=2)
    timeline = simulate(notify, Level.RED, AT, horizon=horizon)
    store = Store(tmp_path / "state.db")

    def render(alert: Alert, spec: ChannelSpec) -> Rendered:
        return Rendered(alert.kind, spec.name)

    escalation = Escalation(notify, render)
    verdict = Verdict(Level.RED, (RuleMatch("gas", "燃气爆炸", "", Level.RED, Level.RED, (), Location("r", 1, 1)),))
    with store.transaction() as db:
        incident = incidents.open_incident(db, store, Message(id="m", source="weibo", text="燃气爆炸"), verdict, AT)
        escalation.schedule(db, incident)
    sends: list[tuple[datetime, str, str]] = []
    for minute in range(int(horizon.total_seconds() // 60) + 1):
        now = AT + timedelta(minutes=minute)
        before = {r["id"] for r in store.query("SELECT id FROM outbox")}
        escalation.fire_due(store, now)
        sends += [(now, r["title"], r["channel"]) for r in store.query("SELECT * FROM outbox ORDER BY id")
                  if r["id"] not in before]
    expected = [(e.at, e.kind, channel) for e in timeline.entries for channel in e.via]
    assert sorted(sends) == sorted(expected)
