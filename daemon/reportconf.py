"""config.yaml ``reports``: when the daily and weekly reports go out, to which teams, over which channels.

```yaml
reports: {daily: "08:00", weekly: "fri 16:00", to: [领导小组], via: [email]}
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.errors import ConfigError, Problem
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
        return ReportSchedule(daily, weekly, _names(entries.get("to")), _names(entries.get("via")))
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


def _names(node: Node | None) -> tuple[str, ...]:
    if node is None or node.is_null:
        return ()
    return tuple(item.str() for item in node.items("a list of names")) if node.is_sequence else (node.str(),)
