"""A store seeded with a known day of work, for the report, ledger and metrics tests.

On 2026-11-23 (Shanghai): a red gas story (weibo first, 3 messages on 2 platforms, acknowledged in
20 minutes: deadline met, resolved with a note naming an informant's phone); a yellow wage story
(douyin, acknowledged an hour after its deadline: missed); a blue hotline story opened the day before,
resolved, and back on the 23rd (回潮).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from channels.directory import Directory
from channels.model import ChannelSpec, Person
from daemon import incidents
from daemon.clock import to_epoch
from daemon.config.policy import NotifyConfig, Policy, Step
from daemon.incidents.spread import figures, message_columns
from daemon.notify import outbox
from daemon.store import Store, dumps
from rules.message import message_to_dict
from rules.model import Author, Level, Location, Message, Metrics, RuleMatch, Verdict

HERE = Location("notify.yaml", 1, 1)
DAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC) - timedelta(hours=8)  # 2026-11-23 00:00 in Shanghai
PHONE = "13812345678"


def notify_config() -> NotifyConfig:
    people = {"zhang": Person("zhang", "张三", phone="13800000001", email="zhang@example.gov.cn"),
              "li": Person("li", "李明", email="li@example.gov.cn")}
    return NotifyConfig(
        channels={"email": ChannelSpec("email", "jsonl:///dev/null", "email")},
        directory=Directory(people, {"值班": ("zhang",), "管理员": ("li",), "宣传部": ("zhang",)}),
        policies={Level.RED: Policy(Level.RED, (Step(("值班",), ("email",), HERE, deadline=timedelta(minutes=30)),)),
                  Level.YELLOW: Policy(Level.YELLOW, (Step(("值班",), ("email",), HERE),))},
        admin_team="管理员")


def message(store: Store, mid: str, source: str, at: datetime, incident: str | None, *, reposts: int = 0,
            region: str | None = None, url: str | None = None, level: str = "none") -> Message:
    msg = Message(id=mid, source=source, text=f"text {mid}", url=url, region=region, published_at=at,
                  author=Author(name=mid, id=mid), metrics=Metrics(reposts=reposts))
    columns = {"id": mid, "hash": mid, "source": source, "data": dumps(message_to_dict(msg)),
               "received_at": to_epoch(at), "updated_at": to_epoch(at), "level": level, "verdict": "{}",
               "incident_id": incident, **message_columns(msg)}
    with store.transaction() as db:
        db.execute(f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                   tuple(columns.values()))
    return msg


def story(store: Store, first: Message, level: Level, category: str, at: datetime,
          teams: tuple[str, ...] = ()) -> str:
    verdict = Verdict(level, (RuleMatch(category, category + "事件", category, level, level, teams, HERE),))
    with store.transaction() as db:
        incident = incidents.open_incident(db, store, first, verdict, at)
        db.execute("UPDATE messages SET incident_id = ?, level = ? WHERE id = ?", (incident.id, str(level), first.id))
    return incident.id


def refresh(store: Store, incident_id: str, now: datetime) -> None:
    with store.transaction() as db:
        spread, origin = figures(db, incident_id, now)
        incidents.refresh_spread(db, incident_id, spread, origin, now)


def seed(path: Path) -> tuple[Store, dict[str, str]]:
    store = Store(path)
    at = DAY + timedelta(hours=10)
    gas = story(store, message(store, "w1", "weibo", at, None, reposts=100, region="城东镇",
                               url="https://weibo.com/1"), Level.RED, "燃气安全", at)
    message(store, "d1", "douyin", at + timedelta(minutes=5), gas, reposts=200, level="red")
    message(store, "w2", "weibo", at + timedelta(minutes=9), gas, level="red")
    refresh(store, gas, at + timedelta(minutes=10))
    with store.transaction() as db:
        incidents.set_deadline(db, gas, at + timedelta(minutes=30))
        outbox.enqueue(db, f"{gas}:red:0:0:email", gas, "email", (Person("zhang", "张三", phone="13800000001"),),
                       outbox.Rendered("t", "b"), at)
    incidents.acknowledge(store, gas, "zhang", at + timedelta(minutes=20), "已核实")
    incidents.resolve(store, gas, "zhang", at + timedelta(hours=2), f"已联系举报人（{PHONE}），燃气公司已抢修")

    at_b = DAY + timedelta(hours=11)
    wages = story(store, message(store, "k1", "douyin", at_b, None, region="城西"), Level.YELLOW, "劳动社保", at_b,
                  teams=("宣传部",))
    refresh(store, wages, at_b)
    with store.transaction() as db:
        incidents.set_deadline(db, wages, at_b + timedelta(hours=1))
    incidents.acknowledge(store, wages, "zhang", at_b + timedelta(hours=2))

    before = DAY - timedelta(hours=10)
    hotline = story(store, message(store, "h1", "hotline", before, None), Level.BLUE, "物业纠纷", before)
    refresh(store, hotline, before)
    incidents.resolve(store, hotline, "zhang", before + timedelta(hours=1))
    back = DAY + timedelta(hours=15)
    message(store, "h2", "hotline", back, hotline, level="blue")
    with store.transaction() as db:
        again = incidents.get(db, hotline)
        incidents.reopen(db, again, Verdict(Level.BLUE, ()), back)
    refresh(store, hotline, back)
    return store, {"gas": gas, "wages": wages, "hotline": hotline}
