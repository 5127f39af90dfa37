"""Incidents: messages grouped into stories (``clustering``, ``stories``), their spread (``spread``),
staff corrections (``corrections``) and the alerts they keep (``alerts``); this module is the register.

In: a graded ``Message`` with its ``Verdict`` and keywords (from ``daemon.triage``), the story's
``Spread``, acks and resolutions (CLI, ack page). Out: ``Incident`` rows and their timeline
(``incident_events``, ``audit``); each incident carries the ``channels.model.Alert`` that ``daemon.notify``
sends.

舆情事件: the stories officials act on. A graded message that joins no story opens one; members add
spread; an incident's level only rises while it is open (each rise is one event for escalation); a
resolved story with news within its watch window reopens as 回潮; acks and resolutions are audited."""

from __future__ import annotations

import dataclasses
import enum
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from channels.model import Alert
from daemon.clock import from_epoch, local, to_epoch
from daemon.incidents.alerts import alert_for, alert_from_dict, alert_to_dict, spread_lines
from daemon.incidents.spread import Origin
from daemon.store import Store, dumps, loads, meta, timers
from daemon.store import audit as audit_log
from rules.model import Level, Message, Spread, Verdict


class Status(enum.StrEnum):
    """Where an incident is in its life; stored by value in ``incidents.status``."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # someone has it: escalation steps marked ``unless: acknowledged`` stop
    RESOLVED = "resolved"  # 已处置: news within the watch window reopens it as 回潮
    CLOSED = "closed"  # quiet for the whole window: closed by itself
    MERGED = "merged"  # folded into another incident (``merged_into``)

    @property
    def done(self) -> bool:
        return self in (Status.RESOLVED, Status.CLOSED)


@dataclass(frozen=True)
class Incident:
    id: str
    level: Level
    status: Status
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
    spread: dict[str, float] = dataclasses.field(default_factory=dict)
    first_seen: datetime | None = None
    first_source: str | None = None
    first_url: str | None = None
    resurgences: int = 0
    merged_into: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None


class IncidentError(LookupError):
    pass


def open_incident(db: sqlite3.Connection, store: Store, message: Message, verdict: Verdict,
                  now: datetime) -> Incident:
    """Open an incident for a graded message, inside the caller's transaction. (``store`` is not needed
    any more; it stays for the many callers.)"""
    day = local(now).strftime("%Y%m%d")
    incident_id = f"YQ-{day}-{next_incident_number(db, day):04d}"
    top = verdict.top
    title = (top.title if top and top.title else "") or message.title or message.text[:30]
    alert = alert_for(incident_id, message, verdict, title, now)
    db.execute(
        "INSERT INTO incidents (id, level, status, title, category, teams, opened_at, level_at,"
        " first_message, alert) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)",
        (incident_id, str(verdict.level), title, top.category if top else "", dumps(list(verdict.teams)),
         to_epoch(now), to_epoch(now), message.id, dumps(alert_to_dict(alert))),
    )
    event(db, incident_id, now, "opened", verdict.level, detail=message.id)
    return get(db, incident_id)


def raise_level(db: sqlite3.Connection, incident: Incident, verdict: Verdict, now: datetime,
                kind: Literal["raised", "resurgence"] = "raised") -> Incident:
    """The story reached a higher level (or came back): new level, new clock for its policy, new alert."""
    top = verdict.top
    alert = dataclasses.replace(
        incident.alert, level=str(verdict.level), level_label=verdict.level.label, kind=kind,
        title=(top.title if top and top.title else incident.title),
        category=(top.category if top and top.category else incident.category),
        rules=tuple(f"{m.rule_id} {m.title}".strip() for m in verdict.matches) or incident.alert.rules,
        reasons=verdict.reasons or incident.alert.reasons)
    teams = tuple(dict.fromkeys((*incident.teams, *verdict.teams)))
    db.execute("UPDATE incidents SET level = ?, level_at = ?, title = ?, category = ?, teams = ?, alert = ?,"
               " deadline_at = NULL WHERE id = ?",
               (str(verdict.level), to_epoch(now), alert.title, alert.category, dumps(list(teams)),
                dumps(alert_to_dict(alert)), incident.id))
    event(db, incident.id, now, kind, verdict.level, detail=f"{incident.level} → {verdict.level}")
    return get(db, incident.id)


def reopen(db: sqlite3.Connection, incident: Incident, verdict: Verdict, now: datetime) -> Incident:
    """回潮: a resolved story has news again. It is open and unacknowledged, at least at its old level."""
    db.execute("UPDATE incidents SET status = 'open', acked_at = NULL, acked_by = NULL, resolved_at = NULL,"
               " resurgences = resurgences + 1 WHERE id = ?", (incident.id,))
    level = max(verdict.level, incident.level)
    return raise_level(db, get(db, incident.id), dataclasses.replace(verdict, level=level), now, "resurgence")


def refresh_spread(db: sqlite3.Connection, incident_id: str, spread: Spread, origin: Origin | None,
                   now: datetime) -> None:
    alert = get(db, incident_id).alert
    alert = dataclasses.replace(alert, spread=spread_lines(spread),
                                first_seen=origin.first_seen if origin else alert.first_seen,
                                source=origin.first_source if origin else alert.source,
                                url=(origin.first_url or alert.url) if origin else alert.url)
    db.execute("UPDATE incidents SET spread = ?, first_seen = ?, first_source = ?, first_url = ?, updated_at = ?,"
               " alert = ? WHERE id = ?",
               (dumps(dataclasses.asdict(spread)), to_epoch(origin.first_seen) if origin else None,
                origin.first_source if origin else None, origin.first_url if origin else None, to_epoch(now),
                dumps(alert_to_dict(alert)), incident_id))


def close_quiet(store: Store, before: datetime, now: datetime) -> list[str]:
    """Open stories with no news since ``before`` close by themselves; their pending timers go too."""
    with store.transaction() as db:
        rows = db.execute("SELECT id FROM incidents WHERE status IN ('open', 'acknowledged')"
                          " AND coalesce(updated_at, opened_at) < ?", (to_epoch(before),)).fetchall()
        for row in rows:
            db.execute("UPDATE incidents SET status = 'closed' WHERE id = ?", (row["id"],))
            timers.cancel_pending(db, row["id"], now, "cancelled:closed")
            event(db, row["id"], now, "closed", None, detail="no news within the window")
    return [r["id"] for r in rows]


def event(db: sqlite3.Connection, incident_id: str, now: datetime, kind: str, level: Level | None,
          actor: str | None = None, detail: str = "") -> None:
    db.execute("INSERT INTO incident_events (incident_id, at, kind, level, actor, detail) VALUES (?, ?, ?, ?, ?, ?)",
               (incident_id, to_epoch(now), kind, str(level) if level is not None else None, actor, detail))


def set_deadline(db: sqlite3.Connection, incident_id: str, deadline_at: datetime) -> None:
    db.execute("UPDATE incidents SET deadline_at = ? WHERE id = ? AND deadline_at IS NULL",
               (to_epoch(deadline_at), incident_id))


def current(db: sqlite3.Connection, incident_id: str) -> Incident:
    """The incident a story now lives in: staff may have merged it into another."""
    incident = get(db, incident_id)
    for _ in range(100):  # a merge chain; bounded so a corrupt loop cannot hang the daemon
        if incident.status is not Status.MERGED or not incident.merged_into:
            break
        incident = get(db, incident.merged_into)
    return incident


def get(db: sqlite3.Connection, incident_id: str) -> Incident:
    row = db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    if row is None:
        raise IncidentError(f"no incident {incident_id}")
    return _from_row(row)


def listing(store: Store, *, open_only: bool = False, statuses: tuple[Status, ...] = ()) -> list[Incident]:
    """Newest first: all, those not resolved (``open_only``), or those in one of ``statuses``."""
    where = "WHERE status != 'resolved'" if open_only else ""
    if statuses:
        where = f"WHERE status IN ({','.join('?' * len(statuses))})"
    return [_from_row(r) for r in store.query(f"SELECT * FROM incidents {where} ORDER BY opened_at DESC",
                                              tuple(str(s) for s in statuses))]


def acknowledge(store: Store, incident_id: str, by: str, now: datetime, note: str = "",
                client: str | None = None) -> Incident:
    with store.transaction() as db:
        incident = get(db, incident_id)
        if incident.status.done:
            raise IncidentError(f"{incident_id} is already {incident.status}")
        if incident.acked_at is None:
            db.execute("UPDATE incidents SET status = 'acknowledged', acked_at = ?, acked_by = ? WHERE id = ?",
                       (to_epoch(now), by, incident_id))
        audit(db, now, by, "acknowledge", incident_id, note, client)
        event(db, incident_id, now, "acknowledged", None, by, note)
        return get(db, incident_id)


def resolve(store: Store, incident_id: str, by: str, now: datetime, note: str = "",
            client: str | None = None) -> Incident:
    with store.transaction() as db:
        incident = get(db, incident_id)
        if incident.status is not Status.RESOLVED:
            db.execute("UPDATE incidents SET status = 'resolved', resolved_at = ? WHERE id = ?",
                       (to_epoch(now), incident_id))
            timers.cancel_pending(db, incident_id, now, "cancelled:resolved")
        audit(db, now, by, "resolve", incident_id, note, client)
        event(db, incident_id, now, "resolved", None, by, note)
        return get(db, incident_id)


def audit(db: sqlite3.Connection, now: datetime, actor: str, action: str, incident_id: str | None,
          detail: str, client: str | None = None) -> None:
    """Kept for callers that have not moved to ``daemon.store.audit.record``."""
    audit_log.record(db, now, actor, action, incident_id, detail, client)


def next_incident_number(db: sqlite3.Connection, day: str) -> int:
    """The day's next incident number (``YQ-20240501-0003``), counted inside the caller's transaction."""
    return meta.next_number(db, f"incident_seq:{day}")


def mark_merged(db: sqlite3.Connection, incident_id: str, into: str) -> None:
    db.execute("UPDATE incidents SET status = 'merged', merged_into = ? WHERE id = ?", (into, incident_id))


def within_reach(store: Store, since: datetime) -> list[str]:
    """Ids of the stories not closed that had news (or opened) since ``since``."""
    rows = store.query("SELECT id FROM incidents WHERE status != 'closed' AND coalesce(updated_at, opened_at) >= ?",
                       (to_epoch(since),))
    return [r["id"] for r in rows]


def acted_on(store: Store) -> set[str]:
    """Ids of the incidents someone acknowledged or resolved."""
    rows = store.query("SELECT id FROM incidents WHERE acked_at IS NOT NULL OR resolved_at IS NOT NULL")
    return {r["id"] for r in rows}


@dataclass(frozen=True)
class Event:
    """One line of an incident's timeline (``incident_events``)."""

    at: float  # UNIX seconds, as stored
    kind: str
    level: str | None
    actor: str | None
    detail: str


