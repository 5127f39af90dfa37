"""Inbound folders: claim complete files, read them (daemon.formats), quarantine what cannot be read.

Layout inside each inbox (same filesystem, so every move is an atomic rename):
``processing/`` while a file is handled, ``processed/YYYY-MM-DD/`` after, ``failed/`` with
``<name>.error.txt`` when it could not be read. A file is claimed by renaming it into ``processing/``:
whoever loses the race gets FileNotFoundError, so a file is never handled twice at once.
Feeds and the HTTP endpoint publish into spool inboxes under ``state_dir/spool`` the same way, so one
path, one thread and one set of guarantees cover every kind of input.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
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
from daemon.config import Config, InboxSpec
from daemon.encodings import sniff_encoding
from daemon.formats import FileRejected, read_records
from rules.model import Message

log = structlog.get_logger(__name__)

__all__ = ["FileRejected", "Inbox", "Parsed", "Watcher", "decode", "parse_file", "publish", "spool_dir", "spool_specs"]

TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp")
SETTLE_SECONDS = 1.0  # a file written in place is taken only once it has not changed for this long
MAX_NAME = 200
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\]|[\ud800-\udfff]")  # controls, backslashes, undecodable bytes
SPOOLS = ("http", "feeds")
MAX_RESUMES = 2  # a file the process died on this many times after resuming it is quarantined next time
RESUMES_FILE = ".resumes.json"  # in processing/: how often each leftover file has been resumed


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
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312). Never guesses past that."""
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


def name_problem(name: str) -> str | None:
    """Names a collector's tool would never produce but a path trick would."""
    if _BAD_NAME.search(name):
        return f"unsafe file name {name!r} (control characters, backslashes or bytes that are not UTF-8)"
    if len(name) > MAX_NAME:
        return f"file name longer than {MAX_NAME} characters"
    return None


def safe_name(name: str) -> str:
    cleaned = _BAD_NAME.sub("_", name)[:MAX_NAME]
    return cleaned if cleaned.strip(". ") else "unnamed"


class Inbox:
    def __init__(self, spec: InboxSpec) -> None:
        self.spec = spec
        self.path = spec.path
        self.processing = self.path / "processing"
        self.processed = self.path / "processed"
        self.failed = self.path / "failed"
        self.young = 0
        self._leftovers: set[str] = set()  # found in processing/ at a scan, not yet begun

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
                if stat.S_ISDIR(st.st_mode):
                    continue  # our own processing/ and the like; never descended into
                if stat.S_ISREG(st.st_mode) and now - st.st_mtime < SETTLE_SECONDS:
                    self.young += 1
                else:  # links, FIFOs and devices are claimed only to be quarantined
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
            st = os.lstat(source)
            problem = name_problem(name)
            if problem is None and stat.S_ISLNK(st.st_mode):
                problem = "symbolic links are not followed"
            elif problem is None and not stat.S_ISREG(st.st_mode):
                problem = "not a regular file"
            if problem is not None:
                self.quarantine_path(source, problem)
                log.warning("file.quarantined", file=safe_name(name), inbox=str(self.path), reason=problem)
                return None
            os.rename(source, target)
        except FileNotFoundError:
            return None  # taken by a rescan or removed by its producer
        return target

    def leftovers(self) -> list[Path]:
        """Files a crash left in processing/: handled again (message ids make that idempotent)."""
        found = sorted(p for p in self.processing.iterdir()
                       if Inbox.wanted(p.name) and (p.is_file() or p.is_symlink()))
        self._leftovers = {p.name for p in found}
        return found

    def begin(self, name: str) -> int:
        """Called just before a claimed file is read: 0 for a file taken from the inbox, else how often it
        has now been resumed, counted durably, so a file that kills the process cannot do so for ever."""
        if name not in self._leftovers:
            return 0
        self._leftovers.discard(name)
        counts = self._resumes()
        counts[name] = counts.get(name, 0) + 1
        self._save_resumes(counts)
        return counts[name]

    def not_its_fault(self, name: str) -> None:
        """The attempt failed for a reason outside the file (the store): it does not count against it."""
        counts = self._resumes()
        if counts.get(name, 0) > 0:
            counts[name] -= 1
            self._save_resumes(counts)

    def _done(self, name: str) -> None:
        counts = self._resumes()
        if counts.pop(name, None) is not None:
            self._save_resumes(counts)

    def _resumes(self) -> dict[str, int]:
        try:
            data = json.loads((self.processing / RESUMES_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning("inbox.resumes_unreadable", inbox=str(self.path))  # counting starts again
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, int)}

    def _save_resumes(self, counts: dict[str, int]) -> None:
        target = self.processing / RESUMES_FILE
        if not counts:
            target.unlink(missing_ok=True)
            return
        tmp = self.processing / f"{RESUMES_FILE}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(counts, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, target)
        _fsync_dir(self.processing)

    def finish(self, path: Path, at: datetime) -> Path:
        day = self.processed / local(at).date().isoformat()
        day.mkdir(parents=True, exist_ok=True)
        target = _free_name(day / path.name)
        os.rename(path, target)
        self._done(path.name)
        return target

    def quarantine(self, path: Path, reason: str, at: datetime) -> Path:
        # The reason is written first: a crash in between leaves the file to be quarantined again,
        # never a file in failed/ without its reason.
        target = _free_name(self.failed / safe_name(path.name))
        shown = path.name if name_problem(path.name) is None else repr(path.name)
        note = (f"file: {shown}\nwhen: {local(at).isoformat(timespec='seconds')}\n"
                f"inbox: {self.path}\n\n{reason}\n")
        Path(f"{target}.error.txt").write_text(note, encoding="utf-8", errors="backslashreplace")
        os.rename(path, target)
        if path.parent == self.processing:
            self._done(path.name)
        return target

    def quarantine_path(self, path: Path, reason: str) -> None:
        self.quarantine(path, reason, datetime.now().astimezone())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _free_name(target: Path) -> Path:
    """``x.json``, else ``x.1.json``, ``x.2.json`` …: a re-sent file never overwrites an earlier one."""
    if not target.exists() and not target.is_symlink():
        return target
    for n in range(1, 100_000):
        candidate = target.with_name(f"{target.stem}.{n}{target.suffix}")
        if not candidate.exists() and not candidate.is_symlink():
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


def publish(folder: Path, stem: str, lines: list[str]) -> Path:
    """Deliver JSONL into an inbox the way collectors must: a hidden temp name, fsync, then rename.
    Once this returns the messages are as safe as any file in the inbox."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{stem}-{time.time_ns()}-{os.getpid()}.jsonl"
    tmp = folder / f".{name}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, folder / name)
    return folder / name
