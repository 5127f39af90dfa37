"""Alerts: what an incident says (``alert_for``, ``spread_lines``), and alerts as stored JSON: incidents
keep theirs, and the outbox keeps each notification's, so a timer firing later or a fallback channel
renders exactly what the incident said."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from channels.model import Alert
from daemon.clock import from_epoch, to_epoch
from rules.model import Message, Spread, Verdict

EXCERPT_CHARS = 120

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


def alert_for(incident_id: str, message: Message, verdict: Verdict, title: str, now: datetime) -> Alert:
    top = verdict.top
    excerpt = " ".join(message.text.split())
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 1] + "…"
    return Alert(
        incident_id=incident_id, level=str(verdict.level), level_label=verdict.level.label, title=title,
        category=top.category if top else "", source=message.source, url=message.url,
        first_seen=message.published_at or now, excerpt=excerpt,
        rules=tuple(f"{m.rule_id} {m.title}".strip() for m in verdict.matches), reasons=verdict.reasons,
    )


def spread_lines(spread: Spread) -> tuple[str, ...]:
    """传播情况 as officials read it."""
    reach = [f"{spread.messages}条信息", f"{spread.platforms}个平台", f"{spread.authors}个账号"]
    figures = [f"{label}{int(value):,}" for label, value in (
        ("转发", spread.reposts), ("评论", spread.comments), ("阅读", spread.views)) if value]
    lines = ["，".join(reach)]
    if figures:
        lines.append("，".join(figures))
    if spread.growth:
        lines.append(f"近1小时新增{int(spread.growth)}条")
    return tuple(lines)
