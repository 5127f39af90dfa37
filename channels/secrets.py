"""The credentials file named by notify.yaml (``credentials: /etc/yuqing/credentials.yaml``).

A flat YAML mapping ``NAME: value`` whose names fill ``${NAME}`` in notify.yaml, like environment
variables. It must be readable by its owner only (``chmod 600``): a file others can read is refused,
not used with a warning, because by then the secrets are already exposed and the fix is one command.
Values never appear in errors; names do.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import yaml

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CredentialsError(Exception):
    """The credentials file cannot be used; the message says why and what to do."""


def load_credentials(path: Path) -> dict[str, str]:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CredentialsError(f"credentials file {path} not found") from None
    except OSError as exc:
        raise CredentialsError(f"credentials file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CredentialsError(f"credentials file {path} is not a regular file")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise CredentialsError(
            f"credentials file {path} is readable or writable by group or others (mode {mode:04o});"
            f" run: chmod 600 {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"credentials file {path} cannot be read: {type(exc).__name__}") from None
    except yaml.YAMLError as exc:
        # The parser's message quotes the offending line, which may hold a secret: give the place only.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CredentialsError(f"credentials file {path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CredentialsError(f"credentials file {path} must be a mapping of NAME: value")
    out: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise CredentialsError(f"credentials file {path}: {str(name)[:40]!r} is not a valid name")
        if isinstance(value, (dict, list)) or value is None:
            raise CredentialsError(f"credentials file {path}: {name} must be a single value")
        out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return out
