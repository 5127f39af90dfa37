"""RSS/Atom feeds: conditional GET on each feed's interval, new entries published into the feed spool.

A poll that brings new entries writes them as one JSONL file into ``state_dir/spool/feeds`` (temp name,
fsync, rename) and only then records their guids and the feed's ETag / Last-Modified: a crash in
between makes the next poll fetch them again, and message ids make that harmless. The evaluation
thread reads the spool like any inbox, so this thread never touches jieba or the rule engine.
Errors back off exponentially; the log gets one event when a feed starts failing and one when it
recovers, never one per poll.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import feedparser
import structlog

from daemon.clock import Clock, to_epoch
from daemon.config import Config, FeedSpec
from daemon.ingest.folders import publish
from daemon.ingest.formats import strip_html
from daemon.store import Store
from daemon.store.health import StoreUnwritable
from rules.message import MessageError, message_from_dict

log = structlog.get_logger(__name__)

USER_AGENT = "yuqing-sentinel (feed poller)"
MAX_FEED_BYTES = 20 * 1024 * 1024


class FeedError(Exception):
    """Why a poll failed, in words for the log and `yuqing status`."""


@dataclass
class FeedState:
    etag: str | None = None
    modified: str | None = None
    state: str = "new"  # new | ok | failing
    failures: int = 0
    next_poll_at: float = 0.0
    last_error: str | None = None


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: 304 Not Modified
    etag: str | None
    modified: str | None


def fetch(spec: FeedSpec, state: FeedState, max_bytes: int = MAX_FEED_BYTES) -> Fetched:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, */*"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.modified:
        headers["If-Modified-Since"] = state.modified
    request = urllib.request.Request(spec.url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=spec.timeout.total_seconds()) as response:
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FeedError(f"feed larger than {max_bytes} bytes")
            return Fetched(body, response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, state.etag, state.modified)
        raise FeedError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FeedError(f"cannot reach: {exc.reason}") from None
    except (TimeoutError, OSError, ValueError) as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}") from None


def entry_record(spec: FeedSpec, entry: Any) -> tuple[str, dict[str, Any]] | None:
    """(guid, inbound message object) for a feedparser entry; None when it has no words at all."""
    title = strip_html(str(entry.get("title") or ""))
    contents = entry.get("content") or []
    raw = (contents[0].get("value") if contents else None) or entry.get("summary") or ""
    text = strip_html(str(raw)) or title
    if not text:
        return None
    link = entry.get("link")
    guid = str(entry.get("id") or link or hashlib.sha256(f"{title}\x00{text}".encode()).hexdigest())
    digest = hashlib.sha256(f"{spec.url}\x00{guid}".encode()).hexdigest()[:24]
    obj: dict[str, Any] = {"id": f"feed-{digest}", "source": spec.source, "title": title, "text": text,
                           "url": link, "region": spec.region}
    if entry.get("author"):
        obj["author"] = {"name": str(entry.get("author"))}
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    if stamp:
        try:
            year, month, day, hour, minute, second = (int(n) for n in stamp[:6])
            obj["published_at"] = datetime(year, month, day, hour, minute, second, tzinfo=UTC).isoformat()
        except (TypeError, ValueError, OverflowError):  # feedparser turns "0000-00-00" into year -1
            log.warning("feed.bad_date", feed=spec.url, guid=guid, date=str(stamp)[:120])
    return guid, obj


class FeedPoller:
    """One thread for all feeds, each on its own interval. ``poll`` is one attempt, for tests too.
    ``now`` is the injected wall clock in epoch seconds: when to poll next is stored with the feed."""

    def __init__(self, feeds: tuple[FeedSpec, ...], store: Store, spool: Path, *, now: Callable[[], float]) -> None:
        self.feeds = feeds
        self.store = store
        self.spool = spool
        self.now = now
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="feeds", daemon=True)
        self.thread.start()
        log.info("feeds.started", feeds=[f.url for f in self.feeds])

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                if not self.store.health.writable:  # take no new items until the store takes writes again
                    self.stopping.wait(1.0)
                    continue
                states = {spec.url: self.load(spec.url) for spec in self.feeds}
                for spec in self.feeds:
                    if self.stopping.is_set():
                        return
                    if states[spec.url].next_poll_at <= self.now():
                        with contextlib.suppress(StoreUnwritable):  # polled again once it can be recorded
                            self.poll(spec)
                        states[spec.url] = self.load(spec.url)
                due = min(s.next_poll_at for s in states.values())
                self.stopping.wait(min(max(due - self.now(), 0.05), 5.0))
        except Exception:  # a bug here must not take the daemon down; files and HTTP go on
            log.exception("feeds.error")
        finally:
            self.store.close()  # this thread's connection

    # ---------------------------------------------------------------- one poll

    def poll(self, spec: FeedSpec) -> int:
        """Fetch, publish new entries, record state. Returns how many entries were new; never raises
        for a feed's own faults."""
        state = self.load(spec.url)
        try:
            fetched = fetch(spec, state)
            lines, guids = self._new_entries(spec, fetched.body) if fetched.body is not None else ([], [])
        except FeedError as exc:
            self._failed(spec, state, str(exc))
            return 0
        except sqlite3.Error:
            raise  # the store's problem, not the feed's
        except Exception as exc:  # a feed that breaks the parser is that feed's problem: it backs off
            log.exception("feed.reader_failed", feed=spec.url)
            self._failed(spec, state, f"could not be read: {type(exc).__name__}: {exc}")
            return 0
        if lines:
            publish(self.spool, "feed", lines)
        self._succeeded(spec, state, fetched, guids)
        return len(lines)

    def _new_entries(self, spec: FeedSpec, body: bytes) -> tuple[list[str], list[str]]:
        parsed = feedparser.parse(body)
        if parsed.get("bozo") and not parsed.get("entries") and not parsed.get("feed"):
            raise FeedError(f"not an RSS or Atom feed: {parsed.get('bozo_exception')}")
        lines: list[str] = []
        guids: list[str] = []
        for entry in parsed.get("entries", []):
            try:
                found = entry_record(spec, entry)
            except Exception as exc:  # one odd entry must not cost the feed its other entries
                log.warning("feed.entry_skipped", feed=spec.url, problem=f"{type(exc).__name__}: {exc}")
                continue
            if found is None:
                continue
            guid, obj = found
            if guid in guids or self.store.one("SELECT 1 FROM feed_seen WHERE url = ? AND guid = ?",
                                                 (spec.url, guid)):
                continue
            try:
                message_from_dict(obj)
            except MessageError as exc:
                log.warning("feed.entry_skipped", feed=spec.url, guid=guid, problem=str(exc))
                continue
            guids.append(guid)
            lines.append(json.dumps(obj, ensure_ascii=False))
        return lines, guids

    def _succeeded(self, spec: FeedSpec, state: FeedState, fetched: Fetched, guids: list[str]) -> None:
        now = self.now()
        with self.store.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO feed_seen (url, guid, at) VALUES (?, ?, ?)",
                           [(spec.url, g, now) for g in guids])
            self._save(db, spec.url, FeedState(fetched.etag, fetched.modified, "ok", 0,
                                               now + spec.every.total_seconds(), None), ok_at=now)
        if state.state == "failing":
            log.info("feed.recovered", feed=spec.url, after_failures=state.failures)
        elif state.state == "new":
            log.info("feed.ok", feed=spec.url)
        if guids:
            log.info("feed.entries", feed=spec.url, new=len(guids))

    def _failed(self, spec: FeedSpec, state: FeedState, error: str) -> None:
        failures = state.failures + 1
        delay = backoff(spec, failures)
        with self.store.transaction() as db:
            self._save(db, spec.url, FeedState(state.etag, state.modified, "failing", failures,
                                               self.now() + delay, error), ok_at=None)
        if state.state != "failing":
            log.warning("feed.failing", feed=spec.url, error=error, retry_in_s=round(delay, 1))

    # ---------------------------------------------------------------- state

    def load(self, url: str) -> FeedState:
        row = self.store.one("SELECT * FROM feed_state WHERE url = ?", (url,))
        if row is None:
            return FeedState()
        return FeedState(row["etag"], row["modified"], row["state"], row["failures"], row["next_poll_at"] or 0.0,
                         row["last_error"])

    @staticmethod
    def _save(db: Any, url: str, s: FeedState, ok_at: float | None) -> None:
        db.execute(
            "INSERT INTO feed_state (url, etag, modified, state, failures, next_poll_at, last_error, last_ok_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"
            " modified = excluded.modified, state = excluded.state, failures = excluded.failures,"
            " next_poll_at = excluded.next_poll_at, last_error = excluded.last_error,"
            " last_ok_at = coalesce(excluded.last_ok_at, last_ok_at)",
            (url, s.etag, s.modified, s.state, s.failures, s.next_poll_at, s.last_error, ok_at))