def events(store: Store, incident_id: str) -> list[Event]:
    return [Event(r["at"], r["kind"], r["level"], r["actor"], r["detail"]) for r in store.query(
        "SELECT at, kind, level, actor, detail FROM incident_events WHERE incident_id = ?", (incident_id,))]


def _from_row(row: sqlite3.Row) -> Incident:
    def when(value: float | None) -> datetime | None:
        return None if value is None else from_epoch(value)

    alert = alert_from_dict(loads(row["alert"]))
    deadline = when(row["deadline_at"])
    return Incident(
        id=row["id"], level=Level.parse(row["level"]), status=Status(row["status"]), title=row["title"],
        category=row["category"], teams=tuple(loads(row["teams"])), opened_at=from_epoch(row["opened_at"]),
        level_at=from_epoch(row["level_at"]), alert=dataclasses.replace(alert, deadline=deadline),
        deadline_at=deadline, acked_at=when(row["acked_at"]), acked_by=row["acked_by"],
        resolved_at=when(row["resolved_at"]), spread=loads(row["spread"] or "{}"),
        first_seen=when(row["first_seen"]), first_source=row["first_source"], first_url=row["first_url"],
        resurgences=row["resurgences"] or 0, merged_into=row["merged_into"],
    )


def move_deadlines(db: sqlite3.Connection, by: timedelta) -> int:
    """Move the shown deadline of every unresolved incident by ``by`` (after the wall clock stepped).
    Returns how many moved."""
    moved: int = db.execute("UPDATE incidents SET deadline_at = deadline_at + ? WHERE deadline_at IS NOT NULL"
                            " AND resolved_at IS NULL", (by.total_seconds(),)).rowcount
    return moved


