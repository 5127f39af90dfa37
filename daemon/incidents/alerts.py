"""Alerts as stored JSON: incidents keep theirs, and the outbox keeps each notification's, so a timer
firing later or a fallback channel renders exactly what the incident said."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from channels.model import Alert
from daemon.clock import from_epoch, to_epoch

_TIMES = frozenset(f.name for f in dataclasses.fields(Alert) if "datetime" in str(f.type))
_TUPLES = frozenset(f.name for f in dataclasses.fields(Alert) if str(f.type).startswith("tuple[str"))


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in dataclasses.fields(alert):
        value = getattr(alert, f.name)
        if f.name == "items":
            value = [alert_to_dict(item) for item in value]
        elif isinstance(value, datetime):
            value = to_epoch(value)
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return data


def alert_from_dict(data: dict[str, Any]) -> Alert:
    known = {f.name for f in dataclasses.fields(Alert)}
    fields = {k: v for k, v in data.items() if k in known}  # a field dropped in a newer version is ignored
    for key in _TIMES & fields.keys():
        if fields[key] is not None:
            fields[key] = from_epoch(fields[key])
    for key in _TUPLES & fields.keys():
        fields[key] = tuple(fields[key] or ())
    fields["items"] = tuple(alert_from_dict(item) for item in fields.get("items") or ())
    return Alert(**fields)
