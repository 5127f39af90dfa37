"""CLI commands of the web console and its audit trail: `console-user set|remove|list` and `audit`.
Registered in ``daemon.app.cli``."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from daemon.app.console import sessions
from daemon.app.console.users import password_problem, read_users, remove_user, set_password
from daemon.clock import SystemClock, local
from daemon.config import Config, config_path, load_config
from daemon.config.durations import DurationError, parse_duration
from daemon.config.notify import load_notify
from daemon.store import Store, audit
from rules.county import SHANGHAI


def add_commands(sub: Any, common: argparse.ArgumentParser) -> dict[str, Callable[[argparse.Namespace], int]]:
    user = sub.add_parser("console-user", parents=[common], help="web console users: set a password, remove, list")
    actions = user.add_subparsers(dest="action", required=True)
    set_ = actions.add_parser("set", parents=[common], help="set (or change) a person's password; asks for it")
    set_.add_argument("name", help="a person key of notify.yaml")
    set_.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    actions.add_parser("remove", parents=[common], help="remove a user; ends their sessions").add_argument("name")
    actions.add_parser("list", parents=[common], help="users and their open sessions")
    trail = sub.add_parser("audit", parents=[common], help="the audit trail: who did what, when, from where")
    trail.add_argument("--since", help='a time ("2026-11-24 08:00", Asia/Shanghai) or a span back ("24h")')
    trail.add_argument("--limit", type=int, default=1000, help="at most this many, the newest (default 1000)")
    trail.add_argument("--json", action="store_true")
    return {"console-user": cmd_console_user, "audit": cmd_audit}


def _config(args: argparse.Namespace) -> Config:
    return load_config(config_path(args.config))


def cmd_console_user(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.console is None:
        print("error: no `console: {users: FILE}` in the config", file=sys.stderr)
        return 1
    path = config.console.users
    if args.action == "list":
        now = SystemClock().now()
        open_sessions = sessions.active(Store(config.database), now)
        for name in sorted(read_users(path)):
            mine = [s for s in open_sessions if s.person == name]
            print(f"{name}  {len(mine)} session(s)" + "".join(
                f"  [{s.client} until {local(s.expires_at):%m-%d %H:%M}]" for s in mine))
        return 0
    if args.action == "remove":
        removed = remove_user(path, args.name)
        ended = sessions.end_all(Store(config.database), args.name)
        print(f"{args.name}: {'removed' if removed else 'was not a user'}; {ended} session(s) ended")
        return 0 if removed else 1
    people = load_notify(config.notify, env=os.environ).directory.people
    if args.name not in people:
        print(f"error: {args.name} is not a person of {config.notify}", file=sys.stderr)
        return 1
    password = _read_password(args.password_stdin)
    if password is None:
        print("error: the two passwords differ", file=sys.stderr)
        return 1
    problem = password_problem(password)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    set_password(path, args.name, password)
    ended = sessions.end_all(Store(config.database), args.name)  # a changed password ends every old session
    print(f"{args.name} ({people[args.name].name}): password set in {path}; {ended} session(s) ended")
    return 0


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("新密码 / new password: ")
    return first if getpass.getpass("再输入一次 / again: ") == first else None


def parse_since(text: str, now: datetime) -> datetime:
    """``2026-11-24``, ``2026-11-24 08:00`` (Asia/Shanghai) or a span back from now (``24h``, ``7d``)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            return now - parse_duration(text)
        except DurationError:
            raise ValueError(f'"{text}" is neither a time like 2026-11-24 nor a span like 24h') from None
    return at if at.tzinfo else at.replace(tzinfo=SHANGHAI)


def cmd_audit(args: argparse.Namespace) -> int:
    config = _config(args)
    now = SystemClock().now()
    try:
        since = parse_since(args.since, now) if args.since else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for entry in audit.since(Store(config.database), since, limit=args.limit):
        at = local(entry.at).isoformat(timespec="seconds")
        if args.json:
            print(json.dumps({"at": at, "actor": entry.actor, "action": entry.action, "incident": entry.incident_id,
                              "detail": entry.detail, "client": entry.client}, ensure_ascii=False))
        else:
            print(f"{at}  {entry.actor:<10} {entry.action:<13} {entry.incident_id or '-':<17} "
                  f"{entry.client or 'cli':<15} {entry.detail}")
    return 0
