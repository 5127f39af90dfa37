"""Which template style a channel gets, and the rendered text plus what delivery needs beside it."""

from __future__ import annotations

from pathlib import Path

from channels.model import Alert, ChannelSpec, DingTalkCard, Parts
from channels.templates import Renderer, Style
from daemon.notify.outbox import Rendered


def style_for(spec: ChannelSpec) -> Style:
    if spec.url.startswith("console://"):
        return "console"
    if spec.address == "email":
        return "email"
    if spec.address == "phone":
        return "sms"
    return "chat"


class ChannelRenderer:
    """Renders an alert for a channel with the county's template overrides, if any."""

    def __init__(self, templates: Path | None = None) -> None:
        self.renderer = Renderer(templates)

    def __call__(self, alert: Alert, spec: ChannelSpec) -> Rendered:
        style = style_for(spec)
        if style == "email":
            title, text, html = self.renderer.render_email(alert)
            return Rendered(title, text, Parts(level=alert.level, html=html))
        title, body = self.renderer.render(alert, style)
        # DingTalk, WeCom and Feishu robots render the chat style as markdown; a DingTalk card carries the
        # ack link's token (only there: every other outbox row stays as it was).
        card = isinstance(spec.gateway, DingTalkCard)
        return Rendered(title, body, Parts(level=alert.level, markdown=style == "chat",
                                           ack_url=alert.ack_url if card else None))
