"""``yuqing``: the daemon and the tools IT staff and duty officers use. Every command takes -c CONFIG."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import structlog

from daemon import logs
from daemon.app import cli_console, cli_incidents, cli_notify, cli_replay, cli_reports
from daemon.clock import SystemClock, local
from daemon.config import Config, InboxSpec, config_path, load_config
from daemon.config.notify import load_notify
from daemon.ingest.folders import FileRejected, parse_file
from daemon.store.health import StoreUnwritable
from rules.errors import ConfigError, Problem

log = structlog.get_logger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    logs.setup(level=10 if getattr(args, "verbose", False) else 20)
    handler = COMMANDS[args.command]
    try:
        return handler(args)
    except ConfigError as exc:
        _print_problems(exc.problems, sys.stderr)
        return 1
    except StoreUnwritable as exc:  # at start: nothing delivered yet, so exit and let systemd try again
        print(f"error: the state database cannot be written: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", help="config file (default: $YUQING_CONFIG or /etc/yuqing/config.yaml)")
    parser = argparse.ArgumentParser(prog="yuqing", description="舆情哨兵 yuqing-sentinel", parents=[common])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", parents=[common], help="run the daemon")
    run.add_argument("--once", action="store_true", help="handle everything pending, then exit")
    check = sub.add_parser("check", parents=[common], help="validate config, rules, periods and notify; run rule tests")
    check.add_argument("--rules", type=Path, metavar="DIR",
                       help="check this rules folder instead of the config's (a copy being edited: docs/rules.md 7a)")
    explain = sub.add_parser("explain", parents=[common], help="evaluate message files without side effects")
    explain.add_argument("files", nargs="+", type=Path)
    explain.add_argument("--verbose", action="store_true",
                         help="also list near misses: rules with a keyword found that still failed, and why")
    periods = sub.add_parser("periods", parents=[common], help="the resolved dates of every sensitive period")
    periods.add_argument("--year", type=int, help="Gregorian year (default: this year)")
    periods.add_argument("--json", action="store_true")
    COMMANDS.update(cli_incidents.add_commands(sub, common))
    COMMANDS.update(cli_reports.add_commands(sub, common))
    COMMANDS.update(cli_notify.add_commands(sub, common))
    COMMANDS.update(cli_replay.add_commands(sub, common))
    COMMANDS.update(cli_console.add_commands(sub, common))
    return parser


def _config(args: argparse.Namespace) -> Config:
    return load_config(config_path(args.config))


def _print_problems(problems: Sequence[Problem], out: TextIO) -> None:
    for problem in problems:
        print(problem, file=out)


# ---------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from daemon.app.service import serve

    return serve(_config(args), once=args.once)


def cmd_check(args: argparse.Namespace) -> int:
    from daemon.config.reports import check_reports
    from daemon.triage.rulebook import build_rulebook, new_analyzer
    from rules.crosscheck import check_periods, check_teams
    from rules.ruletests import format_table, run_rule_tests

    path = config_path(args.config)
    problems: list[Problem] = []
    try:
        config = load_config(path)
    except ConfigError as exc:
        _print_problems(exc.problems, sys.stdout)
        return 1
    if args.rules is not None:
        config = dataclasses.replace(config, rules_dir=args.rules.resolve())
    teams: list[str] | None = None
    try:
        notify = load_notify(config.notify, env=os.environ)
        teams = list(notify.directory.teams)
        problems.extend(notify.warnings)  # rota gaps and overlaps
        problems.extend(check_reports(config.reports, teams, list(notify.channels)))
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        analyzer = new_analyzer(config)
        rulebook = build_rulebook(config, analyzer)
    except ConfigError as exc:
        _print_problems([*problems, *exc.problems], sys.stdout)
        return 1
    problems.extend(rulebook.warnings)
    if teams is not None:  # an unreadable notify.yaml is reported above; do not add one error per team
        problems.extend(check_teams(rulebook.ruleset, teams))
    problems.extend(check_periods(rulebook.ruleset, [p.name for p in rulebook.calendar.periods]))
    _print_problems(problems, sys.stdout)
    results = run_rule_tests(rulebook.ruleset, rulebook.engine, analyzer, rulebook.calendar.active,
                             SystemClock().now())
    if results:
        print(format_table(results))
    failed = [r for r in results if not r.passed]
    errors = [p for p in problems if p.severity == "error"]
    print(f"{path}: {len(rulebook.ruleset.rules)} rules, {len(results)} rule tests, {len(failed)} failed,"
          f" {len(errors)} errors, {len(problems) - len(errors)} warnings")
    return 1 if failed or errors else 0


def cmd_explain(args: argparse.Namespace) -> int:
    from daemon.triage.review import build_review_net, explain_fields
    from daemon.triage.rulebook import build_rulebook, new_analyzer
    from rules.evaluate import near_misses
    from rules.model import Spread

    config = _config(args)
    analyzer = new_analyzer(config)
    rulebook = build_rulebook(config, analyzer)
    review = build_review_net(config.review)
    now = SystemClock().now()
    status = 0
    for file in args.files:
        spec = InboxSpec(file.parent, source=config.inboxes[0].source if config.inboxes else None)
        try:
            parsed = parse_file(file, spec, config.max_file_bytes)
        except (FileRejected, OSError) as exc:
            print(f"{file}: error: {exc}", file=sys.stderr)
            status = 1
            continue
        for problem in parsed.errors:
            print(f"{file}: error: {problem}", file=sys.stderr)
            status = 1
        for message in parsed.messages:
            analysis, verdict = rulebook.evaluate(analyzer, message, now)
            found: dict[str, object] = {
                "id": message.id, "level": str(verdict.level),
                "rules": [m.rule_id for m in verdict.matches],
                "keywords": {h.word: list(h.positions) for h in analysis.hits},
                "period": verdict.period, "reasons": list(verdict.reasons),
                "suppressed": [{"rule": s.rule_id, "reason": s.reason} for s in verdict.suppressed],
                "place": str(verdict.place or rulebook.engine.places.find(message).place),
            }
            found.update(explain_fields(review, message, verdict))  # 待研判, for messages graded none
            if analysis.spelled:  # keywords found written in pinyin (拆qian)
                found["spelled"] = [{"keyword": word, "as": spelling} for word, spelling in analysis.spelled]
            if args.verbose:
                missed = near_misses(rulebook.ruleset.rules, analysis, Spread.of_message(message),
                                     rulebook.calendar.active(now), now)
                found["near_misses"] = [{"rule": rule.id, "failed": failed} for rule, failed in missed]
            print(json.dumps(found, ensure_ascii=False))
    rulebook.close()
    return status


def cmd_periods(args: argparse.Namespace) -> int:
    """One line per period occurrence touching the year: name, first and last day, raise."""
    from rules.periods import describe_span, load_periods
    from rules.ruletests import display_width

    calendar = load_periods(_config(args).periods)
    year = args.year or local(SystemClock().now()).year
    rows = calendar.resolve(year)
    if args.json:
        print(json.dumps({"year": year, "periods": [
            {"name": p.name, "start": start.isoformat(), "end": end.isoformat(), "raise": p.raise_by,
             "written": describe_span(p)} for p, start, end in rows]}, ensure_ascii=False))
        return 0
    width = max((display_width(p.name) for p, _, _ in rows), default=0)
    for period, start, end in rows:
        pad = " " * (width - display_width(period.name))
        print(f"{period.name}{pad}  {start.isoformat()} .. {end.isoformat()}  raise {period.raise_by}")
    if not rows:
        print(f"no sensitive periods in {year}")
    return 0


COMMANDS = {
    "run": cmd_run, "check": cmd_check, "explain": cmd_explain,
    "periods": cmd_periods,
}

if __name__ == "__main__":
    sys.exit(main())
