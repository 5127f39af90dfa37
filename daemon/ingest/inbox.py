"""One inbox folder and its working folders, worked through directory file descriptors.

Layout (same filesystem, so every move is an atomic rename): ``processing/`` while a file is handled,
``processed/YYYY-MM-DD/`` after, ``failed/`` with ``<name>.error.txt`` when it could not be read. A file
is claimed by renaming it into ``processing/``: whoever loses the race gets FileNotFoundError, so a file
is never handled twice at once.

The inbox is writable by every collector in its group, so any of them could replace ``processing`` or
``failed`` with a symbolic link to the daemon's own state (``yuqing.db``, ``ack.key``). So the working
folders are opened once, with O_NOFOLLOW | O_DIRECTORY, must be real folders owned by the daemon's
user, and every later step (scan, claim, read, move, note) is relative to those descriptors: a name
swapped afterwards is never looked up again, and no link anywhere in the inbox is followed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import structlog

from daemon.clock import local
from daemon.config import InboxSpec
from rules.errors import ConfigError, Problem

log = structlog.get_logger(__name__)

TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp")
SETTLE_SECONDS = 1.0  # a file written in place is taken only once it has not changed for this long
MAX_NAME = 200
MAX_RESUMES = 2  # a file the process died on this many times after resuming it is quarantined next time
RESUMES_FILE = ".resumes.json"  # in processing/: how often each leftover file has been resumed
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\]|[\ud800-\udfff]")  # controls, backslashes, undecodable bytes
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


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


def refused(folder: Path, problem: str) -> ConfigError:
    return ConfigError([Problem(f"{problem}; the daemon works only in real folders of its own inside an"
                                " inbox (docs/operations.md, Failure modes)", path=str(folder))])


class Inbox:
    def __init__(self, spec: InboxSpec) -> None:
        self.spec = spec
        self.path = spec.path
        self.processing = self.path / "processing"
        self.processed = self.path / "processed"
        self.failed = self.path / "failed"
        self.young = 0
        self._fds: dict[Path, int] = {}  # the inbox and its working folders, opened by prepare()
        self._day: tuple[str, int] | None = None  # today's processed/ folder
        self._leftovers: set[str] = set()  # found in processing/ at a scan, not yet begun

    def prepare(self) -> None:
        """Open the inbox (the configured path: the admin's choice) and its working folders, creating
        them; raise ConfigError if one is a link, not a folder, or not the daemon's own."""
        self.close()
        self.path.mkdir(parents=True, exist_ok=True)
        root = os.open(self.path, _DIR)
        self._fds[self.path] = root
        for folder in (self.processing, self.processed, self.failed):
            self._fds[folder] = _own_folder(root, folder)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        if self._day is not None:
            os.close(self._day[1])
        self._fds, self._day = {}, None

    def fd_of(self, path: Path) -> int:
        """The descriptor of the working folder ``path`` is in (a name in it, as this class hands out)."""
        return self._fds[path.parent]

    def ready(self, now: float) -> list[str]:
        """Names in the inbox that look complete, oldest first. ``young`` counts the files skipped
        because they changed less than SETTLE_SECONDS before ``now`` (epoch seconds, compared with their
        mtime; ``inf`` takes every file): the caller looks again soon."""
        found: list[tuple[float, str]] = []
        self.young = 0
        for name, st in _entries(self._fds[self.path]):
            if not self.wanted(name) or stat.S_ISDIR(st.st_mode):
                continue  # our own processing/ and the like; never descended into
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime < SETTLE_SECONDS:
                self.young += 1
            else:  # links, FIFOs and devices are claimed only to be quarantined
                found.append((st.st_mtime, name))
        return [name for _, name in sorted(found)]

    @staticmethod
    def wanted(name: str) -> bool:
        lower = name.lower()
        return bool(name) and not name.startswith(".") and not lower.endswith(TEMP_SUFFIXES) and "/" not in name

    def claim(self, name: str, now: datetime) -> Path | None:
        """Move ``name`` to processing/; None when another scan took it, or it was quarantined at ``now``."""
        root = self._fds[self.path]
        try:
            st = os.stat(name, dir_fd=root, follow_symlinks=False)
            problem = name_problem(name)
            if problem is None and stat.S_ISLNK(st.st_mode):
                problem = "symbolic links are not followed"
            elif problem is None and not stat.S_ISREG(st.st_mode):
                problem = "not a regular file"
            if problem is not None:
                self.quarantine(self.path / name, problem, now)
                log.warning("file.quarantined", file=safe_name(name), inbox=str(self.path), reason=problem)
                return None
            os.rename(name, name, src_dir_fd=root, dst_dir_fd=self._fds[self.processing])
        except FileNotFoundError:
            return None  # taken by a rescan or removed by its producer
        return self.processing / name

    def leftovers(self) -> list[Path]:
        """Files a crash left in processing/: handled again (message ids make that idempotent)."""
        found = sorted(name for name, st in _entries(self._fds[self.processing])
                       if self.wanted(name) and (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)))
        self._leftovers = set(found)
        counts = self._resumes()
        if set(counts) - self._leftovers:  # files an admin took out by hand: forget their count
            self._save_resumes({name: n for name, n in counts.items() if name in self._leftovers})
        return [self.processing / name for name in found]

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

    def sha256_hex(self, path: Path) -> str:
        """The file's SHA-256 for the files table; "" for a link, FIFO or device (never opened through)."""
        digest = hashlib.sha256()
        try:
            fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=self.fd_of(path))
        except OSError:
            return ""
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def finish(self, path: Path, at: datetime) -> Path:
        day = local(at).date().isoformat()
        day_fd = self._day_folder(day)
        target = _free_name(day_fd, path.name)
        os.rename(path.name, target, src_dir_fd=self.fd_of(path), dst_dir_fd=day_fd)
        self._done(path)
        return self.processed / day / target

    def quarantine(self, path: Path, reason: str, at: datetime) -> Path:
        """Move ``path`` (in the inbox or in processing/) to failed/ with its reason beside it. The reason
        is written first: a crash in between leaves the file to be quarantined again, never a file in
        failed/ without its reason."""
        failed = self._fds[self.failed]
        target = _free_name(failed, safe_name(path.name), also=".error.txt")
        shown = path.name if name_problem(path.name) is None else repr(path.name)
        note = (f"file: {shown}\nwhen: {local(at).isoformat(timespec='seconds')}\n"
                f"inbox: {self.path}\n\n{reason}\n")
        fd = os.open(f"{target}.error.txt", _NEW_FILE, 0o666, dir_fd=failed)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(note)
        os.rename(path.name, target, src_dir_fd=self.fd_of(path), dst_dir_fd=failed)
        self._done(path)
        return self.failed / target

    def _day_folder(self, day: str) -> int:
        if self._day is not None and self._day[0] == day:
            return self._day[1]
        fd = _own_folder(self._fds[self.processed], self.processed / day)
        if self._day is not None:
            os.close(self._day[1])
        self._day = (day, fd)
        return fd

    # ---------------------------------------------------------------- resumes, in processing/

    def _done(self, path: Path) -> None:
        if path.parent != self.processing:
            return
        counts = self._resumes()
        if counts.pop(path.name, None) is not None:
            self._save_resumes(counts)

    def _resumes(self) -> dict[str, int]:
        try:
            fd = os.open(RESUMES_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._fds[self.processing])
            with os.fdopen(fd, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning("inbox.resumes_unreadable", inbox=str(self.path))  # counting starts again
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, int)}

    def _save_resumes(self, counts: dict[str, int]) -> None:
        folder = self._fds[self.processing]
        if not counts:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(RESUMES_FILE, dir_fd=folder)
            return
        tmp = f"{RESUMES_FILE}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=folder)
        with os.fdopen(os.open(tmp, _NEW_FILE, 0o600, dir_fd=folder), "w", encoding="utf-8") as fh:
            json.dump(counts, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, RESUMES_FILE, src_dir_fd=folder, dst_dir_fd=folder)
        os.fsync(folder)


