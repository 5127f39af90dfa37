"""Inbound folders: claim complete files, parse JSON / JSONL messages, quarantine what cannot be read.

Layout inside each inbox (same filesystem, so every move is an atomic rename):
``processing/`` while a file is handled, ``processed/YYYY-MM-DD/`` after, ``failed/`` with
``<name>.error.txt`` when it could not be read. A file is claimed by renaming it into ``processing/``:
whoever loses the race gets FileNotFoundError, so a file is never handled twice at once.
"""

from __future__ import annotations

import json
import os
import queue
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from daemon.clock import local
from daemon.config import InboxSpec
from rules.message import MessageError, message_from_dict
from rules.model import Message

log = structlog.get_logger(__name__)

SUFFIXES = (".json", ".jsonl")
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp")
SETTLE_SECONDS = 1.0  # a file written in place is taken only once it has not changed for this long


class FileRejected(Exception):
    """The whole file is unusable; the reason goes into ``<name>.error.txt``."""


@dataclass
class Parsed:
    messages: list[Message] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "record 3: …", "line 7: …"


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312). Never guesses past that."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"not UTF-8 or GB18030 text (undecodable byte at offset {exc.start})") from None


def parse_file(path: Path, spec: InboxSpec, max_bytes: int) -> Parsed:
    size = path.stat().st_size
    if size > max_bytes:
        raise FileRejected(f"file is {size} bytes, over the limit of {max_bytes}")
    text = decode(path.read_bytes())
    if "\x00" in text:
        raise FileRejected("binary content (NUL bytes)")
    records = _jsonl_records(text) if path.suffix.lower() == ".jsonl" else _json_records(text)
    parsed = Parsed()
    for where, record in records:
        if isinstance(record, str):  # a syntax error carried through
            parsed.errors.append(f"{where}: {record}")
            continue
        try:
            parsed.messages.append(message_from_dict(record, default_source=spec.source,
                                                     default_region=spec.region))
        except MessageError as exc:
            parsed.errors.append(f"{where}: {exc}")
    if not parsed.messages and not parsed.errors:
        raise FileRejected("no messages in file")
    return parsed


def _json_records(text: str) -> list[tuple[str, object]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise FileRejected("JSON nested too deep") from None
    if isinstance(data, list):
        return [(f"record {i}", item) for i, item in enumerate(data, 1)]
    return [("record 1", data)]


def _jsonl_records(text: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            out.append((f"line {number}", f"invalid JSON at column {exc.colno}: {exc.msg}"))
        except RecursionError:
            out.append((f"line {number}", "JSON nested too deep"))
    return out


class Inbox:
    def __init__(self, spec: InboxSpec) -> None:
        self.spec = spec
        self.path = spec.path
        self.processing = self.path / "processing"
        self.processed = self.path / "processed"
        self.failed = self.path / "failed"
        self.young = 0

    def prepare(self) -> None:
        for folder in (self.path, self.processing, self.processed, self.failed):
            folder.mkdir(parents=True, exist_ok=True)

    def ready(self, now: float | None = None) -> list[str]:
        """Names in the inbox that look complete, oldest first. ``young`` counts the files skipped
        because they changed less than SETTLE_SECONDS ago: the caller looks again soon."""
        now = time.time() if now is None else now
        found: list[tuple[float, str]] = []
        self.young = 0
        with os.scandir(self.path) as entries:
            for entry in entries:
                if not self.wanted(entry.name):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode) and now - st.st_mtime < SETTLE_SECONDS:
                    self.young += 1
                elif stat.S_ISLNK(st.st_mode) or stat.S_ISREG(st.st_mode):
                    found.append((st.st_mtime, entry.name))
        return [name for _, name in sorted(found)]

    @staticmethod
    def wanted(name: str) -> bool:
        lower = name.lower()
        return not name.startswith(".") and not lower.endswith(TEMP_SUFFIXES) and "/" not in name

    def claim(self, name: str) -> Path | None:
        source = self.path / name
        target = self.processing / name
        try:
            if source.is_symlink():
                self.quarantine_path(source, "symbolic links are not followed")
                return None
            os.rename(source, target)
        except FileNotFoundError:
            return None  # taken by a rescan or removed by its producer
        return target

    def leftovers(self) -> list[Path]:
        """Files a crash left in processing/: handled again (message ids make that idempotent)."""
        return sorted(p for p in self.processing.iterdir() if p.is_file())

    def finish(self, path: Path, at: datetime) -> Path:
        day = self.processed / local(at).date().isoformat()
        day.mkdir(parents=True, exist_ok=True)
        target = _free_name(day / path.name)
        os.rename(path, target)
        return target

    def quarantine(self, path: Path, reason: str, at: datetime) -> Path:
        target = _free_name(self.failed / path.name)
        os.rename(path, target)
        note = (f"file: {path.name}\nwhen: {local(at).isoformat(timespec='seconds')}\n"
                f"inbox: {self.path}\n\n{reason}\n")
        Path(f"{target}.error.txt").write_text(note, encoding="utf-8")
        return target

    def quarantine_path(self, path: Path, reason: str) -> None:
        self.quarantine(path, reason, datetime.now().astimezone())


def _free_name(target: Path) -> Path:
    """``x.json``, else ``x.1.json``, ``x.2.json`` …: a re-sent file never overwrites an earlier one."""
    if not target.exists() and not target.is_symlink():
        return target
    for n in range(1, 100_000):
        candidate = target.with_name(f"{target.stem}.{n}{target.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(target)


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
        # A rename-in gives only "created" (complete), but so does the start of an in-place write
        # (not complete): treat it as unknown and let the settle time decide.
        if not event.is_directory:
            self._put(event.src_path, complete=False)

    def on_moved(self, event: FileSystemEvent) -> None:  # renamed into the inbox: complete
        self._put(event.dest_path, complete=True)


class Watcher:
    """watchdog on every inbox; the service also rescans periodically, since inotify can overflow."""

    def __init__(self, inboxes: list[Inbox]) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.observer = Observer()
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
