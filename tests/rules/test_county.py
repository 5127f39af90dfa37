from datetime import datetime

from rules.county import BY_NAME, LEVEL_NAMES, LEVELS, SEVERITY_ORDER, SHANGHAI
from rules.model import Level


def test_levels_follow_the_ordered_enum() -> None:
    assert LEVEL_NAMES == ("blue", "yellow", "red")  # the order rule files and charts use
    assert SEVERITY_ORDER == ("red", "yellow", "blue")  # the order lists and reports use
    assert sorted(LEVELS) == list(LEVELS)
    assert {name: int(level) for name, level in BY_NAME.items()} == {"red": 3, "yellow": 2, "blue": 1}
    assert Level.NONE not in LEVELS


def test_the_county_clock_is_utc_plus_eight_all_year() -> None:
    for month in (1, 7):
        assert datetime(2026, month, 1, tzinfo=SHANGHAI).isoformat().endswith("+08:00")
