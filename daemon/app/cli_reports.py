"""``yuqing report``, ``ledger``, ``status`` and ``backup``: the duty desk's paperwork and IT's checks."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from daemon.clock import SystemClock, local
from daemon.config import Config, config_path, load_config
from daemon.reports.figures import Kind, default_day
from daemon.store import Store

Command = Callable[[argparse.Namespace], int]


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> dict[str, Command]:
    """Add report, ledger, status and backup to ``sub``; returns their handlers for ``daemon.app.cli``."""
    report = sub.add_parser("report", parents=[common], help="日报/周报: write the report files; --send queues it")
    report.add_argument("kind", choices=("daily", "weekly"))
    report.add_argument("--date", type=date.fromisoformat,
                        help="the day covered (daily) or the last day of the week (weekly); YYYY-MM-DD")
    report.add_argument("--send", action="store_true", help="queue it for the teams and channels of `reports:`")
    ledger = sub.add_parser("ledger", parents=[common], help="台账: one row per incident opened in the span")
    ledger.add_argument("--from", dest="first", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    ledger.add_argument("--to", dest="last", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    ledger.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    ledger.add_argument("-o", "--output", type=Path, help="file to write (default: state_dir/reports/…)")
    ledger.add_argument("--audit", action="store_true", help="add a column 操作记录: each incident's audit trail")
    status = sub.add_parser("status", parents=[common],
                            help="inboxes, sources, open incidents, timers, outbox, rules in use")
    status.add_argument("--json", action="store_true")
    backup = sub.add_parser("backup", parents=[common], help="copy the state database safely while it runs")
    backup.add_argument("path", type=Path)
    return {"report": cmd_report, "ledger": cmd_ledger, "status": cmd_status, "backup": cmd_backup}


def _config(args: argparse.Namespace) -> Config:
    return load_config(config_path(args.config))


def cmd_report(args: argparse.Namespace) -> int:
    from daemon.config.notify import load_notify
    from daemon.reports.figures import build_report, period_for
    from daemon.reports.render import render
    from daemon.reports.schedule import send_report, write_files

    config = _config(args)
    notify = load_notify(config.notify, env=os.environ)
    store = Store(config.database)
    now = SystemClock().now()
    kind: Kind = args.kind
    day = args.date or default_day(kind, now)
    if args.send:
        if config.reports is None:
            print("error: no `reports:` in the config: say to whom (to:) and how (via:)", file=sys.stderr)
            return 1
        queued = send_report(store, config, notify, kind, day, now, asked_now=True).queued
        print(f"{kind} report for {day.isoformat()}: {queued} notification(s) queued;"
              " the running daemon delivers them")
        return 0
    rendered = render(build_report(store, period_for(kind, day), now, notify))
    for path in write_files(config, kind, day, rendered):
        print(path)
    print(rendered.text)
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    from daemon.config.notify import load_notify
    from daemon.reports.ledger import ledger, to_csv, to_xlsx

    config = _config(args)
    if args.last < args.first:
        print("error: --to is before --from", file=sys.stderr)
        return 1
    rows = ledger(Store(config.database), args.first, args.last, SystemClock().now(),
                  load_notify(config.notify, env=os.environ), with_audit=args.audit)
    output: Path = args.output or config.state_dir / "reports" / f"ledger-{args.first}-{args.last}.{args.format}"
    output.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "csv":
        output.write_text(to_csv(rows), encoding="utf-8-sig")
    else:
        output.write_bytes(to_xlsx(rows))
    print(f"{output}: {len(rows)} incident(s)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from daemon.app.cli_notify import silence_lines
    from daemon.reports.source_watch import silences
    from daemon.reports.status import format_text, gather

    config = _config(args)
    store = Store(config.database)
    now = SystemClock().now()
    status = gather(config, store, now)
    status["silent"] = {s.key: local(s.since).isoformat(timespec="seconds") for s in silences(config, store, now)}
    status["silences"] = silence_lines(store, now)  # mutes in force (yuqing silence), so none is forgotten
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        print(format_text(status))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """SQLite's online backup API: a consistent copy while the daemon keeps writing (WAL included)."""
    config = _config(args)
    target: Path = args.path
    if target.is_dir():
        target = target / f"yuqing-{local(SystemClock().now()):%Y%m%d-%H%M%S}.db"
    if target.exists():
        print(f"error: {target} exists; choose a new name", file=sys.stderr)
        return 1
    source = sqlite3.connect(config.database, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy, pages=1024)  # in steps, so the daemon is never blocked for long
        ok = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    print(f"{target}: {target.stat().st_size} bytes, integrity {ok}")
    return 0 if ok == "ok" else 1
