"""Repository of the ``files`` and ``messages`` tables: inbound files handled, messages stored with their
hash (de-duplication), verdict, incident and latest spread figures. Every read and write of these tables
is a function here, taking the caller's connection (inside its transaction) or the ``Store``."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from daemon.clock import from_epoch, to_epoch
from daemon.store import Store, dumps, loads

# When a member of a story appeared: its publication time if the collector knew it (never later than
# receipt).
SEEN = "min(coalesce(published_at, received_at), received_at)"
CHUNK = 500  # ids per ``IN (…)``: far below SQLite's limit on bound parameters


@dataclass(frozen=True)
class StoredMessage:
    id: str
    hash: str
    level: str
    incident_id: str | None


@dataclass(frozen=True)
class MessageRecord:
    """A stored message as read back; its JSON columns are parsed when first used."""

    id: str
    source: str
    level: str
    incident_id: str | None
    received_at: float  # UNIX seconds, as stored
    data_json: str
    verdict_json: str

    @cached_property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = loads(self.data_json)
        return value

    @cached_property
    def verdict(self) -> dict[str, Any]:
        value: dict[str, Any] = loads(self.verdict_json)
        return value


@dataclass(frozen=True)
class MemberFigures:
    """Sums over a story's member messages (``daemon.incidents.spread`` makes its ``Spread`` of them)."""

    messages: int
    platforms: int
    authors: int
    reposts: int
    comments: int
    likes: int
    views: int
    max_followers: int
    recent: int  # members that appeared at or after the time asked about


@dataclass(frozen=True)
class FirstMember:
    source: str
    url: str | None
    seen: datetime


_RECORD = "SELECT id, source, level, incident_id, received_at, data, verdict FROM messages"


