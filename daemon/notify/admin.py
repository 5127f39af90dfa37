"""Telling the admin team (notify.yaml ``admin:``) about the service's own trouble: a rule file that does
not load, a collector gone silent, a channel that keeps failing, a store that cannot be written.

Each notice is an outbox entry whose id says what it is about, so the same trouble found again (or
after a restart) queues nothing new. The one exception is the notice that the store cannot be written:
it cannot be queued, so it is handed to the channels directly, once per episode.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime

import structlog

from channels.model import ChannelSpec, Notification
from daemon.clock import local, to_epoch
from daemon.config.policy import NotifyConfig
from daemon.notify import pipeline
from daemon.notify.outbox import Rendered
from daemon.notify.pipeline import Notice, NoticeKind
from daemon.store.health import Trouble
from rules.model import Level

log = structlog.get_logger(__name__)


def admin_channels(notify: NotifyConfig) -> list[ChannelSpec]:
    """Channels that reach a person (email, SMS) and the console; every channel when there is none."""
    personal = [spec for spec in notify.channels.values()
                if spec.address != "none" or spec.url.startswith("console://")]
    return personal or list(notify.channels.values())


def tell_admin(db: sqlite3.Connection, notify: NotifyConfig, key: str, title: str,
               body: Callable[[ChannelSpec], str], now: datetime) -> int:
    """Queue one notice per admin channel through the notification pipeline, inside the caller's
    transaction. Returns how many were new. Never held by quiet hours (the service's own trouble); the
    SMS limit counts it like a yellow alert."""
    if notify.admin_team is None:
        log.warning("admin.not_configured", about=key, hint="set `admin:` in notify.yaml to be told")
        return 0
    notice = Notice(f"admin:{key}", NoticeKind.ADMIN, Level.YELLOW,
                    tuple(spec.name for spec in admin_channels(notify)), teams=(notify.admin_team,),
                    text=lambda spec: Rendered(title, body(spec)))
    return pipeline.send(db, notify, notice, now).queued


def fallback_notice(notify: NotifyConfig) -> Callable[[sqlite3.Connection, str, str, str, int, datetime], int]:
    """For the outbox: a channel kept failing and a notification went out on the fallback channel."""
    def notice(db: sqlite3.Connection, notification_id: str, channel: str, fallback: str, attempts: int,
               now: datetime) -> int:
        def body(_spec: ChannelSpec) -> str:
            return (f"通知渠道「{channel}」连续{attempts}次发送失败，已改用「{fallback}」发送（通知编号 "
                    f"{notification_id}）。请检查该渠道的配置与网络，运行 yuqing status 查看最近的错误。")

        return tell_admin(db, notify, f"fallback:{channel}:{notification_id}",
                          f"【舆情哨兵】通知渠道{channel}发送失败", body, now)

    return notice


def store_trouble_notices(notify: NotifyConfig, trouble: Trouble, now: datetime) -> list[Notification]:
    """The admin notice that the store cannot be written, one per admin channel, to send straight away."""
    if notify.admin_team is None:
        log.warning("admin.not_configured", about="store", hint="set `admin:` in notify.yaml to be told")
        return []
    recipients = notify.members((notify.admin_team,), now)
    body = (f"自 {local(trouble.since):%Y-%m-%d %H:%M:%S} 起，状态数据库无法写入：{trouble.reason}。"
            "已发出的通知不会重发；新收到的舆情信息暂不处理，待数据库恢复写入后自动继续。"
            "请检查磁盘空间，或占用数据库的进程。")
    return [Notification(id=f"admin:store:{int(to_epoch(trouble.since))}:{spec.name}", channel=spec.name,
                         recipients=recipients, title="【舆情哨兵】状态数据库无法写入", body=body)
            for spec in admin_channels(notify)]


def store_recovered(db: sqlite3.Connection, notify: NotifyConfig, trouble: Trouble, now: datetime) -> int:
    """Queue the notice that the store takes writes again (like a resolved notification)."""
    minutes = max(1, round((now - trouble.since).total_seconds() / 60))

    def body(_spec: ChannelSpec) -> str:
        return (f"状态数据库已恢复写入（中断约 {minutes} 分钟，原因：{trouble.reason}）。"
                "暂停期间积压的舆情信息正在处理。")

    return tell_admin(db, notify, f"store:{int(to_epoch(trouble.since))}:recovered",
                      "【舆情哨兵】状态数据库已恢复写入", body, now)