def _own_folder(parent: int, folder: Path) -> int:
    """``folder`` (a name in ``parent``), created if missing, opened without following a link, and
    refused unless it is a real folder owned by the daemon's user."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder.name, dir_fd=parent)
    try:
        fd = os.open(folder.name, _DIR | os.O_NOFOLLOW, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise refused(folder, "is a symbolic link or not a folder") from None
        raise
    owner = os.fstat(fd).st_uid
    if owner != os.geteuid():
        os.close(fd)
        raise refused(folder, f"is owned by uid {owner}, not by the daemon's user (uid {os.geteuid()})")
    return fd


def _entries(folder: int) -> Iterator[tuple[str, os.stat_result]]:
    """(name, lstat) of every entry of an open folder; entries that vanish meanwhile are skipped."""
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                yield entry.name, entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue


def _free_name(folder: int, name: str, also: str = "") -> str:
    """``x.json``, else ``x.1.json``, ``x.2.json`` …, free in ``folder`` (and with ``also`` appended, for
    the reason beside it): a re-sent file never overwrites an earlier one, and nothing planted there is
    written through."""
    stem, suffix = os.path.splitext(name)
    for n in range(100_000):
        candidate = name if n == 0 else f"{stem}.{n}{suffix}"
        if not any(_exists(folder, c) for c in (candidate, candidate + also) if c):
            return candidate
    raise FileExistsError(name)


def _exists(folder: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True