def _record(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord(id=row["id"], source=row["source"], level=row["level"], incident_id=row["incident_id"],
                         received_at=row["received_at"], data_json=row["data"], verdict_json=row["verdict"])


def find(store: Store, message_id: str, content_hash: str) -> StoredMessage | None:
    """A message already seen under this id, or with the same content under another id."""
    row = store.one("SELECT id, hash, level, incident_id FROM messages WHERE id = ?", (message_id,))
    if row is None:
        row = store.one("SELECT id, hash, level, incident_id FROM messages WHERE hash = ? LIMIT 1",
                        (content_hash,))
    return None if row is None else StoredMessage(row["id"], row["hash"], row["level"], row["incident_id"])


def insert(db: sqlite3.Connection, columns: Mapping[str, object]) -> None:
    """A new message; ``columns`` maps column names to values."""
    db.execute(f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
               tuple(columns.values()))


def data_of(db: sqlite3.Connection, message_id: str) -> dict[str, Any] | None:
    """The message as stored (``rules.message.message_to_dict``), None for an unknown id."""
    row = db.execute("SELECT data FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        return None
    value: dict[str, Any] = loads(row["data"])
    return value


def update_data(db: sqlite3.Connection, message_id: str, data: Mapping[str, Any], now: datetime) -> None:
    """A newer copy of a message: its data and the counts kept beside it from ``data["metrics"]``."""
    metrics = data.get("metrics") or {}
    db.execute("UPDATE messages SET data = ?, updated_at = ?, reposts = ?, comments = ?, likes = ?,"
               " views = ? WHERE id = ?",
               (dumps(data), to_epoch(now), metrics.get("reposts", 0), metrics.get("comments", 0),
                metrics.get("likes", 0), metrics.get("views", 0), message_id))


def record_file(db: sqlite3.Connection, inbox: str, name: str, sha256: str, status: str, records: int,
                reason: str | None, now: datetime) -> None:
    """An inbound file handled: processed, or failed (set aside) with the reason."""
    db.execute("INSERT INTO files (inbox, name, sha256, status, records, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (inbox, name, sha256, status, records, reason, to_epoch(now)))


def member_figures(db: sqlite3.Connection, incident_id: str, recent_since: datetime) -> MemberFigures:
    """One indexed aggregate over the story's members, however many there are."""
    row = db.execute(
        "SELECT count(*) AS n, count(DISTINCT source) AS platforms, count(DISTINCT author_key) AS authors,"
        " total(reposts) AS reposts, total(comments) AS comments, total(likes) AS likes, total(views) AS views,"
        f" max(followers) AS followers, total({SEEN} >= ?) AS recent"
        " FROM messages WHERE incident_id = ?",
        (to_epoch(recent_since), incident_id)).fetchone()
    return MemberFigures(messages=row["n"], platforms=row["platforms"], authors=row["authors"],
                         reposts=int(row["reposts"]), comments=int(row["comments"]), likes=int(row["likes"]),
                         views=int(row["views"]), max_followers=row["followers"] or 0, recent=int(row["recent"]))


def first_member(db: sqlite3.Connection, incident_id: str) -> FirstMember | None:
    """The member that appeared first (by id among those at the same time)."""
    row = db.execute(
        f"SELECT source, json_extract(data, '$.url') AS url, {SEEN} AS seen FROM messages"
        f" WHERE incident_id = ? ORDER BY {SEEN}, id LIMIT 1", (incident_id,)).fetchone()
    return None if row is None else FirstMember(row["source"], row["url"], from_epoch(row["seen"]))


def move_members(db: sqlite3.Connection, from_incident: str, to_incident: str) -> None:
    """Every member of ``from_incident`` joins ``to_incident`` (a merge)."""
    db.execute("UPDATE messages SET incident_id = ? WHERE incident_id = ?", (to_incident, from_incident))


def assign(db: sqlite3.Connection, message_ids: Sequence[str], incident_id: str) -> None:
    """These messages now belong to ``incident_id`` (a split)."""
    db.executemany("UPDATE messages SET incident_id = ? WHERE id = ?", [(incident_id, mid) for mid in message_ids])


def member(db: sqlite3.Connection, message_id: str, incident_id: str) -> MessageRecord | None:
    """The message if it is a member of ``incident_id``."""
    row = db.execute(f"{_RECORD} WHERE id = ? AND incident_id = ?", (message_id, incident_id)).fetchone()
    return None if row is None else _record(row)


def count_members(db: sqlite3.Connection, incident_id: str) -> int:
    row = db.execute("SELECT count(*) FROM messages WHERE incident_id = ?", (incident_id,)).fetchone()
    return int(row[0])


def members(store: Store, incident_id: str) -> list[MessageRecord]:
    """The messages of one incident, in the order stored."""
    return [_record(r) for r in store.query(f"{_RECORD} WHERE incident_id = ?", (incident_id,))]


def members_of(store: Store, incident_ids: Collection[str]) -> list[MessageRecord]:
    """The messages of these incidents, oldest received first."""
    ids = sorted(set(incident_ids))
    found: list[MessageRecord] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found += [_record(r) for r in store.query(
            f"{_RECORD} WHERE incident_id IN ({', '.join('?' * len(chunk))}) ORDER BY received_at", tuple(chunk))]
    return sorted(found, key=lambda m: m.received_at) if len(ids) > CHUNK else found


def by_ids(store: Store, message_ids: Collection[str]) -> dict[str, MessageRecord]:
    """The stored messages among ``message_ids``, by id."""
    ids = sorted(set(message_ids))
    found: dict[str, MessageRecord] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for row in store.query(f"{_RECORD} WHERE id IN ({', '.join('?' * len(chunk))})", tuple(chunk)):
            found[row["id"]] = _record(row)
    return found


def in_incidents_since(store: Store, since: datetime) -> list[MessageRecord]:
    """Messages received since ``since`` that belong to an incident, by receipt then id."""
    return [_record(r) for r in store.query(
        f"{_RECORD} WHERE incident_id IS NOT NULL AND received_at >= ? ORDER BY received_at, id", (to_epoch(since),))]


def plain_since(store: Store, since: datetime) -> Iterator[MessageRecord]:
    """Messages received since ``since`` that no rule matched and no incident holds, ordered by content
    hash (a fixed, evenly spread order), read as the caller goes."""
    cursor = store.db.execute(
        f"{_RECORD} WHERE level = 'none' AND incident_id IS NULL AND received_at >= ? ORDER BY hash",
        (to_epoch(since),))
    try:
        for row in cursor:
            yield _record(row)
    finally:
        cursor.close()


def received_between(store: Store, start: datetime | None, end: datetime | None) -> Iterator[MessageRecord]:
    """Messages received in [start, end) (either end open when None), read as the caller goes: one
    cursor, so a span of 500,000 messages is never a list. In storage order (for the daemon's own rows,
    the order received); callers that need another order sort what they keep."""
    cursor = store.db.execute(f"{_RECORD} WHERE received_at >= ? AND received_at < ?", _span(start, end))
    try:
        for row in cursor:
            yield _record(row)
    finally:
        cursor.close()


def _span(start: datetime | None, end: datetime | None) -> tuple[float, float]:
    return (to_epoch(start) if start else float("-inf"), to_epoch(end) if end else float("inf"))


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


def incidents_with_messages_between(store: Store, start: datetime | None, end: datetime | None) -> set[str]:
    """Incidents that received a message in [start, end) (either end open when None)."""
    return {r[0] for r in store.query(
        "SELECT DISTINCT incident_id FROM messages WHERE incident_id IS NOT NULL AND received_at >= ?"
        " AND received_at < ?", _span(start, end))}


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
