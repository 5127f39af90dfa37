"""State: the SQLite database (this module) and whether it takes writes (``health``).

The schema, its migrations, the connections and transactions of the SQLite state. Each table is read
and written by its repository module (tests/daemon/store/test_ownership.py names them), never here.

WAL mode so the delivery thread and the CLI read while the service writes. Every effect is recorded
in the same transaction as the state change that caused it, so a restart repeats nothing already done.
Times are stored as UNIX seconds (REAL), UTC. ``Store.in_memory()`` is the same database without a file,
for tests that build the whole service (tests/daemon/app/test_build.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from daemon.clock import Clock, SystemClock
from daemon.store.health import StoreHealth, StoreUnwritable, is_unwritable
from rules.errors import ConfigError, Problem

SCHEMA_VERSION = 6
# How long a write waits for another writer (the delivery thread, a CLI command) before it counts as a
# store that cannot be written. Well under systemd's WatchdogSec=30 (docs/deploy.md).
BUSY_TIMEOUT = 10.0

# Columns added after a table first shipped: (table, column, definition). Applied once, in order, to
# state files created by an older version; new files get them from the migration too.
MIGRATIONS: tuple[tuple[int, str, str, str], ...] = (
    (2, "incidents", "spread", "TEXT NOT NULL DEFAULT '{}'"),
    (2, "incidents", "first_seen", "REAL"),
    (2, "incidents", "first_source", "TEXT"),
    (2, "incidents", "first_url", "TEXT"),
    (2, "incidents", "updated_at", "REAL"),
    (2, "incidents", "resurgences", "INTEGER NOT NULL DEFAULT 0"),
    (3, "outbox", "meta", "TEXT NOT NULL DEFAULT '{}'"),
    (3, "outbox", "alert", "TEXT"),
    # A message's latest figures, so a story's spread is one aggregate (daemon/incidents/spread.py).
    (4, "messages", "author_key", "TEXT"),
    (4, "messages", "reposts", "INTEGER NOT NULL DEFAULT 0"),
    (4, "messages", "comments", "INTEGER NOT NULL DEFAULT 0"),
    (4, "messages", "likes", "INTEGER NOT NULL DEFAULT 0"),
    (4, "messages", "views", "INTEGER NOT NULL DEFAULT 0"),
    (4, "messages", "followers", "INTEGER NOT NULL DEFAULT 0"),
    (4, "messages", "published_at", "REAL"),
    (5, "incidents", "merged_into", "TEXT"),
    # Where an action came from (the console's client address); NULL for the CLI and older rows.
    (6, "audit", "client", "TEXT"),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, inbox TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
    status TEXT NOT NULL, records INTEGER NOT NULL, reason TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL,
    received_at REAL NOT NULL, updated_at REAL NOT NULL, file TEXT, level TEXT NOT NULL,
    verdict TEXT NOT NULL, incident_id TEXT);
CREATE INDEX IF NOT EXISTS messages_hash ON messages (hash);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, level TEXT NOT NULL, status TEXT NOT NULL, title TEXT NOT NULL,
    category TEXT NOT NULL, teams TEXT NOT NULL, opened_at REAL NOT NULL, level_at REAL NOT NULL,
    deadline_at REAL, acked_at REAL, acked_by TEXT, resolved_at REAL, first_message TEXT NOT NULL,
    alert TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status);
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, incident_id TEXT, level TEXT, step INTEGER,
    round INTEGER NOT NULL DEFAULT 0, due_at REAL NOT NULL, fired_at REAL, outcome TEXT,
    UNIQUE (kind, incident_id, level, step, round));
CREATE INDEX IF NOT EXISTS timers_due ON timers (fired_at, due_at);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, incident_id TEXT, channel TEXT NOT NULL, recipients TEXT NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL, last_error TEXT, created_at REAL NOT NULL, sent_at REAL);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, notification_id TEXT NOT NULL, at REAL NOT NULL, outcome TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS digest_items (
    id INTEGER PRIMARY KEY, incident_id TEXT NOT NULL, step INTEGER NOT NULL, added_at REAL NOT NULL,
    sent_at REAL, UNIQUE (incident_id, step));
CREATE TABLE IF NOT EXISTS incident_events (
    id INTEGER PRIMARY KEY, incident_id TEXT NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL,
    level TEXT, actor TEXT, detail TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events (incident_id, at);
CREATE INDEX IF NOT EXISTS messages_incident ON messages (incident_id);
CREATE TABLE IF NOT EXISTS feed_state (
    url TEXT PRIMARY KEY, etag TEXT, modified TEXT, state TEXT NOT NULL DEFAULT 'new',
    failures INTEGER NOT NULL DEFAULT 0, next_poll_at REAL, last_error TEXT, last_ok_at REAL);
CREATE TABLE IF NOT EXISTS feed_seen (
    url TEXT NOT NULL, guid TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (url, guid));
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    incident_id TEXT, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE TABLE IF NOT EXISTS report_timers (
    kind TEXT NOT NULL, day TEXT NOT NULL, due_at REAL NOT NULL, fired_at REAL, outcome TEXT,
    PRIMARY KEY (kind, day));
CREATE TABLE IF NOT EXISTS deadlines (
    id INTEGER PRIMARY KEY, incident_id TEXT NOT NULL, level TEXT NOT NULL, name TEXT NOT NULL,
    met_by TEXT NOT NULL, started_at REAL NOT NULL, due_at REAL NOT NULL, met_at REAL,
    missed INTEGER NOT NULL DEFAULT 0, outcome TEXT, UNIQUE (incident_id, level, name, started_at));
CREATE INDEX IF NOT EXISTS deadlines_due ON deadlines (due_at);
CREATE TABLE IF NOT EXISTS sms_sent (person TEXT NOT NULL, at REAL NOT NULL, notification_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sms_sent_person ON sms_sent (person, at);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, until REAL NOT NULL,
    created_by TEXT NOT NULL, reason TEXT NOT NULL, created_at REAL NOT NULL, removed_at REAL,
    removed_by TEXT);
CREATE INDEX IF NOT EXISTS silences_until ON silences (removed_at, until);
CREATE TABLE IF NOT EXISTS reviews (
    message_id TEXT PRIMARY KEY, at REAL NOT NULL, score REAL NOT NULL, features TEXT NOT NULL,
    scorer TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reviews_at ON reviews (at);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, person TEXT NOT NULL, csrf TEXT NOT NULL, client TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
"""


