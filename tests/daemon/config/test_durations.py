from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.config.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30), ("15m", 900), ("2h", 7200), ("5d", 432_000), ("1h30m", 5400), ("90s", 90),
        ("45", 45), ("0", 0), ("0s", 0), (" 10m ", 600), ("1d2h3m4s", 93_784),
    ],
)
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["", "m", "1.5h", "-5m", "10 m", "30m1h", "1h1h", "5w", "1H", "３０s", "１０"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(DurationError) as exc:
        parse_duration(text)
    hint = "use a number with s, m, h or d, such as 30s, 15m, 2h or 1h30m"
    assert str(exc.value) == f'invalid duration "{text}": {hint}'


def test_duration_error_is_a_value_error() -> None:
    assert issubclass(DurationError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (30, "30s"), (90, "1m30s"), (900, "15m"), (5400, "1h30m"), (3600, "1h"), (86_400, "1d"),
     (90_000, "1d1h"), (3661, "1h1m1s"), (93_784, "1d2h3m4s"), (86_401, "1d1s")],
)
def test_format_in_largest_units(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_format_rejects_negative() -> None:
    with pytest.raises(DurationError):
        format_duration(timedelta(seconds=-1))


def test_format_drops_sub_seconds() -> None:
    assert format_duration(timedelta(seconds=61, microseconds=900_000)) == "1m1s"


@given(st.integers(min_value=0, max_value=10**9))
def test_round_trip(seconds: int) -> None:
    td = timedelta(seconds=seconds)
    text = format_duration(td)
    assert parse_duration(text) == td


@given(st.tuples(*(st.one_of(st.none(), st.integers(0, 999)) for _ in range(4))))
def test_written_forms_parse_and_format_canonically(parts: tuple[int | None, ...]) -> None:
    text = "".join(f"{n}{u}" for n, u in zip(parts, "dhms", strict=True) if n is not None)
    if not text:
        return
    td = parse_duration(text)
    days, hours, minutes, seconds = (n or 0 for n in parts)
    assert td == timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    canonical = format_duration(td)
    assert parse_duration(canonical) == td
    assert "0" not in re.findall(r"\d+", canonical) or canonical == "0s"  # no zero parts
