"""config.yaml ``reports``: when the daily and weekly reports go out, to which teams, over which channels.

```yaml
reports: {daily: "08:00", weekly: "fri 16:00", to: [领导小组], via: [email]}
```
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from rules.errors import ConfigError, Problem, did_you_mean
from rules.model import Location
from rules.yamlsrc import Node, check_keys

REPORT_KEYS = ("daily", "weekly", "to", "via")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class ReportSchedule:
    daily: tuple[int, int] | None = None  # local hour, minute
    weekly: tuple[int, int, int] | None = None  # weekday (0 = Monday), hour, minute
    to: tuple[str, ...] = ()
    via: tuple[str, ...] = ()
    to_at: tuple[Location, ...] = ()  # where each name is written, for `yuqing check`
    via_at: tuple[Location, ...] = ()


def parse_reports(node: Node | None, problems: list[Problem]) -> ReportSchedule | None:
    """The schedule, or None when ``reports`` is absent. Problems are appended, not raised."""
    if node is None or node.is_null:
        return None
    try:
        problems.extend(check_keys(node, REPORT_KEYS, "reports", required=("to", "via")))
        entries = node.mapping("reports settings")
        daily = weekly = None
        if "daily" in entries:
            daily = _clock(entries["daily"], entries["daily"].str(), problems)
        if "weekly" in entries:
            weekly = _weekly(entries["weekly"], problems)
        to, to_at = _names(entries.get("to"))
        via, via_at = _names(entries.get("via"))
        return ReportSchedule(daily, weekly, to, via, to_at, via_at)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None


def _clock(node: Node, text: str, problems: list[Problem]) -> tuple[int, int] | None:
    found = _CLOCK.fullmatch(text.strip())
    if found is None:
        problems.append(node.problem(f'expected a time of day like "08:00", got "{text}"'))
        return None
    return int(found[1]), int(found[2])


def _weekly(node: Node, problems: list[Problem]) -> tuple[int, int, int] | None:
    day, _, clock = node.str().strip().partition(" ")
    if day.lower()[:3] not in WEEKDAYS:
        problems.append(node.problem(f'expected a weekday and a time like "fri 16:00", got "{node.str()}"'))
        return None
    at = _clock(node, clock or "", problems)
    return None if at is None else (WEEKDAYS.index(day.lower()[:3]), *at)


def _names(node: Node | None) -> tuple[tuple[str, ...], tuple[Location, ...]]:
    if node is None or node.is_null:
        return (), ()
    items = node.items("a list of names")
    return tuple(item.str() for item in items), tuple(item.location for item in items)


def check_reports(schedule: ReportSchedule | None, teams: Collection[str], channels: Collection[str]) -> list[Problem]:
    """Every ``reports.to`` team and ``reports.via`` channel must be in notify.yaml: a misspelt one
    would send the 日报 to nobody."""
    if schedule is None:
        return []
    problems = [Problem(f'unknown team "{team}" in reports.to{did_you_mean(team, teams)}', where)
                for team, where in zip(schedule.to, schedule.to_at, strict=True) if team not in teams]
    problems += [Problem(f'unknown channel "{name}" in reports.via{did_you_mean(name, channels)}', where)
                 for name, where in zip(schedule.via, schedule.via_at, strict=True) if name not in channels]
    return problems
