"""Repository of the ``sessions`` table: the console's logged-in browsers.

A session is a random token (``secrets``, 256 bits) in an HttpOnly, SameSite=Strict cookie; the table
keeps only its SHA-256, so a copy of the database (a backup) opens no session. Each session has its own
CSRF token, which every form posts back. A session ends at its expiry (a duty shift, ``console.session_ttl``)
or at logout; expired rows are deleted at the next login.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.clock import from_epoch, to_epoch
from daemon.store import Store

_TOKEN_BYTES = 32


@dataclass(frozen=True)
class Session:
    person: str
    csrf: str
    client: str  # the address it logged in from
    created_at: datetime
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(store: Store, person: str, client: str, now: datetime, ttl: timedelta) -> tuple[str, Session]:
    """A new session for ``person``: (the cookie's token, the session). Expired sessions are purged."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    session = Session(person, secrets.token_urlsafe(_TOKEN_BYTES), client, now, now + ttl)
    with store.transaction() as db:
        db.execute("DELETE FROM sessions WHERE expires_at <= ?", (to_epoch(now),))
        db.execute("INSERT INTO sessions (token_hash, person, csrf, client, created_at, expires_at)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   (_digest(token), person, session.csrf, client, to_epoch(now), to_epoch(session.expires_at)))
    return token, session


def find(store: Store, token: str, now: datetime) -> Session | None:
    """The session of this cookie token, if it exists and has not expired."""
    if not token:
        return None
    row = store.one("SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?", (_digest(token), to_epoch(now)))
    return None if row is None else _from_row(row)


def end(db: sqlite3.Connection, token: str) -> bool:
    """Log out (inside the caller's transaction, with its audit line): whether there was such a session."""
    return db.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),)).rowcount > 0


def end_all(store: Store, person: str) -> int:
    """End every session of ``person`` (their password changed or was removed)."""
    with store.transaction() as db:
        return end_every(db, person)


def end_every(db: sqlite3.Connection, person: str) -> int:
    """End every session of ``person`` inside the caller's transaction (with its audit line): how many."""
    ended: int = db.execute("DELETE FROM sessions WHERE person = ?", (person,)).rowcount
    return ended


def of_person(store: Store, person: str, now: datetime) -> list[Session]:
    """The live sessions of ``person``, newest first (their browsers: from where, until when)."""
    return [_from_row(r) for r in store.query(
        "SELECT * FROM sessions WHERE person = ? AND expires_at > ? ORDER BY created_at DESC", (person, to_epoch(now)))]


def active(store: Store, now: datetime) -> list[Session]:
    return [_from_row(r) for r in store.query("SELECT * FROM sessions WHERE expires_at > ? ORDER BY created_at",
                                              (to_epoch(now),))]


def _from_row(row: sqlite3.Row) -> Session:
    return Session(row["person"], row["csrf"], row["client"], from_epoch(row["created_at"]),
                   from_epoch(row["expires_at"]))
