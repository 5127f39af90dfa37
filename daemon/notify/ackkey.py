"""The secret that signs acknowledgement links: ``http.ack_secret``, else ``state_dir/ack.key``.

Whoever holds the key can acknowledge any incident, so it is refused when it is short (under
``MIN_BYTES``), readable or writable by anyone but its owner, or reached through a symbolic link; each
refusal names the file and the fix. A new key is written whole (temp file, fsync, rename, fsync of the
folder) with mode 0600, so a crash never leaves an empty or partial key behind.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import structlog

from daemon.config import Config
from rules.errors import ConfigError, Problem

log = structlog.get_logger(__name__)

SECRET_FILE = "ack.key"
MIN_BYTES = 32  # 256 bits, the size of the HMAC-SHA256 key


def load_secret(config: Config) -> bytes:
    """The signing key; ConfigError naming the file when it cannot be trusted."""
    if config.ack_secret is not None:
        secret = config.ack_secret.encode()
        if len(secret) < MIN_BYTES:
            raise _refused(str(config.path), f"http.ack_secret has {len(secret)} bytes; use at least {MIN_BYTES} bytes"
                           " (for example `openssl rand -hex 32`)")
        return secret
    path = config.state_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not os.path.lexists(path):
        _create(path)
    return _read(path)


def _read(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if os.path.islink(path):
            raise _refused(str(path), "is a symbolic link; the key must be a plain file in state_dir") from exc
        raise _refused(str(path), f"cannot be read: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as key:
        info = os.fstat(key.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _refused(str(path), "is not a plain file")
        if info.st_mode & 0o077:
            raise _refused(str(path), f"has mode {stat.S_IMODE(info.st_mode):04o}: other users could sign"
                           f" acknowledgements; run `chmod 600 {path}`")
        secret = key.read(64 * 1024).strip()
    if len(secret) < MIN_BYTES:
        raise _refused(str(path), f"holds {len(secret)} bytes; it needs at least {MIN_BYTES} bytes."
                       " Delete the file to have a new one made (links already sent stop working)")
    return secret


def _create(path: Path) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_hex(MIN_BYTES).encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(temp, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        pass
    finally:
        temp.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    log.info("ack.secret_created", path=str(path))


def _refused(where: str, message: str) -> ConfigError:
    return ConfigError([Problem(f"acknowledgement key {message}", path=where)])
