"""Silences: who muted what, until when; they end by themselves and are listed while in force."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from channels.directory import Directory
from channels.model import Alert, ChannelSpec, Person
from daemon import incidents
from daemon.app.cli import main
from daemon.config.policy import NotifyConfig, Policy, Step
from daemon.notify import silences
from daemon.notify.escalation import Escalation
from daemon.notify.outbox import Rendered
from daemon.store import Store
from rules.model import Level, Location, Message, RuleMatch, Verdict

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def open_one(store: Store, rule: str = "gas", category: str = "燃气安全") -> incidents.Incident:
    verdict = Verdict(Level.RED, (RuleMatch(rule, "燃气爆炸", category, Level.RED, Level.RED, (),
                                            Location("r.yaml", 1, 1)),))
    with store.transaction() as db:
        return incidents.open_incident(db, store, Message(id=f"m-{rule}", source="weibo", text="燃气爆炸"),
                                       verdict, T0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def test_a_silence_mutes_its_rule_category_or_incident_until_it_ends(store: Store) -> None:
    gas, land = open_one(store), open_one(store, "land", "征地拆迁")
    until = T0 + timedelta(hours=2)
    by_rule = silences.add(store, "rule", "gas", until, "li", "规则误报，正在修改", T0)
    assert silences.active(store.db, gas, T0) == by_rule
    assert silences.active(store.db, land, T0) is None
    by_category = silences.add(store, "category", "征地拆迁", until, "li", "已在处置", T0)
    assert silences.active(store.db, land, T0 + timedelta(minutes=30)) == by_category
    assert silences.active(store.db, land, until) is None  # ends by itself, at ``until``
    assert silences.current(store.db, until) == []
    by_incident = silences.add(store, "incident", land.id, until, "li", "重复事件", T0)
    assert silences.covers(by_incident, land, T0)
    assert not silences.covers(by_incident, gas, T0)


def test_removal_is_kept_and_audited(store: Store) -> None:
    incident = open_one(store)
    silence = silences.add(store, "incident", incident.id, T0 + timedelta(hours=1), "li", "核实中", T0)
    removed = silences.remove(store, silence.id, "zhang", T0 + timedelta(minutes=5))
    assert removed.removed_by == "zhang"
    assert not removed.in_force(T0 + timedelta(minutes=6))
    assert silences.active(store.db, incident, T0 + timedelta(minutes=6)) is None
    actions = [(r["actor"], r["action"]) for r in store.query("SELECT actor, action FROM audit ORDER BY id")]
    assert actions == [("li", "silence"), ("zhang", "unsilence")]


@pytest.mark.parametrize(("kind", "target", "until", "by", "reason", "error"), [
    ("rule", "gas", T0 - timedelta(minutes=1), "li", "x", "is not in the future"),
    ("rule", "gas", T0 + timedelta(hours=1), "li", " ", "needs --by and --reason"),
    ("team", "gas", T0 + timedelta(hours=1), "li", "x", 'unknown silence kind "team"'),
])
def test_a_silence_needs_a_future_end_and_a_reason(store: Store, kind: str, target: str, until: datetime,
                                                   by: str, reason: str, error: str) -> None:
    with pytest.raises(silences.SilenceError, match=error):
        silences.add(store, kind, target, until, by, reason, T0)


def test_an_unknown_incident_is_refused_not_silently_muted(store: Store) -> None:
    with pytest.raises(incidents.IncidentError):
        silences.add(store, "incident", "YQ-20261123-0099", T0 + timedelta(hours=1), "li", "x", T0)


def test_the_silence_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "notify.yaml").write_text("channels: {c: 'console://'}\npolicies: {}\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(textwrap.dedent("""\
        state_dir: ./var
        rules: ./rules
        notify: ./notify.yaml
        """), encoding="utf-8")
    c = ["-c", str(config)]
    assert main(["silence", "add", *c, "--category", "征地拆迁", "--until", "2099-11-24T08:00", "--by", "li",
                 "--reason", "已在处置"]) == 0
    assert "added #1 category 征地拆迁 until 2099-11-24 08:00 by li: 已在处置" in capsys.readouterr().out
    assert main(["silence", "list", *c]) == 0
    assert capsys.readouterr().out == "#1 category 征地拆迁 until 2099-11-24 08:00 by li: 已在处置\n"
    assert main(["silence", "add", *c, "--rule", "gas", "--until", "2h", "--by", "li", "--reason", "误报"]) == 0
    assert main(["silence", "remove", *c, "1", "--by", "li"]) == 0
    capsys.readouterr()
    assert main(["silence", "list", *c, "--json"]) == 0
    assert '"target": "gas"' in capsys.readouterr().out
    assert main(["silence", "add", *c, "--rule", "gas", "--until", "yesterday", "--by", "li", "--reason", "x"]) == 1
    assert "neither a time" in capsys.readouterr().err


def test_a_silenced_incident_is_not_notified_and_resumes_when_the_silence_ends(store: Store) -> None:
    here = Location("notify.yaml", 1, 1)
    notify = NotifyConfig(
        channels={"sms": ChannelSpec("sms", "sms://x", "phone")},
        directory=Directory({"zhao": Person("zhao", "赵六", phone="13800000004")}, {"领导小组": ("zhao",)}),
        policies={Level.RED: Policy(Level.RED, (Step(("领导小组",), ("sms",), here, unless_acknowledged=True,
                                                     repeat=timedelta(minutes=15)),))})

    def render(alert: Alert, spec: ChannelSpec) -> Rendered:
        return Rendered(alert.kind, spec.name)

    escalation = Escalation(notify, render)
    incident = open_one(store)
    with store.transaction() as db:
        escalation.schedule(db, incident)
    silences.add(store, "category", "燃气安全", T0 + timedelta(minutes=20), "li", "现场已在处置", T0)
    for minutes in (0, 15, 30):
        escalation.fire_due(store, T0 + timedelta(minutes=minutes))
    rounds = [r["id"].split(":")[3] for r in store.query("SELECT id FROM outbox ORDER BY id")]
    assert rounds == ["2"]  # rounds 0 and 1 fell in the silence; round 2 (+30m) went out
