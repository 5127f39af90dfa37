"""A silent collector is an outage: a source, inbox or feed with nothing new for longer than its
configured expectation tells the admin team, once per silence.

Like a failed reload (daemon/triage/reload.py ``notify_admin``) the alert is an outbox entry with an id built
from what it is about: here the watched thing and the time it was last heard from. Checking again, or a
restart, queues nothing new; the next silence, after the source spoke again, has another id.
A source never heard from counts from when the watch first ran (kept in ``meta``), so a collector that
never delivered after an install is reported too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from channels.model import ChannelSpec
from daemon.clock import from_epoch, local, to_epoch
from daemon.config import Config
from daemon.config.durations import format_duration
from daemon.config.policy import NotifyConfig
from daemon.notify import pipeline
from daemon.notify.admin import admin_channels
from daemon.notify.outbox import Rendered
from daemon.notify.pipeline import Notice, NoticeKind
from daemon.reports.status import last_by_feed, last_by_source
from daemon.store import Store, messages, meta
from rules.model import Level

log = structlog.get_logger(__name__)

STARTED_KEY = "silence:watch_started"


@dataclass(frozen=True)
class Silence:
    key: str  # source:weibo, inbox:/path, feed:url
    label: str  # as the admin reads it
    expect: timedelta
    since: datetime  # last heard from (or when watching began)

    def quiet_for(self, now: datetime) -> timedelta:
        return now - self.since


def expectations(config: Config) -> list[tuple[str, str, timedelta]]:
    found = [(f"source:{source}", f"来源 {source}", d) for source, d in config.expect]
    found += [(f"inbox:{spec.path}", f"收件目录 {spec.path}", spec.expect) for spec in config.inboxes if spec.expect]
    found += [(f"feed:{spec.url}", f"订阅源 {spec.url}", spec.expect) for spec in config.feeds if spec.expect]
    return found


def silences(config: Config, store: Store, now: datetime) -> list[Silence]:
    """Everything quiet for longer than expected, as of ``now``."""
    watched = expectations(config)
    if not watched:
        return []
    started = _watch_started(store, now)
    heard: dict[str, Mapping[str, float | None]] = {
        "source": last_by_source(store), "inbox": messages.last_file_by_inbox(store), "feed": last_by_feed(store)}
    out = []
    for key, label, expect in watched:
        kind, _, name = key.partition(":")
        last = heard[kind].get(name)
        since = from_epoch(last) if last is not None else started
        if now - since > expect:
            out.append(Silence(key, label, expect, since))
    return out


def _watch_started(store: Store, now: datetime) -> datetime:
    with store.transaction() as db:
        meta.put_if_absent(db, STARTED_KEY, str(to_epoch(now)))
        started = meta.value(db, STARTED_KEY)
    assert started is not None  # written just above, in the same transaction
    return from_epoch(float(started))


def check(config: Config, store: Store, notify: NotifyConfig, now: datetime) -> int:
    """Queue one admin alert per new silence. Returns how many notifications were queued."""
    found = silences(config, store, now)
    if not found:
        return 0
    if notify.admin_team is None:
        log.warning("silence.admin_not_configured", silent=[s.key for s in found])
        return 0
    via = tuple(spec.name for spec in admin_channels(notify))
    queued = 0
    with store.transaction() as db:
        for silence in found:
            digest = hashlib.sha256(silence.key.encode()).hexdigest()[:12]
            quiet = format_duration(timedelta(minutes=int(silence.quiet_for(now).total_seconds() // 60)))
            title = f"【舆情哨兵】采集中断：{silence.label} 已{quiet}无新信息"
            body = (f"{silence.label} 自 {local(silence.since):%Y-%m-%d %H:%M} 起没有新信息，已超过设定的"
                    f"{format_duration(silence.expect)}。请检查采集程序、网络和收件目录。\n"
                    "运行 yuqing status 查看各来源最后收到信息的时间。")
            notice = Notice(f"admin:silence:{digest}:{int(to_epoch(silence.since))}", NoticeKind.ADMIN,
                            Level.YELLOW, via, teams=(notify.admin_team,),
                            text=_fixed(Rendered(title, body)))
            new = pipeline.send(db, notify, notice, now).queued
            queued += new
            if new:
                log.warning("silence.detected", watched=silence.key, since=silence.since.isoformat(),
                            expect=format_duration(silence.expect), channels=list(via))
    return queued


def _fixed(rendered: Rendered) -> Callable[[ChannelSpec], Rendered]:
    """The same words on every channel."""
    return lambda _spec: rendered
