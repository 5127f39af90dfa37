"""Repository of the append-only ``audit`` table: who did what, when and from where (acknowledgements,
resolutions, silences, merges and splits, console logins and notes). Every read and write of the table
is a function here; there is no update or delete."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from daemon.clock import from_epoch, to_epoch
from daemon.store import Store


def record(db: sqlite3.Connection, now: datetime, actor: str, action: str, incident_id: str | None,
           detail: str, client: str | None = None) -> None:
    """One line of the audit log, inside the caller's transaction (with the change it records).
    ``client``: the address an action came from (the console's); None for the CLI."""
    db.execute("INSERT INTO audit (at, actor, action, incident_id, detail, client) VALUES (?, ?, ?, ?, ?, ?)",
               (to_epoch(now), actor, action, incident_id, detail, client))


class AuditEntry(NamedTuple):
    incident_id: str
    at: datetime
    actor: str
    action: str
    detail: str
    client: str | None = None


def _entry(r: sqlite3.Row) -> AuditEntry:
    return AuditEntry(r["incident_id"], from_epoch(r["at"]), r["actor"], r["action"], r["detail"], r["client"])


def entries_for_incidents(store: Store, incident_ids: Iterable[str], action: str | None = None,
                          ) -> dict[str, list[AuditEntry]]:
    """The entries (of ``action``, else all) of each of these incidents, oldest first, by incident id
    (none: left out)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    sql = f"SELECT incident_id, at, actor, action, detail, client FROM audit WHERE incident_id IN ({marks})"
    params: tuple[object, ...] = tuple(ids)
    if action is not None:
        sql, params = sql + " AND action = ?", (*params, action)
    found: dict[str, list[AuditEntry]] = {}
    for r in store.query(sql + " ORDER BY at, id", params):
        found.setdefault(r["incident_id"], []).append(_entry(r))
    return found


def since(store: Store, start: datetime | None = None, limit: int | None = None) -> list[AuditEntry]:
    """Every entry from ``start`` on (all without one), oldest first; the newest ``limit`` of them."""
    sql = "SELECT incident_id, at, actor, action, detail, client FROM audit WHERE at >= ? ORDER BY at DESC, id DESC"
    params: tuple[object, ...] = (to_epoch(start) if start else float("-inf"),)
    if limit is not None:
        sql, params = sql + " LIMIT ?", (*params, limit)
    return [_entry(r) for r in reversed(store.query(sql, params))]


def page(store: Store, *, actor: str | None = None, start: datetime | None = None, end: datetime | None = None,
         limit: int = 50, offset: int = 0) -> list[AuditEntry]:
    """One page of entries, newest first: of ``actor`` (everyone's without one), from ``start`` (inclusive)
    to ``end`` (exclusive). Bounded: at most ``limit`` rows (capped at 500) after skipping ``offset``."""
    sql = "SELECT incident_id, at, actor, action, detail, client FROM audit WHERE at >= ? AND at < ?"
    params: tuple[object, ...] = (to_epoch(start) if start else float("-inf"), to_epoch(end) if end else float("inf"))
    if actor is not None:
        sql, params = sql + " AND actor = ?", (*params, actor)
    sql += " ORDER BY at DESC, id DESC LIMIT ? OFFSET ?"
    return [_entry(r) for r in store.query(sql, (*params, max(0, min(limit, 500)), max(0, offset)))]
