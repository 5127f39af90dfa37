"""Repository of the ``files`` and ``messages`` tables: inbound files handled, messages stored with their
hash (de-duplication), verdict, incident and latest spread figures. Every read and write of these tables
is a function here, taking the caller's connection (inside its transaction) or the ``Store``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.clock import to_epoch
from daemon.store import Store


@dataclass(frozen=True)
class StoredMessage:
    id: str
    hash: str
    level: str
    incident_id: str | None


def find_message(store: Store, message_id: str, content_hash: str) -> StoredMessage | None:
    """A message already seen under this id, or with the same content under another id."""
    row = store.one("SELECT id, hash, level, incident_id FROM messages WHERE id = ?", (message_id,))
    if row is None:
        row = store.one("SELECT id, hash, level, incident_id FROM messages WHERE hash = ? LIMIT 1", (content_hash,))
    return None if row is None else StoredMessage(row["id"], row["hash"], row["level"], row["incident_id"])


def count_messages(store: Store) -> int:
    return _count(store, "SELECT count(*) FROM messages")


def count_received_between(store: Store, start: datetime, end: datetime) -> int:
    """Messages received in [start, end)."""
    return _count(store, "SELECT count(*) FROM messages WHERE received_at >= ? AND received_at < ?",
                  (to_epoch(start), to_epoch(end)))


def count_by_source(store: Store) -> dict[str, int]:
    """Messages taken in per source, by source name."""
    return {r["source"]: int(r["n"]) for r in store.query(
        "SELECT source, count(*) AS n FROM messages GROUP BY source ORDER BY source")}


def count_by_level(store: Store) -> dict[str, int]:
    """Messages per verdict level ('none': no rule matched), by level name."""
    return {r["level"]: int(r["n"]) for r in store.query(
        "SELECT level, count(*) AS n FROM messages GROUP BY level ORDER BY level")}


def last_received_by_source(store: Store) -> dict[str, float]:
    """When each source last delivered a message (UNIX seconds), by source name."""
    return {r["source"]: r["at"] for r in store.query(
        "SELECT source, max(received_at) AS at FROM messages GROUP BY source ORDER BY source")}


def incidents_with_messages_between(store: Store, start: datetime, end: datetime) -> set[str]:
    """Incidents that received a message in [start, end)."""
    return {r[0] for r in store.query(
        "SELECT DISTINCT incident_id FROM messages WHERE incident_id IS NOT NULL AND received_at >= ?"
        " AND received_at < ?", (to_epoch(start), to_epoch(end)))}


def regions(store: Store, message_ids: Iterable[str]) -> dict[str, Any]:
    """The ``region`` field collectors set on these messages (None when unset), by message id; ids of
    messages not stored are left out."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r["id"]: r["region"] for r in store.query(
        f"SELECT id, json_extract(data, '$.region') AS region FROM messages WHERE id IN ({marks})", tuple(ids))}


def count_failed_files(store: Store) -> int:
    return _count(store, "SELECT count(*) FROM files WHERE status = 'failed'")


def last_file_by_inbox(store: Store) -> dict[str, float]:
    """When each inbox folder last had a file handled (UNIX seconds), by folder."""
    return {r["inbox"]: r["at"] for r in store.query("SELECT inbox, max(at) AS at FROM files GROUP BY inbox")}


def _count(store: Store, sql: str, params: tuple[Any, ...] = ()) -> int:
    row = store.one(sql, params)
    return int(row[0]) if row else 0
