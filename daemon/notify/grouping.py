"""Grouping: new incidents for the same people on the same channel within ``group_wait`` go out as one
notification (like Alertmanager's groups). The pipeline marks a first notice as groupable; the outbox
gathers the marked ones that are due together and sends ``combined`` in their place."""

from __future__ import annotations

from channels.model import Alert, ChannelSpec, Notification, Parts
from rules.county import SEVERITY_ORDER

SMS_CHARS = 140  # two segments


def combined(group: list[tuple[Notification, Alert | None]], spec: ChannelSpec | None) -> Notification:
    """Several new incidents for the same people: one notification listing them, most severe first."""
    order = {str(level): rank for rank, level in enumerate(SEVERITY_ORDER)}
    items = sorted(group, key=lambda g: order.get(g[1].level if g[1] else "", len(order)))
    counts: dict[str, int] = {}
    for _, alert in items:
        label = alert.level_label if alert else ""
        counts[label] = counts.get(label, 0) + 1
    title = f"【{len(items)}起舆情预警】" + "、".join(f"{label}{n}起" for label, n in counts.items() if label)
    first, first_alert = items[0]
    if spec is not None and spec.address == "phone":
        body = "；".join(n.title for n, _ in items)
        room = SMS_CHARS - len(title) - 1
        body = body if len(body) <= room else body[: room - 1] + "…"
    else:
        body = "\n\n".join(f"{n.title}\n{n.body}" for n, _ in items)
    # Not the first one's HTML or files: the body lists them all.
    parts = Parts(level=first_alert.level if first_alert else first.parts.level, markdown=first.parts.markdown)
    return Notification(id="+".join(n.id for n, _ in items), channel=first.channel,
                        recipients=first.recipients, title=title, body=body, parts=parts)