def backoff(spec: FeedSpec, failures: int) -> float:
    """Seconds before the next try: the interval (at most a minute) doubled per failure, capped."""
    base = min(spec.every.total_seconds(), 60.0)
    cap = max(spec.max_backoff.total_seconds(), base)
    return float(min(base * 2 ** min(failures - 1, 30), cap))


def start_feeds(config: Config, store: Store, spool: Path, clock: Clock) -> FeedPoller | None:
    if not config.feeds:
        return None
    poller = FeedPoller(config.feeds, store, spool, now=lambda: to_epoch(clock.now()))
    poller.start()
    return poller


# ---------------------------------------------------------------- housekeeping (retention, clock steps)


def forget_seen(db: sqlite3.Connection, before: datetime) -> int:
    """Forget the feed items first seen before ``before``. Returns how many rows went."""
    removed: int = db.execute("DELETE FROM feed_seen WHERE at < ?", (to_epoch(before),)).rowcount
    return removed


def move_polls(db: sqlite3.Connection, by: timedelta) -> int:
    """Move every feed's next poll by ``by`` (after the wall clock stepped). Returns how many moved."""
    moved: int = db.execute("UPDATE feed_state SET next_poll_at = next_poll_at + ? WHERE next_poll_at IS NOT NULL",
                            (by.total_seconds(),)).rowcount
    return moved


class FeedHeard(NamedTuple):
    url: str
    last_item_at: float | None  # UNIX seconds of the newest item seen
    last_ok_at: float | None  # of the last poll that succeeded


def last_heard(store: Store) -> list[FeedHeard]:
    """Every feed polled so far, by URL: when it last brought a new item and when it last answered."""
    rows = store.query("SELECT s.url, (SELECT max(at) FROM feed_seen f WHERE f.url = s.url) AS item,"
                       " s.last_ok_at FROM feed_state s ORDER BY s.url")
    return [FeedHeard(r["url"], r["item"], r["last_ok_at"]) for r in rows]
