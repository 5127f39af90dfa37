"""Escalation: the policy steps of an incident's level as timers in the store.

``decide`` is pure: given a step, the incident and the round, what is due. ``Escalation`` does the
effects: a timer's notifications and its fired mark commit in one transaction, so a restart fires an
overdue timer once and never twice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import structlog

from channels.model import Alert, Person
from daemon import incidents, outbox
from daemon.alerts import alert_from_dict
from daemon.clock import from_epoch, local, to_epoch
from daemon.incidents import Incident
from daemon.outbox import Render
from daemon.policy import NotifyConfig, Step
from daemon.store import Store, loads
from rules.model import Level

log = structlog.get_logger(__name__)

Kind = Literal["new", "escalation", "repeat", "raised", "resurgence", "digest", "test"]


@dataclass(frozen=True)
class Decision:
    action: Literal["send", "digest", "skip"]
    reason: str
    teams: tuple[str, ...] = ()
    kind: Kind = "new"
    next_due: datetime | None = None  # the next round of a repeating step


def decide(step: Step | None, index: int, incident: Incident, level: Level, round_: int,
           due_at: datetime) -> Decision:
    """What a due timer of ``step`` (the ``index``-th of the level's policy) should do now."""
    if step is None:
        return Decision("skip", "step no longer in policy")
    if incident.status == "resolved":
        return Decision("skip", "resolved")
    if incident.level != level:
        return Decision("skip", "superseded by a level change")
    if step.unless_acknowledged and incident.acknowledged:
        return Decision("skip", "acknowledged")
    # A rule's own teams join the first step: they need to know, not to be escalated to.
    teams = tuple(dict.fromkeys(step.notify + (incident.teams if index == 0 else ())))
    if step.digest:
        return Decision("digest", "gathered for the digest", teams)
    next_due = None
    if step.repeat is not None:
        candidate = due_at + step.repeat
        if step.until is None or candidate <= incident.level_at + step.until:
            next_due = candidate
    kind: Kind = "repeat" if round_ > 0 else ("escalation" if index > 0 else _first_kind(incident))
    return Decision("send", "due", teams, kind, next_due)


def _first_kind(incident: Incident) -> Kind:
    """The first step of a level says why it is sent: a new story, a rise, or a resurgence (回潮)."""
    return "raised" if incident.alert.kind == "raised" else (
        "resurgence" if incident.alert.kind == "resurgence" else "new")


def level_key(incident: Incident) -> str:
    """Timers and notification ids per level *episode*: a story that comes back (回潮) at the level it
    had goes through the policy again instead of finding its old timers already fired."""
    return str(incident.level) if not incident.resurgences else f"{incident.level}#{incident.resurgences}"


class Escalation:
    def __init__(self, notify: NotifyConfig, render: Render) -> None:
        self.notify = notify
        self.render = render

    def schedule(self, db: sqlite3.Connection, incident: Incident) -> None:
        """Timers for every step of the incident's level, counted from when it reached the level."""
        policy = self.notify.policies.get(incident.level)
        if policy is None:
            return
        for index, step in enumerate(policy.steps):
            due = incident.level_at + step.after
            db.execute(
                "INSERT OR IGNORE INTO timers (kind, incident_id, level, step, round, due_at)"
                " VALUES ('step', ?, ?, ?, 0, ?)", (incident.id, level_key(incident), index, to_epoch(due)))
            if step.deadline is not None:
                incidents.set_deadline(db, incident.id, incident.level_at + step.deadline)

    def schedule_digest(self, db: sqlite3.Connection, now: datetime) -> None:
        """The next daily digest at ``digest_at`` local time (one timer per day, by its unique key)."""
        hour, minute = (int(x) for x in self.notify.digest_at.split(":"))
        at = local(now).replace(hour=hour, minute=minute, second=0, microsecond=0)
        if at <= local(now):
            at += timedelta(days=1)
        db.execute("INSERT OR IGNORE INTO timers (kind, incident_id, level, step, round, due_at)"
                   " VALUES ('digest', '', ?, 0, 0, ?)", (at.date().isoformat(), to_epoch(at)))

    def fire_due(self, store: Store, now: datetime, limit: int = 100) -> int:
        """Fire every due timer, each in its own transaction. Returns how many fired."""
        fired = 0
        while fired < limit:
            with store.transaction() as db:
                row = db.execute("SELECT * FROM timers WHERE fired_at IS NULL AND due_at <= ?"
                                 " ORDER BY due_at, id LIMIT 1", (to_epoch(now),)).fetchone()
                if row is None:
                    break
                outcome = self._fire(db, row, now)
                db.execute("UPDATE timers SET fired_at = ?, outcome = ? WHERE id = ?",
                           (to_epoch(now), outcome, row["id"]))
            lag = (now - from_epoch(row["due_at"])).total_seconds()
            log.info("timer.fired", kind=row["kind"], incident=row["incident_id"] or None, level=row["level"],
                     step=row["step"], round=row["round"], outcome=outcome, lag_s=round(lag, 3))
            fired += 1
        return fired

    def _fire(self, db: sqlite3.Connection, row: sqlite3.Row, now: datetime) -> str:
        if row["kind"] == "digest":
            self.schedule_digest(db, now + timedelta(minutes=1))
            return self._send_digest(db, now)
        incident = incidents.get(db, row["incident_id"])
        level = Level.parse(row["level"].partition("#")[0])
        policy = self.notify.policies.get(level)
        index = int(row["step"])
        step = policy.steps[index] if policy and index < len(policy.steps) else None
        decision = decide(step, index, incident, level, int(row["round"]), from_epoch(row["due_at"]))
        if decision.action == "skip" or step is None:
            return f"skipped:{decision.reason}"
        if decision.action == "digest":
            db.execute("INSERT OR IGNORE INTO digest_items (incident_id, step, added_at) VALUES (?, ?, ?)",
                       (incident.id, index, to_epoch(now)))
            return "digest"
        alert = replace(incident.alert, kind=decision.kind, step=index)
        key = f"{incident.id}:{row['level']}:{index}:{row['round']}"
        queued = self._enqueue(db, key, incident.id, alert, step.via, decision.teams, now)
        if decision.next_due is not None:
            db.execute("INSERT OR IGNORE INTO timers (kind, incident_id, level, step, round, due_at)"
                       " VALUES ('step', ?, ?, ?, ?, ?)",
                       (incident.id, row["level"], index, int(row["round"]) + 1, to_epoch(decision.next_due)))
        return f"sent:{queued}"

    def _send_digest(self, db: sqlite3.Connection, now: datetime) -> str:
        rows = db.execute("SELECT d.id, d.incident_id, d.step, i.level, i.alert FROM digest_items d"
                          " JOIN incidents i ON i.id = d.incident_id WHERE d.sent_at IS NULL"
                          " ORDER BY d.added_at").fetchall()
        if not rows:
            return "digest:empty"
        groups: dict[tuple[str, int], list[Alert]] = {}
        for r in rows:
            groups.setdefault((r["level"], r["step"]), []).append(
                alert_from_dict(loads(r["alert"])))
        queued = 0
        for (level_name, index), items in groups.items():
            policy = self.notify.policies.get(Level.parse(level_name))
            if policy is None or index >= len(policy.steps):
                continue
            step = policy.steps[index]
            day = local(now).date().isoformat()
            digest = Alert(incident_id="", level=level_name, level_label=Level.parse(level_name).label,
                           title=f"{day} {Level.parse(level_name).label}舆情汇总（{len(items)}条）",
                           kind="digest", items=tuple(items))
            queued += self._enqueue(db, f"digest:{day}:{level_name}:{index}", None, digest, step.via,
                                    step.notify, now)
        db.executemany("UPDATE digest_items SET sent_at = ? WHERE id = ?", [(to_epoch(now), r["id"]) for r in rows])
        return f"digest:{len(rows)}:{queued}"

    def _enqueue(self, db: sqlite3.Connection, key: str, incident_id: str | None, alert: Alert,
                 via: tuple[str, ...], teams: tuple[str, ...], now: datetime) -> int:
        recipients: tuple[Person, ...] = self.notify.directory.members(teams)
        queued = 0
        for name in via:
            spec = self.notify.channels.get(name)
            if spec is None:
                log.error("notify.unknown_channel", channel=name, incident=incident_id)
                continue
            queued += outbox.enqueue(db, f"{key}:{name}", incident_id, name, recipients, self.render(alert, spec),
                                     now, alert)
        return queued

