"""One daemon per state_dir, and the state file it started with.

Two daemons on one state database would both fire the same timers and send the same notices (and one
of them fails later on a unique key). The first takes an exclusive lock on ``state_dir/yuqing.lock``
(flock: released by the kernel when the process ends, however it ends) and writes its pid there; a
second one exits at once naming that pid.

A state file deleted or replaced under a running daemon leaves it writing to a file nobody will read
again; ``StoreWatch`` notices by the file's identity, so the service can stop with an error and be
restarted by systemd on whatever file is there now.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from rules.errors import ConfigError, Problem

LOCK_NAME = "yuqing.lock"


class StateDirLocked(ConfigError):
    """Another daemon runs on this state_dir."""


@dataclass
class StateLock:
    path: Path
    fd: int

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def lock_state_dir(state_dir: Path) -> StateLock:
    """Take the state_dir's lock for as long as this process runs, or raise ``StateDirLocked``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o640)
    except OSError as exc:  # a symlink (ELOOP) or no permission: never lock, or write to, another file
        raise ConfigError([Problem(f"cannot open the lock file: {exc.strerror}", path=str(path))]) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise StateDirLocked([Problem(
            f"another yuqing daemon (pid {holder}) is running on state_dir {state_dir}; stop it first"
            " (systemctl stop yuqing), or give this one a state_dir of its own", path=str(path))]) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    os.fsync(fd)
    return StateLock(path, fd)


def _holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"


class StoreWatch:
    """Whether the state file is still the one the daemon opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity = _identity(path)

    def problem(self) -> str | None:
        try:
            identity = _identity(self.path)
        except FileNotFoundError:
            return "deleted"
        return None if identity == self.identity else "replaced by another file"


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino
