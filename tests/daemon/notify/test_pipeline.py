"""The one notification pipeline: every producer reaches the outbox through it, and its stages (silences,
quiet hours, SMS limits) hold for every kind of notice, not only escalation steps."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from channels.directory import Directory
from channels.model import Alert, ChannelSpec, Person
from daemon import incidents
from daemon.config.policy import NotifyConfig, QuietHours, SmsLimit
from daemon.notify import closure, silences
from daemon.notify.outbox import Rendered
from daemon.notify.pipeline import Notice, NoticeKind, send
from daemon.store import Store, dumps
from rules.model import Level, Location, Message, RuleMatch, Verdict

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NIGHT = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
PEOPLE = {"zhang": Person("zhang", "张三", "值班员", phone="13800000001")}
QUIET = QuietHours(start=22 * 60, end=7 * 60)


def notify_config(**extra: object) -> NotifyConfig:
    return NotifyConfig(channels={"sms": ChannelSpec("sms", "sms://x", "phone"),
                                  "email": ChannelSpec("email", "mailto://x", "email")},
                        directory=Directory(PEOPLE, {"值班": ("zhang",)}), policies={}, **extra)  # type: ignore[arg-type]


def render(alert: Alert, spec: ChannelSpec) -> Rendered:
    return Rendered(f"{alert.kind}:{alert.title}", f"{spec.name}:{alert.excerpt}")


def producers_writing_the_outbox() -> list[str]:
    """Modules of daemon/ that call the outbox's ``enqueue`` themselves, other than the pipeline, the
    outbox and its delivery (whose fallback re-sends what already passed the pipeline)."""
    found = []
    for path in sorted((ROOT / "daemon").rglob("*.py")):
        if path.relative_to(ROOT).as_posix() in ("daemon/notify/pipeline.py", "daemon/notify/outbox.py",
                                                 "daemon/notify/delivery.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            imported = isinstance(node, ast.ImportFrom) and node.module == "daemon.notify.outbox" and any(
                alias.name == "enqueue" for alias in node.names)
            called = isinstance(node, ast.Attribute) and node.attr == "enqueue" and isinstance(
                node.value, ast.Name) and node.value.id == "outbox"
            if imported or called:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_producer_writes_the_outbox_but_through_the_pipeline() -> None:
    assert producers_writing_the_outbox() == []


def resolved_incident(store: Store, level: Level, told_at: datetime) -> incidents.Incident:
    verdict = Verdict(level, (RuleMatch("gas", "燃气爆炸", "燃气安全", level, level, (), Location("r.yaml", 1, 1)),))
    with store.transaction() as db:
        incident = incidents.open_incident(db, store, Message(id="m", source="weibo", text="燃气爆炸"), verdict,
                                           told_at)
        db.execute("INSERT INTO outbox (id, incident_id, channel, recipients, title, body, status, next_attempt_at,"
                   " created_at) VALUES (?, ?, 'sms', ?, 't', 'b', 'sent', 0, 0)",
                   (f"{incident.id}:{level}:0:0:sms", incident.id, dumps([{"key": "zhang", "name": "张三"}])))
    return incident


def resolution_notices(store: Store) -> list[str]:
    return [r["id"] for r in store.query("SELECT id FROM outbox WHERE id LIKE '%:resolved:%' ORDER BY id")]


def test_a_resolution_notice_of_a_silenced_incident_is_dropped(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    notify = notify_config()
    closure.announce(store, notify, render, T0)  # the first run sets the watermark
    incident = resolved_incident(store, Level.RED, T0)
    silences.add(store, "incident", incident.id, T0 + timedelta(hours=2), "li", "已在现场处置", T0)
    incidents.resolve(store, incident.id, "zhang", T0 + timedelta(minutes=5), "已处置")
    closure.announce(store, notify, render, T0 + timedelta(minutes=6))
    assert resolution_notices(store) == []


def test_a_yellow_resolution_notice_waits_for_the_end_of_the_quiet_hours(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    notify = notify_config(quiet=QUIET)
    closure.announce(store, notify, render, NIGHT)
    incident = resolved_incident(store, Level.YELLOW, NIGHT - timedelta(hours=6))
    incidents.resolve(store, incident.id, "zhang", NIGHT, "已处置")
    assert closure.announce(store, notify, render, NIGHT + timedelta(minutes=1)) == 0
    assert resolution_notices(store) == []  # 03:01: nobody is woken for a yellow story's closure
    assert closure.announce(store, notify, render, NIGHT + timedelta(hours=4, minutes=1)) == 1  # 07:01
    assert resolution_notices(store) == [f"{incident.id}:resolved:0:sms"]


def test_a_red_resolution_notice_is_not_held(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    notify = notify_config(quiet=QUIET)
    closure.announce(store, notify, render, NIGHT)
    incident = resolved_incident(store, Level.RED, NIGHT - timedelta(hours=1))
    incidents.resolve(store, incident.id, "zhang", NIGHT, "已处置")
    assert closure.announce(store, notify, render, NIGHT + timedelta(minutes=1)) == 1


def test_resolution_notices_count_against_the_sms_limit(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    notify = notify_config(sms_limit=SmsLimit(per_hour=1, overflow="email"))
    notice = Notice("blue-1", NoticeKind.STEP, Level.BLUE, ("sms",), alert=Alert("x", "blue", "蓝色", "一"),
                    teams=("值班",))
    with store.transaction() as db:
        assert send(db, notify, notice, T0, render).queued == 1
    closure.announce(store, notify, render, T0)
    incident = resolved_incident(store, Level.YELLOW, T0)
    incidents.resolve(store, incident.id, "zhang", T0 + timedelta(minutes=1), "已处置")
    closure.announce(store, notify, render, T0 + timedelta(minutes=2))
    # Over the hourly limit: the SMS went to the overflow channel instead.
    assert resolution_notices(store) == [f"{incident.id}:resolved:0:email:over-limit"]


def test_admin_notices_are_never_held_and_their_text_is_masked(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    notify = notify_config(quiet=QUIET)
    notice = Notice("admin:x", NoticeKind.ADMIN, Level.YELLOW, ("sms",), teams=("值班",),
                    text=lambda spec: Rendered("【舆情哨兵】采集中断", "举报人 13912345678 的来电记录未入库"))
    with store.transaction() as db:
        assert send(db, notify, notice, NIGHT, render).queued == 1
    (row,) = store.query("SELECT id, body FROM outbox")
    assert row["id"] == "admin:x:sms"
    assert "13912345678" not in row["body"]


def test_a_deadline_reminder_and_a_digest_are_not_held_but_a_step_is(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    notify = notify_config(quiet=QUIET)
    alert = Alert("x", "yellow", "黄色", "燃气泄漏")

    def notice(kind: NoticeKind) -> Notice:
        return Notice(f"n-{kind.value}", kind, Level.YELLOW, ("email",), alert=alert, teams=("值班",))

    with store.transaction() as db:
        # The deadline runs through the night; the digest goes at the hour the county chose.
        assert send(db, notify, notice(NoticeKind.DEADLINE), NIGHT, render).queued == 1
        assert send(db, notify, notice(NoticeKind.DIGEST), NIGHT, render).queued == 1
        step = send(db, notify, notice(NoticeKind.STEP), NIGHT, render)
    assert (step.queued, step.held_until) == (0, datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # 07:00
