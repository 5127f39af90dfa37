"""CLI commands about notifying: `notify-test`, `simulate`, `silence add|list|remove`, and the
已处置 notices of `resolve`. Registered in ``daemon.app.cli``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from channels import local as local_channels
from channels.delivery import deliver
from channels.model import Alert, Notification, Person
from daemon.clock import SystemClock, local, to_epoch
from daemon.config import Config, config_path, load_config
from daemon.config.durations import DurationError, parse_duration
from daemon.config.notify import load_notify
from daemon.config.policy import NotifyConfig
from daemon.incidents import IncidentError
from daemon.notify import silences
from daemon.notify.pipeline import record_test
from daemon.notify.rendering import ChannelRenderer
from daemon.notify.simulate import HORIZON, format_timeline, simulate
from daemon.store import Store
from rules.county import SEVERITY_ORDER, SHANGHAI
from rules.errors import did_you_mean
from rules.model import Level


def add_commands(sub: Any, common: argparse.ArgumentParser) -> dict[str, Callable[[argparse.Namespace], int]]:
    test = sub.add_parser("notify-test", parents=[common], help="send a 【测试】 notification over a channel now")
    test.add_argument("channel", help="a channel name of notify.yaml")
    test.add_argument("--to", help="a person key (default: the admin team, else everybody)")
    sim = sub.add_parser("simulate", parents=[common], help="the notification timeline a new incident would get")
    sim.add_argument("--level", required=True, choices=SEVERITY_ORDER)
    sim.add_argument("--category", default="")
    sim.add_argument("--team", action="append", default=[], help="a team a rule's notify: adds (repeatable)")
    sim.add_argument("--at", help='when the incident reaches the level, e.g. "2026-10-01 03:00" (Asia/Shanghai)')
    sim.add_argument("--horizon", default="24h", help="how far ahead to list (default 24h)")
    silence = sub.add_parser("silence", parents=[common], help="mute a rule, a category or an incident for a while")
    actions = silence.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", parents=[common], help="add a silence")
    what = add.add_mutually_exclusive_group(required=True)
    for kind in silences.KINDS:
        what.add_argument(f"--{kind}", help=f"the {kind} to mute")
    add.add_argument("--until", required=True, help='e.g. "2026-11-24T08:00" (Asia/Shanghai) or a duration "2h"')
    add.add_argument("--by", required=True)
    add.add_argument("--reason", required=True)
    actions.add_parser("list", parents=[common], help="silences in force").add_argument("--json", action="store_true")
    remove = actions.add_parser("remove", parents=[common], help="end a silence now")
    remove.add_argument("id", type=int)
    remove.add_argument("--by", required=True)
    return {"notify-test": cmd_notify_test, "simulate": cmd_simulate, "silence": cmd_silence}


def _config(args: argparse.Namespace) -> Config:
    return load_config(config_path(args.config))


def parse_time(text: str, now: datetime) -> datetime:
    """``2026-11-24T08:00``, ``2026-11-24 08:00`` (naive: Asia/Shanghai) or a duration from now (``2h``)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            return now + parse_duration(text)
        except DurationError:
            raise ValueError(f'"{text}" is neither a time like 2026-11-24T08:00 nor a duration like 2h') from None
    return at if at.tzinfo else at.replace(tzinfo=SHANGHAI)


# ---------------------------------------------------------------- notify-test


