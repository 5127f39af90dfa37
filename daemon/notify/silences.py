"""Silences (静默): mute a rule, a category or one incident until a given time, with who and why.

A silence ends by itself at ``until``; nothing has to remember to lift it, and `yuqing status` lists
the ones in force so none is forgotten. Escalation asks ``active(db, incident, now)`` before queueing
an incident's notifications; ``covers`` is the pure test behind it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from daemon import incidents
from daemon.clock import from_epoch, local, to_epoch
from daemon.incidents import Incident
from daemon.store import Store

Kind = Literal["rule", "category", "incident"]
KINDS: tuple[Kind, ...] = ("rule", "category", "incident")


class SilenceError(ValueError):
    pass


@dataclass(frozen=True)
class Silence:
    id: int
    kind: Kind
    target: str  # a rule id, a category (征地拆迁) or an incident id
    until: datetime
    created_by: str
    reason: str
    created_at: datetime
    removed_at: datetime | None = None
    removed_by: str | None = None

    def in_force(self, now: datetime) -> bool:
        return self.removed_at is None and now < self.until

    def describe(self) -> str:
        """One line for `yuqing silence list` and `yuqing status`; times in Asia/Shanghai."""
        until = local(self.until).strftime("%Y-%m-%d %H:%M")
        return f"#{self.id} {self.kind} {self.target} until {until} by {self.created_by}: {self.reason}"


def rule_ids(incident: Incident) -> tuple[str, ...]:
    """The ids of the rules an incident matched (its alert keeps them as ``"rule-id 标题"``)."""
    return tuple(entry.split(" ", 1)[0] for entry in incident.alert.rules if entry.strip())


def covers(silence: Silence, incident: Incident, now: datetime) -> bool:
    """Whether ``silence`` mutes ``incident`` at ``now``. Pure."""
    if not silence.in_force(now):
        return False
    if silence.kind == "incident":
        return silence.target == incident.id
    if silence.kind == "category":
        return silence.target in (incident.category, incident.alert.category)
    return silence.target in rule_ids(incident)


def first_covering(silences: Iterable[Silence], incident: Incident, now: datetime) -> Silence | None:
    return next((s for s in silences if covers(s, incident, now)), None)


def active(db: sqlite3.Connection, incident: Incident, now: datetime) -> Silence | None:
    """The silence in force that mutes ``incident`` at ``now``, or None: its notifications are queued."""
    return first_covering(current(db, now), incident, now)


def current(db: sqlite3.Connection, now: datetime) -> list[Silence]:
    """Silences in force at ``now``, soonest to end first."""
    rows = db.execute("SELECT * FROM silences WHERE removed_at IS NULL AND until > ? ORDER BY until, id",
                      (to_epoch(now),)).fetchall()
    return [_from_row(r) for r in rows]


def add(store: Store, kind: str, target: str, until: datetime, by: str, reason: str, now: datetime,
        client: str | None = None) -> Silence:
    """A new silence, audited. ``until`` must be in the future and the reason must be said."""
    if kind not in KINDS:
        raise SilenceError(f'unknown silence kind "{kind}"; use one of {", ".join(KINDS)}')
    if not target.strip():
        raise SilenceError(f"a {kind} silence needs a target")
    if until <= now:
        raise SilenceError(f"--until {local(until):%Y-%m-%d %H:%M} is not in the future")
    if not reason.strip() or not by.strip():
        raise SilenceError("a silence needs --by and --reason: who muted what, and why")
    with store.transaction() as db:
        if kind == "incident":
            incidents.get(db, target)  # IncidentError for an unknown id: a typo must not mute nothing
        cursor = db.execute(
            "INSERT INTO silences (kind, target, until, created_by, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, target, to_epoch(until), by, reason, to_epoch(now)))
        silence_id = int(cursor.lastrowid or 0)
        incidents.audit(db, now, by, "silence", target if kind == "incident" else None,
                        f"#{silence_id} {kind} {target} until {local(until).isoformat()}: {reason}", client)
        return _get(db, silence_id)


def remove(store: Store, silence_id: int, by: str, now: datetime, client: str | None = None) -> Silence:
    """End a silence early (kept, marked removed, for the record); ``client``: the address it came from."""
    with store.transaction() as db:
        silence = _get(db, silence_id)
        if silence.removed_at is None:
            db.execute("UPDATE silences SET removed_at = ?, removed_by = ? WHERE id = ?",
                       (to_epoch(now), by, silence_id))
            incidents.audit(db, now, by, "unsilence", silence.target if silence.kind == "incident" else None,
                            f"#{silence_id} {silence.kind} {silence.target}", client)
        return _get(db, silence_id)


def _get(db: sqlite3.Connection, silence_id: int) -> Silence:
    row = db.execute("SELECT * FROM silences WHERE id = ?", (silence_id,)).fetchone()
    if row is None:
        raise SilenceError(f"no silence #{silence_id}")
    return _from_row(row)


def _from_row(row: sqlite3.Row) -> Silence:
    kind: Kind = row["kind"]
    return Silence(id=row["id"], kind=kind, target=row["target"], until=from_epoch(row["until"]),
                   created_by=row["created_by"], reason=row["reason"], created_at=from_epoch(row["created_at"]),
                   removed_at=None if row["removed_at"] is None else from_epoch(row["removed_at"]),
                   removed_by=row["removed_by"])
