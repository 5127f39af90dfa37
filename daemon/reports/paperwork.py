"""The duty desk's periodic chores, run by the service loop between scans: scheduled reports and the
silent-collector watch. Each is idempotent by its outbox ids, so running it often costs a few queries."""

from __future__ import annotations

from datetime import datetime

import structlog

from daemon.config import Config
from daemon.config.policy import NotifyConfig
from daemon.reports import schedule as report_schedule
from daemon.reports import source_watch
from daemon.store import Store

log = structlog.get_logger(__name__)


def start(config: Config, store: Store, now: datetime) -> None:
    report_schedule.schedule(store, config, now)


def tick(config: Config, store: Store, notify: NotifyConfig, now: datetime) -> int:
    """Due reports and new silences, queued. Returns how many notifications were queued.
    A failure here is logged and never stops the loop: grading matters more than paperwork."""
    queued = 0
    try:
        queued += report_schedule.fire_due(store, config, notify, now)
    except Exception:
        log.exception("paperwork.error", chore="reports")
    try:
        queued += source_watch.check(config, store, notify, now)
    except Exception:
        log.exception("paperwork.error", chore="source_watch")
    return queued
