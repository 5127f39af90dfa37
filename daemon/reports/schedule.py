"""Scheduled 日报/周报: the next run of each is a row in ``report_timers``, fired by the service loop.

Like the digest timer (daemon/notify/escalation.py ``schedule_digest``) a run is keyed by what it covers
(``daily``/``2026-11-20``), so a restart neither skips nor repeats one, and the outbox id of each
report notification is keyed the same way. The rows live in their own table: the escalation timers'
table is read by ``Escalation.fire_due``, which knows only incident steps and digests.

A daily report due on day D covers D-1; a weekly one covers the seven days ending on its own date.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta
from pathlib import Path

import structlog

from channels.model import ChannelSpec
from daemon.clock import local, to_epoch
from daemon.config import Config
from daemon.config.policy import NotifyConfig
from daemon.notify import pipeline
from daemon.notify.outbox import Rendered
from daemon.notify.pipeline import Notice, NoticeKind, Sent
from daemon.reports import mail
from daemon.reports.figures import Kind, build_report, period_for
from daemon.reports.render import RenderedReport, render
from daemon.store import Store
from rules.county import SHANGHAI
from rules.model import Level

log = structlog.get_logger(__name__)


def covered_day(kind: Kind, due: date) -> date:
    return due - timedelta(days=1) if kind == "daily" else due


def next_runs(config: Config, now: datetime) -> list[tuple[Kind, datetime]]:
    """The next due time of each scheduled report, strictly after ``now``."""
    schedule = config.reports
    if schedule is None:
        return []
    today = local(now).date()
    runs: list[tuple[Kind, datetime]] = []
    if schedule.daily is not None:
        at = datetime.combine(today, time(*schedule.daily), SHANGHAI)
        runs.append(("daily", at if at > now else at + timedelta(days=1)))
    if schedule.weekly is not None:
        weekday, hour, minute = schedule.weekly
        at = datetime.combine(today + timedelta(days=(weekday - today.weekday()) % 7), time(hour, minute), SHANGHAI)
        runs.append(("weekly", at if at > now else at + timedelta(days=7)))
    return runs


def schedule(store: Store, config: Config, now: datetime) -> None:
    with store.transaction() as db:
        for kind, at in next_runs(config, now):
            add_run(db, kind, covered_day(kind, local(at).date()).isoformat(), at)


def fire_due(store: Store, config: Config, notify: NotifyConfig, now: datetime) -> int:
    """Send every due report and schedule the next. Returns how many notifications were queued."""
    queued = 0
    for stored_kind, day in due_runs(store, now):
        kind: Kind = "weekly" if stored_kind == "weekly" else "daily"
        sent = send_report(store, config, notify, kind, date.fromisoformat(day), now)
        with store.transaction() as db:
            if sent.held_until is not None:  # quiet hours cover the report's time: it goes when they end
                hold_run(db, stored_kind, day, sent.held_until)
                continue
            mark_fired(db, stored_kind, day, now, f"queued:{sent.queued}")
        queued += sent.queued
    schedule(store, config, now)
    return queued


def write_files(config: Config, kind: Kind, day: date, rendered: RenderedReport) -> list[Path]:
    """The report as files under state_dir/reports: HTML (charts inline), XLSX."""
    folder = config.state_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{day.isoformat()}-{kind}"
    html, xlsx = stem.with_suffix(".html"), stem.with_suffix(".xlsx")
    html.write_text(rendered.html_inline(), encoding="utf-8")
    xlsx.write_bytes(rendered.xlsx)
    return [html, xlsx]


def send_report(store: Store, config: Config, notify: NotifyConfig, kind: Kind, day: date, now: datetime,
                asked_now: bool = False) -> Sent:
    """Build, save and queue the report for the configured teams and channels (idempotent per day),
    through the notification pipeline (``asked_now``: by ``yuqing report --send``, not held by quiet hours)."""
    schedule_ = config.reports
    if schedule_ is None or not schedule_.to or not schedule_.via:
        log.warning("report.not_configured", hint="set reports: {to: [...], via: [...]} in config.yaml")
        return Sent(0)
    rendered = render(build_report(store, period_for(kind, day), now, notify))
    files = write_files(config, kind, day, rendered)
    notice = Notice(f"report:{kind}:{day.isoformat()}", NoticeKind.REPORT, Level.BLUE, schedule_.via,
                    teams=schedule_.to, asked_now=asked_now,
                    text=lambda spec: _rendered(spec, rendered, files, f"{day.isoformat()}-{kind}.xlsx"))
    with store.transaction() as db:
        sent = pipeline.send(db, notify, notice, now)
    log.info("report.queued", kind=kind, day=day.isoformat(), notifications=sent.queued,
             held_until=sent.held_until.isoformat() if sent.held_until else None, files=[str(f) for f in files])
    return sent


def _rendered(spec: ChannelSpec, report: RenderedReport, files: list[Path], attachment: str) -> Rendered:
    title = f"【舆情哨兵】{report.title}"
    if spec.address == "email":
        return Rendered(title, report.text, mail.parts(report.html, report.images, {attachment: report.xlsx}))
    return Rendered(title, report.text + "\n报告文件：" + "、".join(str(f) for f in files))


# ---------------------------------------------------------------- the report_timers table


def add_run(db: sqlite3.Connection, kind: str, day: str, due: datetime) -> None:
    """Schedule the run covering ``day`` (kept as it is when already scheduled)."""
    db.execute("INSERT OR IGNORE INTO report_timers (kind, day, due_at) VALUES (?, ?, ?)", (kind, day, to_epoch(due)))


def due_runs(store: Store, now: datetime) -> list[tuple[str, str]]:
    """(kind, day) of every run not yet fired and due by ``now``, the earliest first."""
    return [(r["kind"], r["day"]) for r in store.query(
        "SELECT kind, day FROM report_timers WHERE fired_at IS NULL AND due_at <= ? ORDER BY due_at", (to_epoch(now),))]


def hold_run(db: sqlite3.Connection, kind: str, day: str, until: datetime) -> None:
    db.execute("UPDATE report_timers SET due_at = ?, outcome = 'held:quiet hours' WHERE kind = ? AND day = ?",
               (to_epoch(until), kind, day))


def mark_fired(db: sqlite3.Connection, kind: str, day: str, now: datetime, outcome: str) -> None:
    db.execute("UPDATE report_timers SET fired_at = ?, outcome = ? WHERE kind = ? AND day = ?",
               (to_epoch(now), outcome, kind, day))
