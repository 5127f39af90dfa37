"""Repository of the append-only ``audit`` table: who did what, when (acknowledgements, resolutions,
silences, merges and splits). Every read and write of the table is a function here."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from daemon.clock import from_epoch, to_epoch
from daemon.store import Store


def record(db: sqlite3.Connection, now: datetime, actor: str, action: str, incident_id: str | None,
           detail: str) -> None:
    """One line of the audit log, inside the caller's transaction (with the change it records)."""
    db.execute("INSERT INTO audit (at, actor, action, incident_id, detail) VALUES (?, ?, ?, ?, ?)",
               (to_epoch(now), actor, action, incident_id, detail))


class AuditEntry(NamedTuple):
    incident_id: str
    at: datetime
    actor: str
    action: str
    detail: str


def entries_for_incidents(store: Store, incident_ids: Iterable[str], action: str) -> dict[str, list[AuditEntry]]:
    """The ``action`` entries of each of these incidents, oldest first, by incident id (none: left out)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    found: dict[str, list[AuditEntry]] = {}
    for r in store.query(f"SELECT incident_id, at, actor, action, detail FROM audit WHERE incident_id IN ({marks})"
                         " AND action = ? ORDER BY at, id", (*ids, action)):
        found.setdefault(r["incident_id"], []).append(
            AuditEntry(r["incident_id"], from_epoch(r["at"]), r["actor"], r["action"], r["detail"]))
    return found
