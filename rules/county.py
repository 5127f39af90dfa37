"""The county's time zone and alert levels, defined once: rules/, channels/ and daemon/ all read them here
(rules/ and channels/ cannot import daemon/)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rules.model import Level

# What people read and what a naive time in a rule file, notify.yaml or the CLI means. China has one
# zone and no daylight saving since 1991.
SHANGHAI = ZoneInfo("Asia/Shanghai")

LEVELS: tuple[Level, ...] = (Level.BLUE, Level.YELLOW, Level.RED)  # the graded levels, mildest first
LEVEL_NAMES: tuple[str, ...] = tuple(str(level) for level in LEVELS)  # blue, yellow, red
SEVERITY_ORDER: tuple[str, ...] = LEVEL_NAMES[::-1]  # red, yellow, blue: how lists and reports show them
BY_NAME: dict[str, Level] = {name: Level.parse(name) for name in SEVERITY_ORDER}
