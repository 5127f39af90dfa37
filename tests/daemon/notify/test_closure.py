"""已处置 notices: everyone told about a resolved incident hears so once, on the channels that reached them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from channels.directory import Directory
from channels.model import Alert, ChannelSpec, Person
from daemon import incidents
from daemon.config.policy import NotifyConfig
from daemon.notify import closure
from daemon.notify.outbox import Rendered
from daemon.store import Store, dumps
from rules.model import Level, Location, Message, RuleMatch, Verdict

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PEOPLE = {"zhang": Person("zhang", "张三", "值班员"), "zhao": Person("zhao", "赵六")}
NOTIFY = NotifyConfig(channels={"sms": ChannelSpec("sms", "sms://x", "phone"), "group": ChannelSpec("group", "g://")},
                      directory=Directory(PEOPLE, {}), policies={})


def render(alert: Alert, spec: ChannelSpec) -> Rendered:
    return Rendered(f"{alert.kind}:{alert.title}", f"{spec.name}:{alert.excerpt}")


def sent(store: Store, incident_id: str, key: str, channel: str, people: list[str], status: str = "sent") -> None:
    recipients = dumps([{"key": k, "name": PEOPLE[k].name} for k in people])
    with store.transaction() as db:
        db.execute("INSERT INTO outbox (id, incident_id, channel, recipients, title, body, status, next_attempt_at,"
                   " created_at) VALUES (?, ?, ?, ?, 't', 'b', ?, 0, 0)", (key, incident_id, channel, recipients,
                                                                          status))


def test_everyone_told_hears_once_per_channel(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    assert closure.announce(store, NOTIFY, render, T0) == 0  # first run: sets the watermark
    verdict = Verdict(Level.RED, (RuleMatch("gas", "燃气爆炸", "燃气安全", Level.RED, Level.RED, (),
                                            Location("r.yaml", 1, 1)),))
    with store.transaction() as db:
        incident = incidents.open_incident(db, store, Message(id="m", source="weibo", text="燃气爆炸"), verdict, T0)
    sent(store, incident.id, "a", "sms", ["zhang"])
    sent(store, incident.id, "b", "sms", ["zhang", "zhao"])
    sent(store, incident.id, "c", "group", ["zhang"])
    sent(store, incident.id, "d", "email", ["zhao"], status="failed")  # never reached: not told
    incidents.resolve(store, incident.id, "zhang", T0 + timedelta(minutes=40), "已联系当事人，现场恢复")
    assert closure.announce(store, NOTIFY, render, T0 + timedelta(minutes=41)) == 2
    rows = store.query("SELECT id, channel, recipients, title, body FROM outbox WHERE id LIKE '%:resolved:%'"
                       " ORDER BY channel")
    assert [(r["id"], r["title"]) for r in rows] == [(f"{incident.id}:resolved:0:group", "resolved:燃气爆炸"),
                                                     (f"{incident.id}:resolved:0:sms", "resolved:燃气爆炸")]
    assert rows[1]["body"] == "sms:已由张三（值班员）于2026-11-23 10:40处置：已联系当事人，现场恢复"
    assert [p["key"] for p in json.loads(rows[1]["recipients"])] == ["zhang", "zhao"]
    incidents.resolve(store, incident.id, "zhang", T0 + timedelta(minutes=50), "补记")  # resolved again
    assert closure.announce(store, NOTIFY, render, T0 + timedelta(minutes=51)) == 0  # nobody hears twice