def cmd_notify_test(args: argparse.Namespace) -> int:
    config = _config(args)
    notify = load_notify(config.notify, env=os.environ)
    spec = notify.channels.get(args.channel)
    if spec is None:
        print(f'error: no channel "{args.channel}" in {config.notify}{did_you_mean(args.channel, notify.channels)}',
              file=sys.stderr)
        return 1
    try:
        recipients = _test_recipients(notify, args.to)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    clock = SystemClock()
    now = clock.now()
    alert = Alert(incident_id="", level="blue", level_label="蓝色", title=f"通知渠道测试（{spec.name}）",
                  kind="test", first_seen=now, excerpt="测试通知，收到即说明渠道畅通，无需处置。")
    rendered = ChannelRenderer(notify.templates)(alert, spec)
    notification = Notification(f"test:{spec.name}:{to_epoch(now):.3f}", spec.name, recipients, rendered.title,
                                rendered.body, alert, rendered.parts)
    local_channels.register()
    result = deliver(spec, notification, now=clock.now)
    _record(Store(config.database), notification, rendered_alert=alert, ok=result.ok, detail=result.detail,
            now=clock.now())
    names = "、".join(p.name for p in recipients) or "(group)"
    if result.ok:
        print(f"ok: {spec.name} ({spec.masked_url}) accepted the test notification for {names}")
        return 0
    print(f"failed ({result.outcome.value}): {spec.name} ({spec.masked_url}): {result.detail}", file=sys.stderr)
    return 1


def _test_recipients(notify: NotifyConfig, to: str | None) -> tuple[Person, ...]:
    people = notify.directory.people
    if to is not None:
        if to not in people:
            raise LookupError(f'no person "{to}" in notify.yaml{did_you_mean(to, people)}')
        return (people[to],)
    if notify.admin_team:
        return notify.directory.members([notify.admin_team])
    return tuple(people.values())


def _record(store: Store, notification: Notification, *, rendered_alert: Alert, ok: bool, detail: str,
            now: datetime) -> None:
    """Kept in the outbox as already sent or failed (never pending: the daemon must not send it again)."""
    with store.transaction() as db:
        record_test(db, notification, rendered_alert, ok, detail, now)
    store.close()


# ---------------------------------------------------------------- simulate


def cmd_simulate(args: argparse.Namespace) -> int:
    from rules.periods import load_periods

    config = _config(args)
    notify = load_notify(config.notify, env=os.environ)
    now = SystemClock().now()
    try:
        at = parse_time(args.at, now) if args.at else now
        horizon = parse_duration(args.horizon) if args.horizon else HORIZON
    except (ValueError, DurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    unknown = [t for t in args.team if t not in notify.directory.teams]
    if unknown:
        print(f'error: no team "{unknown[0]}" in notify.yaml{did_you_mean(unknown[0], notify.directory.teams)}',
              file=sys.stderr)
        return 2
    periods = load_periods(config.periods).active(at)
    timeline = simulate(notify, Level.parse(args.level), at, category=args.category, teams=tuple(args.team),
                        periods=periods, horizon=horizon)
    sys.stdout.write(format_timeline(timeline))
    return 0


# ---------------------------------------------------------------- silences


def cmd_silence(args: argparse.Namespace) -> int:
    store = Store(_config(args).database)
    now = SystemClock().now()
    try:
        if args.action == "add":
            kind = next(k for k in silences.KINDS if getattr(args, k))
            silence = silences.add(store, kind, getattr(args, kind), parse_time(args.until, now), args.by,
                                   args.reason, now)
            print(f"added {silence.describe()}")
        elif args.action == "remove":
            silence = silences.remove(store, args.id, args.by, now)
            print(f"removed #{silence.id} ({silence.kind} {silence.target})")
        else:
            current = silences.current(store.db, now)
            if args.json:
                print(json.dumps([{"id": s.id, "kind": s.kind, "target": s.target,
                                   "until": local(s.until).isoformat(), "by": s.created_by, "reason": s.reason}
                                  for s in current], ensure_ascii=False))
            for silence in [] if args.json else current:
                print(silence.describe())
            if not current and not args.json:
                print("no silences in force")
    except (silences.SilenceError, IncidentError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def silence_lines(store: Store, now: datetime) -> list[str]:
    """For `yuqing status`: every silence in force, so none is forgotten."""
    return [s.describe() for s in silences.current(store.db, now)]
