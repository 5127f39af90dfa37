"""People and teams (值班, 宣传部, 领导小组 …) from notify.yaml, resolved to recipients."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from channels.model import Person


@dataclass(frozen=True)
class Directory:
    people: Mapping[str, Person] = field(default_factory=dict)
    teams: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # team → person keys

    def members(self, teams: Iterable[str]) -> tuple[Person, ...]:
        """Everyone in ``teams``, each person once, in the order first named. Unknown teams are skipped:
        the loader has already refused them, and a notification must not be lost over a stale name."""
        seen: dict[str, Person] = {}
        for team in teams:
            for key in self.teams.get(team, ()):
                person = self.people.get(key)
                if person is not None:
                    seen.setdefault(key, person)
        return tuple(seen.values())
