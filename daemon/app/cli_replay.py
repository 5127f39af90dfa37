"""``yuqing replay``: the rule backtest, before a reload (docs/rules.md, "Changing rules").

Exit codes, so that the CI of a rules repository can gate on it: 0 the new rules decide as the live ones
did, 1 they decide differently somewhere, 2 the replay could not be done (a broken rules folder, a file
that does not parse, no state database).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sqlite3
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from daemon.clock import SystemClock, local
from daemon.config import Config, InboxSpec, config_path, load_config
from daemon.ingest.folders import FileRejected, parse_file
from daemon.store import Store
from daemon.triage.replay import KINDS, Report, replay_files, replay_span, report_to_dict
from daemon.triage.rulebook import build_rulebook, new_analyzer
from rules.county import SHANGHAI
from rules.errors import ConfigError
from rules.model import Message

Command = Callable[[argparse.Namespace], int]
SAME, DIFFERENT, FAILED = 0, 1, 2
_TEMPLATES = Path(__file__).resolve().parent / "templates"
KIND_NAMES = {"new": "new alerts 新增预警", "lost": "lost alerts 不再预警", "level": "level changes 等级变化",
              "rules": "rule changes 命中规则变化"}


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> dict[str, Command]:
    replay = sub.add_parser("replay", parents=[common],
                            help="backtest: grade stored messages (and files) with new rules, diff against the live")
    replay.add_argument("files", nargs="*", type=Path, help="message files to grade as well (JSON, JSON lines)")
    replay.add_argument("--rules", type=Path, required=True, help="the folder of the new rule files")
    replay.add_argument("--from", dest="first", type=moment,
                        help="first day (YYYY-MM-DD) or moment (YYYY-MM-DDTHH:MM) received, Beijing time")
    replay.add_argument("--to", dest="last", type=moment,
                        help="last day (inclusive) or moment (exclusive) received; default: now")
    replay.add_argument("--format", choices=("text", "json", "html"), default="text")
    replay.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    replay.add_argument("--skip-tests", action="store_true",
                        help="replay even when rule tests fail (a reload would still refuse such rules)")
    replay.add_argument("--limit", type=int, default=1000,
                        help="list at most this many differing messages (the counts are always complete)")
    return {"replay": cmd_replay}


def moment(text: str) -> tuple[datetime, bool]:
    """A day (True: the whole day) or a moment, in Beijing time when no offset is written."""
    try:
        return datetime.combine(date.fromisoformat(text), time(), SHANGHAI), True
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date or time: {text!r}") from exc
    return (at if at.tzinfo else at.replace(tzinfo=SHANGHAI)), False


def cmd_replay(args: argparse.Namespace) -> int:
    try:
        return _replay(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return FAILED
    except (sqlite3.Error, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FAILED


def _replay(args: argparse.Namespace) -> int:
    if not args.files and args.first is None and args.last is None:
        print("error: give a span (--from, --to) or message files, or both", file=sys.stderr)
        return FAILED
    config = load_config(config_path(args.config))
    now = SystemClock().now()
    start = args.first[0] if args.first else None
    end = (args.last[0] + timedelta(days=1) if args.last[1] else args.last[0]) if args.last else None
    if args.first and end is None:
        end = now
    if start and end and end <= start:
        print("error: --to is before --from", file=sys.stderr)
        return FAILED
    given = _read_files(config, args.files)
    if given is None:
        return FAILED
    from daemon.triage.reload import build_checked

    analyzer = new_analyzer(config)
    outcome = build_checked(dataclasses.replace(config, rules_dir=args.rules), analyzer, now,
                            run_tests=not args.skip_tests)
    if outcome.rulebook is None:  # as a reload would refuse them: path:line:col, nothing touched
        for problem in outcome.problems:
            print(problem, file=sys.stderr)
        return FAILED
    store = Store(config.database, read_only=True)
    report = Report(outcome.rulebook.version, start, end, [str(f) for f in args.files], limit=args.limit)
    if start or end:
        replay_span(store, outcome.rulebook, analyzer, report)
    if given:
        replay_files(store, outcome.rulebook, analyzer, report, given,
                     lambda: build_rulebook(config, analyzer, activate=False), now)
    store.close()
    _write(args, report)
    return DIFFERENT if report.changed else SAME


def _read_files(config: Config, files: list[Path]) -> list[tuple[str, Message]] | None:
    """Every message of the files, with the file it came from; None (and the reasons said) when one is bad."""
    given: list[tuple[str, Message]] = []
    bad = False
    for file in files:
        spec = InboxSpec(file.parent, source=config.inboxes[0].source if config.inboxes else None)
        try:
            parsed = parse_file(file, spec, config.max_file_bytes)
        except (FileRejected, OSError) as exc:
            print(f"{file}: error: {exc}", file=sys.stderr)
            bad = True
            continue
        for problem in parsed.errors:
            print(f"{file}: error: {problem}", file=sys.stderr)
        bad = bad or bool(parsed.errors)
        given += [(str(file), m) for m in parsed.messages]
    return None if bad else given


def _write(args: argparse.Namespace, report: Report) -> None:
    if args.format == "json":
        text = json.dumps(report_to_dict(report), ensure_ascii=False, indent=2) + "\n"
    elif args.format == "html":
        text = render_html(report)
    else:
        text = format_text(report)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"{args.output}: {report.replayed} messages replayed, "
              f"{'differences' if report.changed else 'no differences'}")
    else:
        sys.stdout.write(text)


def _when(at: datetime | None) -> str:
    return local(at).strftime("%Y-%m-%d %H:%M") if at else "…"


def format_text(report: Report) -> str:
    lines: list[str] = []
    out = lines.append
    span = f" received {_when(report.start)} .. {_when(report.end)}" if report.start or report.end else ""
    files = f" and {len(report.files)} file(s)" if report.files else ""
    out(f"replay: rules {report.version}, {report.replayed} messages{span}{files},"
        f" {report.seconds:.1f} s ({report.rate:,.0f} msgs/s)")
    out(", ".join(f"{KIND_NAMES[k]} {report.totals[k]}" for k in KINDS)
        + f", stories 事件等级变化 {len(report.stories)}")
    if report.by_rule:
        out("\nby rule 按规则 (+ now matches, - no longer matches):")
        for rule, count in sorted(report.by_rule.items()):
            out(f"  {rule}  [{count.category or '-'}]  +{count.gained} -{count.lost}")
    if report.by_category:
        out("\nby category 按类别:")
        for category, counts in sorted(report.by_category.items()):
            out(f"  {category or '-'}  " + "  ".join(f"{k} {counts[k]}" for k in KINDS))
    if report.differences:
        total = sum(report.totals.values())
        out(f"\nmessages 信息 ({len(report.differences)} of {total} listed):")
        for d in report.differences:
            rules = ",".join(sorted(d.new.rules - d.live.rules)) or ",".join(sorted(d.live.rules - d.new.rules))
            where = "" if d.origin == "store" else f"  ({d.origin})"
            out(f"  {d.kind:<5} {d.live.level}->{d.new.level}  {d.message_id}  {d.source}  {_when(d.at)}"
                f"  [{rules}]  {d.excerpt}{where}")
    if report.stories:
        out("\nstories 事件:")
        for s in report.stories:
            out(f"  {s.kind:<5} {s.live}->{s.new}  {s.incident_id}  [{s.category}]  {s.title}")
    if not report.changed:
        out("no differences 无差异")
    return "\n".join(lines) + "\n"


def render_html(report: Report) -> str:
    """One self-contained page (inline style, no scripts, nothing fetched), every value escaped."""
    import jinja2  # here: the other commands need not load it

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    values: dict[str, Any] = {"report": report, "kinds": KINDS, "kind_names": KIND_NAMES,
                              "total": sum(report.totals.values())}
    return env.get_template("replay.html.j2").render(**values)
