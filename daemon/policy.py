"""Notification policies per level (notify.yaml ``policies``): typed values, parsed by ``daemon.notifyconf``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from channels.directory import Directory
from channels.model import ChannelSpec
from rules.model import Level, Location


@dataclass(frozen=True)
class Step:
    """One step of a policy: who is told, over which channels, when, and whether it repeats.

    ``after`` counts from when the incident reached the level. ``unless_acknowledged`` steps are skipped
    once somebody has acknowledged. ``digest`` steps are not sent one by one but gathered.
    """

    notify: tuple[str, ...]
    via: tuple[str, ...]
    location: Location
    after: timedelta = timedelta(0)
    unless_acknowledged: bool = False
    repeat: timedelta | None = None
    until: timedelta | None = None  # stop repeating this long after the level was reached
    deadline: timedelta | None = None
    digest: Literal["daily"] | None = None


@dataclass(frozen=True)
class Policy:
    level: Level
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class NotifyConfig:
    channels: dict[str, ChannelSpec]
    directory: Directory
    policies: dict[Level, Policy]
    digest_at: str = "08:00"  # local time of the daily digest
    admin_team: str | None = None  # told about broken rule files and failing channels
    templates: Path | None = None  # the county's template folder (channels.templates.Renderer)
    extra: dict[str, str] = field(default_factory=dict)
