"""Inbound folders: watch them, read claimed files (daemon.ingest.formats), publish into spool inboxes.

The folders themselves, their working folders and every move between them are daemon.ingest.inbox.
Feeds and the HTTP endpoint publish into spool inboxes under ``state_dir/spool`` the same way
collectors do, so one path, one thread and one set of guarantees cover every kind of input.
"""

from __future__ import annotations

import io
import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from daemon.clock import unique_stamp
from daemon.config import Config, InboxSpec
from daemon.ingest.encodings import sniff_encoding
from daemon.ingest.formats import FileRejected, read_records
from daemon.ingest.inbox import MAX_RESUMES, SETTLE_SECONDS, Inbox, name_problem, safe_name
from rules.model import Message

log = structlog.get_logger(__name__)

__all__ = ["MAX_RESUMES", "SETTLE_SECONDS", "FileRejected", "Inbox", "Parsed", "Watcher", "decode", "name_problem",
           "parse_file", "publish", "safe_name", "spool_dir", "spool_specs"]

SPOOLS = ("http", "feeds")


def spool_dir(config: Config, name: str) -> Path:
    return config.state_dir / "spool" / name


def spool_specs(config: Config) -> list[InboxSpec]:
    """The inboxes the HTTP endpoint and the feed poller publish into (messages name their source)."""
    return [InboxSpec(spool_dir(config, name), format="jsonl") for name in SPOOLS]


@dataclass
class Parsed:
    messages: list[Message] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "record 3: …", "line 7: …"


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else the legacy CJK encoding daemon.ingest.encodings finds; FileRejected
    when in doubt."""
    return data.decode(sniff_encoding(io.BytesIO(data)))


def parse_file(path: Path, spec: InboxSpec, max_bytes: int) -> Parsed:
    """The whole file at once: for `yuqing explain` and tests; the service streams with read_records."""
    parsed = Parsed()
    for record in read_records(path, spec, max_bytes):
        if record.message is not None:
            parsed.messages.append(record.message)
        else:
            parsed.errors.append(f"{record.where}: {record.error}")
    return parsed


@dataclass(frozen=True)
class Event:
    inbox: int  # index into the service's inboxes
    name: str
    complete: bool  # closed by its writer or renamed in: safe to take at once


class _Handler(FileSystemEventHandler):
    """Only enqueues names: work in the watchdog thread would stall inotify and overflow its queue."""

    def __init__(self, index: int, events: queue.Queue[Event]) -> None:
        self.index = index
        self.events = events

    def _put(self, path: str | bytes, complete: bool) -> None:
        name = os.path.basename(os.fsdecode(path))
        if Inbox.wanted(name):
            self.events.put(Event(self.index, name, complete))

    def on_closed(self, event: FileSystemEvent) -> None:  # the writer closed it: complete
        self._put(event.src_path, complete=True)

    def on_created(self, event: FileSystemEvent) -> None:
        # The start of an in-place write (inotify IN_CREATE): not complete until it is closed or has
        # settled. (With full events a rename from another folder arrives as a move, below.)
        if not event.is_directory:
            self._put(event.src_path, complete=False)

    def on_moved(self, event: FileSystemEvent) -> None:
        # Renamed into the inbox (IN_MOVED_TO), from inside it or from another folder: complete by the
        # collector contract (write elsewhere, then rename), so taken at once. A move *out* of the inbox
        # (our own claim into processing/) has no destination here and is ignored.
        if event.dest_path and not event.is_directory:
            self._put(event.dest_path, complete=True)


def _observer() -> BaseObserver:
    """inotify where there is inotify, without IN_MOVED_FROM (``_inbox_observer``); elsewhere watchdog's
    default backend (polling or another), which reports rename-ins as created: they then wait for the
    settle time."""
    try:
        return _inbox_observer()
    except ImportError:  # not Linux
        return Observer()


def _inbox_observer() -> BaseObserver:
    """Full events (a file renamed in from a folder we do not watch is reported as moved in, IN_MOVED_TO,
    so it is complete at once) and no IN_MOVED_FROM at all. watchdog holds a move *out* back for 0.5 s to
    pair it with a move in, and every later event of the inbox queues behind it; our own claim of each
    file into processing/ is such a move, so at 20 files a second each arrival waited half a second. The
    inbox never needs the pairing: a rename within it still arrives as IN_MOVED_TO."""
    from watchdog.observers.inotify import InotifyFullEmitter, InotifyObserver
    from watchdog.observers.inotify_c import WATCHDOG_ALL_EVENTS, InotifyConstants, Mask

    class InboxEmitter(InotifyFullEmitter):
        def get_event_mask_from_filter(self) -> Mask:
            return Mask(WATCHDOG_ALL_EVENTS & ~InotifyConstants.IN_MOVED_FROM)

    observer = InotifyObserver(generate_full_events=True)
    # No public hook chooses the emitter's mask; tests/daemon/ingest/test_folders.py notices if this stops working.
    observer._emitter_class = InboxEmitter
    return observer


class Watcher:
    """watchdog on every inbox; the service also rescans periodically, since inotify can overflow."""

    def __init__(self, inboxes: list[Inbox]) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.observer = _observer()
        for index, inbox in enumerate(inboxes):
            self.observer.schedule(_Handler(index, self.events), str(inbox.path), recursive=False)

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)

    def drain(self, timeout: float) -> Iterator[Event]:
        try:
            yield self.events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            try:
                yield self.events.get_nowait()
            except queue.Empty:
                return


def publish(folder: Path, stem: str, lines: list[str]) -> Path:
    """Deliver JSONL into an inbox the way collectors must: a hidden temp name, fsync, then rename.
    Once this returns the messages are as safe as any file in the inbox."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{stem}-{unique_stamp()}-{os.getpid()}.jsonl"
    tmp = folder / f".{name}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, folder / name)
    return folder / name
