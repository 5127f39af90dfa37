"""舆情事件: the stories officials act on. Each graded message opens one (clustering comes later);
an incident's level only rises while it is open; acknowledgement and resolution are audited."""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from channels.model import Alert
from daemon.alerts import alert_from_dict, alert_to_dict
from daemon.clock import from_epoch, local, to_epoch
from daemon.store import Store, dumps, loads
from rules.model import Level, Message, Verdict

EXCERPT_CHARS = 120


@dataclass(frozen=True)
class Incident:
    id: str
    level: Level
    status: str  # open / acknowledged / resolved
    title: str
    category: str
    teams: tuple[str, ...]
    opened_at: datetime
    level_at: datetime
    alert: Alert
    deadline_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    resolved_at: datetime | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None


class IncidentError(LookupError):
    pass


def open_incident(db: sqlite3.Connection, store: Store, message: Message, verdict: Verdict,
                  now: datetime) -> Incident:
    """Open an incident for a graded message, inside the caller's transaction."""
    day = local(now).strftime("%Y%m%d")
    incident_id = f"YQ-{day}-{store.next_incident_number(db, day):04d}"
    top = verdict.top
    title = (top.title if top and top.title else "") or message.title or message.text[:30]
    alert = alert_for(incident_id, message, verdict, title, now)
    db.execute(
        "INSERT INTO incidents (id, level, status, title, category, teams, opened_at, level_at,"
        " first_message, alert) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)",
        (incident_id, str(verdict.level), title, top.category if top else "", dumps(list(verdict.teams)),
         to_epoch(now), to_epoch(now), message.id, dumps(alert_to_dict(alert))),
    )
    return get(db, incident_id)


def alert_for(incident_id: str, message: Message, verdict: Verdict, title: str, now: datetime) -> Alert:
    top = verdict.top
    excerpt = " ".join(message.text.split())
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 1] + "…"
    return Alert(
        incident_id=incident_id, level=str(verdict.level), level_label=verdict.level.label, title=title,
        category=top.category if top else "", source=message.source, url=message.url,
        first_seen=message.published_at or now, excerpt=excerpt,
        rules=tuple(f"{m.rule_id} {m.title}".strip() for m in verdict.matches), reasons=verdict.reasons,
    )


def set_deadline(db: sqlite3.Connection, incident_id: str, deadline_at: datetime) -> None:
    db.execute("UPDATE incidents SET deadline_at = ? WHERE id = ? AND deadline_at IS NULL",
               (to_epoch(deadline_at), incident_id))


def get(db: sqlite3.Connection, incident_id: str) -> Incident:
    row = db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    if row is None:
        raise IncidentError(f"no incident {incident_id}")
    return _from_row(row)


def listing(store: Store, *, open_only: bool = False) -> list[Incident]:
    where = "WHERE status != 'resolved'" if open_only else ""
    return [_from_row(r) for r in store.query(f"SELECT * FROM incidents {where} ORDER BY opened_at DESC")]


def acknowledge(store: Store, incident_id: str, by: str, now: datetime, note: str = "") -> Incident:
    with store.transaction() as db:
        incident = get(db, incident_id)
        if incident.status == "resolved":
            raise IncidentError(f"{incident_id} is already resolved")
        if incident.acked_at is None:
            db.execute("UPDATE incidents SET status = 'acknowledged', acked_at = ?, acked_by = ? WHERE id = ?",
                       (to_epoch(now), by, incident_id))
        audit(db, now, by, "acknowledge", incident_id, note)
        return get(db, incident_id)


def resolve(store: Store, incident_id: str, by: str, now: datetime, note: str = "") -> Incident:
    with store.transaction() as db:
        incident = get(db, incident_id)
        if incident.status != "resolved":
            db.execute("UPDATE incidents SET status = 'resolved', resolved_at = ? WHERE id = ?",
                       (to_epoch(now), incident_id))
            db.execute("UPDATE timers SET fired_at = ?, outcome = 'cancelled:resolved'"
                       " WHERE incident_id = ? AND fired_at IS NULL", (to_epoch(now), incident_id))
        audit(db, now, by, "resolve", incident_id, note)
        return get(db, incident_id)


def audit(db: sqlite3.Connection, now: datetime, actor: str, action: str, incident_id: str | None,
          detail: str) -> None:
    db.execute("INSERT INTO audit (at, actor, action, incident_id, detail) VALUES (?, ?, ?, ?, ?)",
               (to_epoch(now), actor, action, incident_id, detail))


def _from_row(row: sqlite3.Row) -> Incident:
    def when(value: float | None) -> datetime | None:
        return None if value is None else from_epoch(value)

    alert = alert_from_dict(loads(row["alert"]))
    deadline = when(row["deadline_at"])
    return Incident(
        id=row["id"], level=Level.parse(row["level"]), status=row["status"], title=row["title"],
        category=row["category"], teams=tuple(loads(row["teams"])), opened_at=from_epoch(row["opened_at"]),
        level_at=from_epoch(row["level_at"]), alert=dataclasses.replace(alert, deadline=deadline),
        deadline_at=deadline, acked_at=when(row["acked_at"]), acked_by=row["acked_by"],
        resolved_at=when(row["resolved_at"]),
    )
