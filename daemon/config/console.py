"""config.yaml ``console``: the duty officers' web console on the daemon's HTTP listener.

```yaml
console: {users: ./console-users.yaml, session_ttl: 12h}  # users: written by `yuqing console-user set`
```

Without ``console`` (or without ``http.listen``) there is no console.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from rules.errors import ConfigError, Problem
from rules.yamlsrc import Node, check_keys

CONSOLE_KEYS = ("users", "session_ttl")
DEFAULT_SESSION_TTL = timedelta(hours=12)  # a duty shift: one login a shift
MAX_SESSION_TTL = timedelta(days=7)


@dataclass(frozen=True)
class ConsoleSpec:
    users: Path  # the password file: person key → scrypt hash (daemon/app/console/users.py)
    session_ttl: timedelta = DEFAULT_SESSION_TTL


def parse_console(node: Node | None, path: Callable[[Node | None], Path | None],
                  duration: Callable[[Node | None, timedelta], timedelta],
                  problems: list[Problem]) -> ConsoleSpec | None:
    """The settings, or None when ``console`` is absent. Problems are appended, not raised."""
    if node is None or node.is_null:
        return None
    try:
        problems.extend(check_keys(node, CONSOLE_KEYS, "console", required=("users",)))
        entries = node.mapping("console settings")
        users = path(entries.get("users"))
        ttl = duration(entries.get("session_ttl"), DEFAULT_SESSION_TTL)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
    if not timedelta(minutes=5) <= ttl <= MAX_SESSION_TTL:
        problems.append(node.problem(f"console.session_ttl must be between 5m and {MAX_SESSION_TTL.days}d"))
        ttl = DEFAULT_SESSION_TTL
    return None if users is None else ConsoleSpec(users, ttl)
