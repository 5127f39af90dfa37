"""The console's password file: person key (of notify.yaml's people) → an scrypt hash.

```yaml
# yuqing console users: written by `yuqing console-user set NAME`
zhang: "scrypt$16384$8$1$<salt, base64>$<hash, base64>"
```

``hashlib.scrypt`` (RFC 7914, memory-hard) from the standard library: no new dependency. The cost
parameters are stored in each hash, so raising them later leaves old hashes readable. The file is read at
every login (small, and a user set or removed takes effect without a restart); it is written whole to a
temporary name and renamed, mode 0600: it holds no secret, but its hashes are worth guessing at offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import yaml

from rules.errors import ConfigError, Problem

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # OWASP's minimum for scrypt; about 50 ms and 16 MiB a check
_SALT_BYTES = 16
_HASH_BYTES = 32
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD = 10  # characters
HEADER = "# yuqing console users: written by `yuqing console-user set NAME`; one line per person of notify.yaml\n"


def hash_password(password: str, *, n: int = N) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=R, p=P, maxmem=_MAXMEM, dklen=_HASH_BYTES)
    return f"{SCHEME}${n}${R}${P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (compared in constant time); False for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(digest, validate=True)
        if len(expected) != _HASH_BYTES:  # a cut hash would otherwise match a prefix: refuse it whole
            return False
        found = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt, validate=True), n=int(n), r=int(r),
                               p=int(p), maxmem=_MAXMEM, dklen=_HASH_BYTES)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


def password_problem(password: str) -> str | None:
    """Why a new password is refused (in Chinese, for the person typing it), or None."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 个字符。"
    if len(set(password)) < 4:
        return "密码过于简单。"
    return None


def read_users(path: Path) -> dict[str, str]:
    """Person key → hash; an absent file is no users. A file that is not a mapping of strings is a
    ConfigError (the console then lets nobody in, and says why in the log)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(f"not YAML: {exc}", path=str(path))]) from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError([Problem("expected lines of `name: hash`", path=str(path))])
    return dict(data)


def write_users(path: Path, users: dict[str, str]) -> None:
    lines = "".join(f"{key}: \"{value}\"\n" for key, value in sorted(users.items()))
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(HEADER + lines)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def set_password(path: Path, person: str, password: str) -> None:
    users = read_users(path)
    users[person] = hash_password(password)
    write_users(path, users)


def remove_user(path: Path, person: str) -> bool:
    users = read_users(path)
    if users.pop(person, None) is None:
        return False
    write_users(path, users)
    return True


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
