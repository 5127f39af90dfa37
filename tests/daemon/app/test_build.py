"""The whole service built in-process on a fake clock and an in-memory store, without running it:
message → verdict → incident → escalation timers → notices, and the next step when the clock moves."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon import incidents
from daemon.app.service import Service, serve
from daemon.app.statelock import LOCK_NAME, StateDirLocked, lock_state_dir
from daemon.clock import FakeClock, to_epoch
from daemon.config import load_config
from daemon.reports import status
from daemon.store import Store
from rules.model import Level, Message
from tests.rulesets import CASUALTIES, GAS_EXPLOSION, PETITION

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

RULES = CASUALTIES + "rules:\n" + GAS_EXPLOSION + "    notify: [宣传部]\n" + PETITION

NOTIFY = """\
channels:
  email: "jsonl://./var/email.jsonl"
  group: "jsonl://./var/group.jsonl"
people:
  zhang: {name: 张三, role: 值班员, email: zhang@example.gov.cn}
  wang: {name: 王五, role: 宣传部长, email: wang@example.gov.cn}
  zhao: {name: 赵六, role: 组长, email: zhao@example.gov.cn}
teams: {值班: [zhang], 宣传部: [wang], 领导小组: [zhao]}
policies:
  red:
    - {notify: [值班], via: [email, group], deadline: 30m}
    - {after: 15m, unless: acknowledged, notify: [领导小组], via: [email], repeat: 15m}
  blue:
    - {digest: daily, notify: [值班], via: [email]}
