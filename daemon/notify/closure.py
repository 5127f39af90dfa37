"""Closure (已处置): once an incident is resolved, everyone who was told hears so, once per channel.

However it was resolved (`yuqing resolve`, another tool writing through ``incidents.resolve``), the
resolution is an ``incident_events`` row. The service's evaluation loop calls ``announce``: for each
resolution it has not announced yet, every channel the incident's notifications were sent on gets one
short notice for the people reached there. A watermark (the last event id announced) is kept in
``meta`` in the same transaction as the notices, so a restart neither repeats nor skips one; the
outbox ids (incident, resolution round, channel) make a second announcement a no-op anyway.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime

import structlog

from channels.model import Person
from daemon import incidents
from daemon.clock import local
from daemon.config.policy import NotifyConfig
from daemon.incidents import Incident, Status
from daemon.notify import outbox, pipeline
from daemon.notify.outbox import Render
from daemon.notify.pipeline import Notice, NoticeKind, Sent
from daemon.store import Store, meta

log = structlog.get_logger(__name__)

WATERMARK = "closure_event_id"


def told(db: sqlite3.Connection, incident_id: str) -> dict[str, tuple[Person, ...]]:
    """Channel → the people reached there about the incident (sent notifications only), in order."""
    reached: dict[str, dict[str, Person]] = {}
    for channel, recipients in outbox.sent_to(db, incident_id):
        people = reached.setdefault(channel, {})
        for person in recipients:
            people.setdefault(person.key, person)
    return {channel: tuple(people.values()) for channel, people in reached.items()}


def sentence(notify: NotifyConfig, by: str, note: str, at: datetime) -> str:
    """已由张三（值班员）于2026-11-23 10:30处置：已联系当事人。 — times in Asia/Shanghai."""
    person = notify.directory.people.get(by)
    who = (f"{person.name}（{person.role}）" if person.role else person.name) if person else by
    note = note.strip()
    return f"已由{who}于{local(at):%Y-%m-%d %H:%M}处置" + (f"：{note}" if note else "。")


def queue_notices(db: sqlite3.Connection, notify: NotifyConfig, render: Render, incident: Incident, by: str,
                  note: str, at: datetime, now: datetime) -> Sent:
    """The 已处置 notices of one resolution, inside the caller's transaction, through the notification
    pipeline: a silenced incident's are dropped, a yellow or blue one's wait for the end of the quiet hours
    (``Sent.held_until``), SMS limits count them."""
    alert = dataclasses.replace(incident.alert, kind="resolved", excerpt=sentence(notify, by, note, at),
                                ack_url=None, deadline=None, items=())
    reached = told(db, incident.id)
    for channel in [c for c in reached if c not in notify.channels]:  # removed from notify.yaml since
        log.warning("closure.unknown_channel", incident=incident.id, channel=channel)
        del reached[channel]
    # One notice per resolution: a story that comes back (回潮) and is resolved again says so again.
    notice = Notice(f"{incident.id}:resolved:{incident.resurgences}", NoticeKind.RESOLVED, incident.level,
                    tuple(reached), alert=alert, people=reached, incident_id=incident.id)
    return pipeline.send(db, notify, notice, now, render)


def announce(store: Store, notify: NotifyConfig, render: Render, now: datetime) -> int:
    """Queue the notices of every resolution not announced yet. Returns how many notices were queued."""
    mark = meta.value(store.db, WATERMARK)
    if mark is not None and not incidents.resolved_after(store.db, int(mark)):
        return 0  # the loop calls this twice a second: no write transaction when there is nothing to do
    with store.transaction() as db:
        mark = meta.value(db, WATERMARK)
        if mark is None:
            # First run on this state file: resolutions from before closure notices existed stay quiet.
            meta.put(db, WATERMARK, str(incidents.last_event_id(db)))
            return 0
        rows = incidents.resolutions_after(db, int(mark))
        queued, done, held = 0, None, False
        for row in rows:
            incident = incidents.get(db, row.incident_id)
            if incident.status is Status.RESOLVED:  # not reopened (回潮) before we got to it
                sent = queue_notices(db, notify, render, incident, row.actor or "", row.note or "", row.at, now)
                queued += sent.queued
                # Held by quiet hours: the mark stays before it, so it is announced once they end; those
                # after it are announced now (red is never held) and found already queued then.
                held = held or sent.held_until is not None
            if not held:
                done = row.event_id
        if done is not None:
            meta.put(db, WATERMARK, str(done))
    if queued:
        log.info("closure.queued", notices=queued, resolutions=len(rows))
    return queued