class StoreTooNew(ConfigError):
    """The state database was written by a newer version: using it could lose or corrupt what that
    version stored, so nothing is read or written."""


MEMORY = Path(":memory:")  # the ``path`` of an in-memory store: no file to lock, watch or back up


class Store:
    """A connection per thread; ``transaction()`` is the only way to write."""

    def __init__(self, path: Path, busy_timeout: float = BUSY_TIMEOUT, clock: Clock | None = None, *,
                 read_only: bool = False) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.health = StoreHealth(path, clock or SystemClock())
        self._local = threading.local()
        self._target: str | Path = path
        self._anchor: sqlite3.Connection | None = None  # an in-memory database lives while a connection does
        self.read_only = read_only
        if read_only:
            # SQLite itself refuses every write (mode=ro): a tool beside the running daemon can never
            # change its state, not even by the schema script or a migration (neither runs).
            if not path.is_file():
                raise ConfigError([Problem("no state database here", path=str(path))])
            refuse_newer(path, stored_version(path))
            self._target = f"{path.resolve().as_uri()}?mode=ro"
            return
        if path == MEMORY:
            # memdb, unlike ":memory:", is one database for every connection of the process that names it,
            # so the delivery thread sees what the evaluation thread wrote, with SQLite's own locking.
            self._target = f"file:/yuqing-{uuid.uuid4().hex}?vfs=memdb"
            self._anchor = sqlite3.connect(self._target, uri=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            refuse_newer(path, stored_version(path))  # before the first write: WAL mode, tables, migrations
        self.db.executescript(SCHEMA)  # executescript commits on its own: not inside transaction()
        self._migrate()

    @classmethod
    def in_memory(cls, clock: Clock | None = None) -> Store:
        """A real SQLite database with the same schema, held in memory: for tests that build the whole
        pipeline without a state_dir. ``close()`` keeps it (a test reads what a service that closed its store
        wrote); it is gone with this object."""
        return cls(MEMORY, clock=clock)

    @property
    def on_disk(self) -> bool:
        return self._anchor is None

    def _migrate(self) -> None:
        from daemon.store import meta  # here, not at the top: the repository modules import this one

        with self.transaction() as db:
            stored = meta.schema_version(db)
            current = stored if stored is not None else 1
            refuse_newer(self.path, current)  # raised inside the transaction: rolled back, nothing written
            for version, table, column, definition in MIGRATIONS:
                if version > current:
                    columns = {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}
                    if column not in columns:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            meta.record_schema_version(db, SCHEMA_VERSION)

    @property
    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._target, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=True, uri=self.read_only or not self.on_disk)
            conn.row_factory = sqlite3.Row
            if self.read_only:
                conn.execute("PRAGMA query_only=ON")
            else:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction. A store that cannot be written now (disk full, locked past the busy
        timeout) raises ``StoreUnwritable`` and marks ``health``; the next commit that succeeds clears it."""
        db = self.db
        changes = db.total_changes
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):  # SQLite may have rolled back already (SQLITE_FULL)
                    db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            if not is_unwritable(exc):
                raise
            self.health.failed(exc)
            if isinstance(exc, StoreUnwritable):
                raise
            raise StoreUnwritable(str(exc)) from exc
        if db.total_changes != changes:  # a transaction that only read proves nothing about writing
            self.health.succeeded()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside sees the database as of the first one, whatever the
        daemon commits meanwhile (WAL readers are never blocked and never block it)."""
        db = self.db
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("ROLLBACK")  # only reads happened: nothing to keep

    def probe(self, busy_timeout: float = 0.5) -> bool:
        """Whether a small write goes through now, waiting at most ``busy_timeout`` for another writer:
        for a paused service to find out, without blocking systemd's watchdog, that it may go on."""
        from daemon.store import meta  # here, not at the top: the repository modules import this one

        db = self.db
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        try:
            with self.transaction() as tx:
                meta.write_probe(tx)
            return True
        except StoreUnwritable:
            return False
        finally:
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ---------------------------------------------------------------- reads

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self.db.execute(sql, params))

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(sql, params).fetchone()
        return row


def stored_version(path: Path) -> int | None:
    """The schema version a state file says it has, read without writing anything (None: a new file)."""
    from daemon.store import meta  # here, not at the top: the repository modules import this one

    if not path.exists():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return meta.schema_version(conn)
    except sqlite3.OperationalError:  # no meta table yet: an empty or very old file, migrated as usual
        return None
    finally:
        conn.close()


def refuse_newer(path: Path, version: int | None) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise StoreTooNew([Problem(
            f"the state database has schema version {version}, written by a newer yuqing-sentinel; this"
            f" version understands schema versions up to {SCHEMA_VERSION} and will neither read nor change"
            " it. Run the newer version again, or restore the backup taken before the upgrade",
            path=str(path))])


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def loads(text: str) -> Any:
    return json.loads(text)
