"""Problems found in configuration and rule files, each pointing at ``path:line:col``.

One root exception (``ConfigError``) carries every problem found in a load, so a user sees all of them
at once (like pySigma's ``collect_errors``), not the first only.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from rules.model import Location

Severity = Literal["error", "warning"]
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    message: str
    location: Location | None = None
    path: str = ""  # used when there is no line to point at (missing file)
    severity: Severity = "error"

    def __str__(self) -> str:
        where = str(self.location) if self.location else self.path
        return f"{where}: {self.severity}: {self.message}" if where else f"{self.severity}: {self.message}"


class ConfigError(Exception):
    """One or more problems that make a file unusable. The old configuration stays in force."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


def recorded(problems: list[Problem], parse: Callable[[], T], default: T) -> T:
    """``parse()``, or ``default`` with the problems it raised added to ``problems``: a load goes on
    past a bad part, so that it reports every problem at once."""
    try:
        return parse()
    except ConfigError as exc:
        problems.extend(exc.problems)
        return default


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