"""

RED = Message(id="weibo-1", source="weibo", title="城东燃气爆炸", text="今天上午城东小区发生燃气爆炸，已造成两人死亡")
RED_AGAIN = Message(id="douyin-7", source="douyin", text=f"太可怕了，大家注意安全 //@城东发布: {RED.text}")  # a repost
ORDINARY = Message(id="news-3", source="news", text="我马上访问一下网站，看看明天的天气预报")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "county.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "notify.yaml").write_text(NOTIFY, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        "state_dir: ./var\ninbox: [{path: ./var/inbox}]\nrules: ./rules\nnotify: ./notify.yaml\n", encoding="utf-8")
    return tmp_path


def build(root: Path, clock: FakeClock, *, once: bool = False) -> Service:
    return Service(load_config(root / "config.yaml"), clock=clock, store=Store.in_memory(clock), once=once)


def outbox(service: Service) -> list[tuple[str, list[str]]]:
    """The queued notices: id (incident:level:step:round:channel) and who they go to."""
    rows = service.store.query("SELECT id, recipients FROM outbox ORDER BY created_at, id")
    return [(r["id"], sorted(p["key"] for p in json.loads(r["recipients"]))) for r in rows]


def sent(root: Path, channel: str) -> list[dict[str, object]]:
    path = root / "var" / f"{channel}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def test_the_constructor_builds_every_part_and_starts_nothing(root: Path) -> None:
    before = set(threading.enumerate())  # threads of earlier tests in this worker may end meanwhile
    service = build(root, FakeClock(T0))
    assert service.pipeline.store is service.store
    assert service.pipeline.escalation is service.escalation
    assert service.outbox.store is service.store
    assert next(inbox.path for inbox in service.inboxes) == root / "var" / "inbox"
    assert set(threading.enumerate()) - before == set()
    var = root / "var"
    assert not (var / LOCK_NAME).exists()
    assert not (var / "yuqing.db").exists()
    assert not (var / "inbox").exists()  # folders are made by run(), not by building
    assert service.store.query("SELECT * FROM timers") == []


def test_a_message_opens_an_incident_a_second_joins_it_and_the_clock_drives_escalation(root: Path) -> None:
    clock = FakeClock(T0)
    service = build(root, clock)
    service.prepare()  # the daily digest timer, as run() would

    assert service.pipeline.handle_message(RED) == "graded"
    message = service.store.one("SELECT level, incident_id, verdict FROM messages WHERE id = 'weibo-1'")
    assert message is not None
    assert message["level"] == "red"
    assert [r["id"] for r in json.loads(message["verdict"])["rules"]] == ["gas-explosion"]
    incident = incidents.get(service.store.db, message["incident_id"])
    assert (incident.id, incident.level, incident.status) == ("YQ-20261123-0001", Level.RED, "open")
    assert incident.deadline_at == T0 + timedelta(minutes=30)
    steps = service.store.query("SELECT step, due_at FROM timers WHERE kind = 'step' ORDER BY step")
    assert [(r["step"], r["due_at"]) for r in steps] == [(0, to_epoch(T0)), (1, to_epoch(T0 + timedelta(minutes=15)))]

    clock.advance(timedelta(minutes=2))
    assert service.pipeline.handle_message(RED_AGAIN) == "graded"
    joined = service.store.one("SELECT incident_id FROM messages WHERE id = 'douyin-7'")
    assert joined is not None
    assert joined["incident_id"] == incident.id
    assert status.counts(service.store)["incidents_open"] == 1

    assert service.fire_timers(clock.now()) == 1  # step 0: 值班 and the rule's 宣传部, by e-mail and to the group
    first = outbox(service)
    assert [i for i, _ in first] == [f"{incident.id}:red:0:0:email", f"{incident.id}:red:0:0:group"]
    assert first[0][1] == first[1][1] == ["wang", "zhang"]
    assert service.fire_timers(clock.now()) == 0  # nothing fires twice

    clock.advance(timedelta(minutes=12))  # 14 minutes after opening: not yet
    assert service.fire_timers(clock.now()) == 0
    clock.advance(timedelta(minutes=1))
    assert service.fire_timers(clock.now()) == 1
    assert outbox(service)[2] == (f"{incident.id}:red:1:0:email", ["zhao"])

    service.outbox.deliver_due(clock.now, flush=True)
    assert [n["title"] for n in sent(root, "group")] == ["【红色预警】燃气爆炸致人员伤亡"]
    assert [n["title"] for n in sent(root, "email")] == ["【红色预警】燃气爆炸致人员伤亡",
                                                         "【红色预警·升级提醒】燃气爆炸致人员伤亡"]
    assert all(r["status"] == "sent" for r in service.store.query("SELECT status FROM outbox"))

    incidents.acknowledge(service.store, incident.id, "zhao", clock.now())
    clock.advance(timedelta(minutes=15))
    assert service.fire_timers(clock.now()) == 1  # the repeat's timer fires, and is skipped: acknowledged
    assert len(outbox(service)) == 3
    last = service.store.one("SELECT outcome FROM timers WHERE kind = 'step' ORDER BY id DESC LIMIT 1")
    assert last is not None
    assert last["outcome"] == "skipped:acknowledged"


def test_an_ordinary_message_is_stored_ungraded_and_notifies_nobody(root: Path) -> None:
    service = build(root, FakeClock(T0))
    service.prepare()
    assert service.pipeline.handle_message(ORDINARY) == "ungraded"
    row = service.store.one("SELECT level, incident_id FROM messages WHERE id = 'news-3'")
    assert row is not None
    assert (row["level"], row["incident_id"]) == ("none", None)
    assert service.store.query("SELECT * FROM timers WHERE kind = 'step'") == []
    assert service.fire_timers(service.clock.now()) == 0
    assert outbox(service) == []


def test_run_once_takes_the_inbox_and_delivers_without_a_state_file(root: Path) -> None:
    clock = FakeClock(T0)
    service = build(root, clock, once=True)
    inbox = root / "var" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "red.json").write_text(json.dumps({"id": RED.id, "source": RED.source, "title": RED.title,
                                                "text": RED.text}, ensure_ascii=False), encoding="utf-8")
    assert service.run() == 0
    assert [p.name for p in (inbox / "processed").rglob("*.json")] == ["red.json"]
    for channel in ("group", "email"):  # step 0 at once; --once flushes what would wait to be grouped
        assert [n["title"] for n in sent(root, channel)] == ["【红色预警】燃气爆炸致人员伤亡"]
    assert status.counts(service.store)["incidents_open"] == 1  # the in-memory store outlives run()'s close()
    assert not (root / "var" / "yuqing.db").exists()


def test_serve_takes_the_lock_before_the_service_opens_anything(root: Path) -> None:
    config = load_config(root / "config.yaml")
    held = lock_state_dir(config.state_dir)  # another daemon on this state_dir
    try:
        with pytest.raises(StateDirLocked):
            serve(config, once=True)
    finally:
        held.release()
    assert sorted(p.name for p in config.state_dir.iterdir()) == [LOCK_NAME]  # no database, no cache, no ack.key
