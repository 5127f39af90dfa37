"""Durations as written in config: ``30s``, ``15m``, ``2h``, ``5d``, ``1h30m``; bare numbers are seconds."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS: tuple[tuple[str, int], ...] = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
_PATTERN = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_HINT = "use a number with s, m, h or d, such as 30s, 15m, 2h or 1h30m"


class DurationError(ValueError):
    """A duration that cannot be read. The message is meant for the person who wrote it."""


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` → 90 minutes. Units go from largest to smallest, each at most once, as people write."""
    cleaned = str(text).strip()
    if cleaned.isdigit() and cleaned.isascii():
        return timedelta(seconds=int(cleaned))
    match = _PATTERN.fullmatch(cleaned)
    if not cleaned or match is None:
        raise DurationError(f'invalid duration "{text}": {_HINT}')
    seconds = sum(int(count) * size for count, (_, size) in zip(match.groups(), _UNITS, strict=True) if count)
    return timedelta(seconds=seconds)


def format_duration(td: timedelta) -> str:
    """The text ``parse_duration`` reads back as ``td``, in largest units with no zero parts:
    ``1h30m``, ``1d2h``, ``45s``. That is the shortest of the forms that read the way people write durations
    (``90m`` is shorter but ``1h30m`` is what a duty roster says). Sub-second parts are dropped."""
    total = int(td.total_seconds())
    if total < 0:
        raise DurationError(f"a duration cannot be negative ({td})")
    parts: list[str] = []
    for name, size in _UNITS:
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{name}")
    return "".join(parts) or "0s"