def stored_alert(db: sqlite3.Connection, incident_id: str) -> tuple[Level, Alert] | None:
    """The incident's level and its alert as stored (without the deadline ``get`` adds), if it exists."""
    row = db.execute("SELECT level, alert FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    return None if row is None else (Level.parse(row["level"]), alert_from_dict(loads(row["alert"])))


@dataclass(frozen=True)
class Resolution:
    """An ``incident_events`` row of kind 'resolved': who resolved which incident when, and the note."""

    event_id: int
    incident_id: str
    at: datetime
    actor: str | None
    note: str | None


def resolved_after(db: sqlite3.Connection, event_id: int) -> bool:
    """Whether any incident was resolved in an event after ``event_id``."""
    row = db.execute("SELECT 1 FROM incident_events WHERE id > ? AND kind = 'resolved' LIMIT 1",
                     (event_id,)).fetchone()
    return row is not None


def resolutions_after(db: sqlite3.Connection, event_id: int) -> list[Resolution]:
    """The resolutions recorded after the event ``event_id``, in order."""
    rows = db.execute("SELECT id, incident_id, at, actor, detail FROM incident_events WHERE id > ?"
                      " AND kind = 'resolved' ORDER BY id", (event_id,)).fetchall()
    return [Resolution(r["id"], r["incident_id"], from_epoch(r["at"]), r["actor"], r["detail"]) for r in rows]


def last_event_id(db: sqlite3.Connection) -> int:
    """The id of the latest incident event (0 when there is none)."""
    last: int = db.execute("SELECT coalesce(max(id), 0) FROM incident_events").fetchone()[0]
    return last


# ---------------------------------------------------------------- reads for reports and status


class Opened(NamedTuple):
    id: str
    level: str
    opened_at: datetime


class IncidentEvent(NamedTuple):
    incident_id: str
    at: datetime
    kind: str
    level: str | None
    actor: str | None
    detail: str


def by_ids(store: Store, incident_ids: list[str]) -> list[Incident]:
    """These incidents in the order given, read at once; an id not stored raises ``IncidentError``."""
    ids = sorted(set(incident_ids))
    found = {r["id"]: _from_row(r) for r in store.query(
        f"SELECT * FROM incidents WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))} if ids else {}
    missing = [i for i in incident_ids if i not in found]
    if missing:
        raise IncidentError(f"no incident {missing[0]}")
    return [found[i] for i in incident_ids]


def opened_between(store: Store, start: datetime, end: datetime) -> list[Opened]:
    """Incidents opened in [start, end), in the order they were opened."""
    return [Opened(r["id"], r["level"], from_epoch(r["opened_at"])) for r in store.query(
        "SELECT id, level, opened_at FROM incidents WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at, id",
        (to_epoch(start), to_epoch(end)))]


def with_deadline_between(store: Store, start: datetime, end: datetime) -> list[str]:
    """Incidents whose ``deadline_at`` falls in [start, end)."""
    return [r["id"] for r in store.query("SELECT id FROM incidents WHERE deadline_at >= ? AND deadline_at < ?",
                                         (to_epoch(start), to_epoch(end)))]


def with_events_between(store: Store, start: datetime, end: datetime, kind: str | None = None) -> set[str]:
    """Incidents with an event (of ``kind``, else any) in [start, end)."""
    sql = "SELECT DISTINCT incident_id FROM incident_events WHERE at >= ? AND at < ?"
    params: tuple[object, ...] = (to_epoch(start), to_epoch(end))
    if kind is not None:
        sql, params = sql + " AND kind = ?", (*params, kind)
    return {r["incident_id"] for r in store.query(sql, params)}


def events_of(store: Store, incident_ids: list[str], kinds: tuple[str, ...]) -> dict[str, list[IncidentEvent]]:
    """The events of these kinds of each incident, oldest first, by incident id (none: left out)."""
    ids = sorted(set(incident_ids))
    if not ids or not kinds:
        return {}
    found: dict[str, list[IncidentEvent]] = {}
    rows = store.query(f"SELECT incident_id, at, kind, level, actor, detail FROM incident_events WHERE incident_id"
                       f" IN ({','.join('?' * len(ids))}) AND kind IN ({','.join('?' * len(kinds))})"
                       " ORDER BY at, id", (*ids, *kinds))
    for r in rows:
        found.setdefault(r["incident_id"], []).append(IncidentEvent(
            r["incident_id"], from_epoch(r["at"]), r["kind"], r["level"], r["actor"], r["detail"]))
    return found


def first_messages(store: Store, incident_ids: list[str]) -> dict[str, str]:
    """The message that opened each of these incidents, by incident id (ids not stored: left out)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    return {r["id"]: r["first_message"] for r in store.query(
        f"SELECT id, first_message FROM incidents WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))}


def open_by_level(store: Store) -> dict[str, int]:
    """Open or acknowledged incidents per level, by level name."""
    return {r["level"]: int(r["n"]) for r in store.query(
        "SELECT level, count(*) AS n FROM incidents WHERE status IN ('open', 'acknowledged')"
        " GROUP BY level ORDER BY level")}


def count_not_resolved(store: Store) -> int:
    """Incidents in any status but resolved (closed and merged ones count)."""
    row = store.one("SELECT count(*) FROM incidents WHERE status != 'resolved'")
    return int(row[0]) if row else 0
