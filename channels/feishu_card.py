"""Feishu (飞书) message cards for red and yellow notices, and what comes back from them.

Unlike DingTalk's, a Feishu card needs no template made in a console: the card is JSON sent with the
message (``msg_type: interactive``). It shows the notice's title in a red or orange header, its rendered
markdown, a status line and two buttons, 确认收到 and 已处置. Each button's ``value`` carries the action,
the incident id and the signed acknowledgement token of the notice (the ``t`` of its ack link), which
come back with a click (``card.action.trigger`` over the long connection): the daemon acknowledges only
incidents it has itself sent a card about. The value also carries the card's title, level and body, so
that the answer to the click (``card_answer``) can redraw the card with its new status in place: Feishu
replaces the whole card with the one in the answer.

A private reply ``1`` or ``收到`` to the app's bot acknowledges too (``channels.dingtalk_card.reply_action``).

Nothing here talks to the network: these are the payloads, for the daemon and the tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from channels.dingtalk_card import ACTIONS, BUTTONS, CARD_LEVELS, Action, ack_token
from channels.masking import mask
from channels.model import Alert

# A card's JSON may be 30 KB; the body rides in each button's value as well, so it is cut short there.
VALUE_BODY_LIMIT = 2000
HEADER_COLOURS: Mapping[str, str] = {"red": "red", "yellow": "orange"}


@dataclass(frozen=True)
class FeishuClick:
    """One press of a card button, with what is needed to redraw the card."""

    action: Action
    incident_id: str
    token: str
    title: str = ""
    level: str = ""
    body: str = ""


def card(title: str, level: str, body: str, *, incident: str, token: str, status: str = "待确认",
         note: str = "", buttons: bool = True) -> dict[str, object]:
    """A card (JSON 1.0 schema): header, the notice's markdown, the status line, a note, the buttons."""
    elements: list[dict[str, object]] = [
        {"tag": "markdown", "content": body},
        {"tag": "hr"},
        {"tag": "markdown", "content": f"**状态**：{status}" + (f"\n{note}" if note else "")},
    ]
    if buttons:
        shared = {"incident": incident, "token": token, "title": title, "level": level,
                  "body": body[:VALUE_BODY_LIMIT]}
        elements.append({"tag": "action", "actions": [
            {"tag": "button", "text": {"tag": "plain_text", "content": BUTTONS[action]},
             "type": "primary" if action == "ack" else "default", "value": {"action": action, **shared}}
            for action in ACTIONS]})
    return {
        "config": {"wide_screen_mode": True, "update_multi": False},
        "header": {"template": HEADER_COLOURS.get(level, "blue"),
                   "title": {"tag": "plain_text", "content": title}},
        "elements": elements,
    }


def notice_card(alert: Alert, body: str) -> dict[str, object] | None:
    """The card of a red or yellow notice that carries a signed ack link; None for the text form."""
    token = ack_token(alert)
    if alert.level not in CARD_LEVELS or not token:
        return None
    return card(mask(f"【{alert.level_label}】{alert.title}"), alert.level, body, incident=alert.incident_id,
                token=token)


def message_body(open_id: str, msg_type: str, content: Mapping[str, object], uuid: str) -> dict[str, str]:
    """The body of ``POST /open-apis/im/v1/messages?receive_id_type=open_id``; ``uuid`` makes a retry
    within the hour not a second message."""
    return {"receive_id": open_id, "msg_type": msg_type, "uuid": uuid,
            "content": json.dumps(content, ensure_ascii=False)}


def parse_click(value: object) -> FeishuClick | None:
    """The click in a callback's ``action.value``; None when it is not one of our buttons."""
    if not isinstance(value, Mapping):
        return None
    action, incident, token = value.get("action"), value.get("incident"), value.get("token")
    if action not in ACTIONS or not isinstance(incident, str) or not incident:
        return None
    texts = {k: value.get(k) for k in ("title", "level", "body")}
    title, level, body = (v if isinstance(v, str) else "" for v in texts.values())
    return FeishuClick("ack" if action == "ack" else "resolve", incident,
                       token if isinstance(token, str) else "", title, level, body)


def card_answer(click: FeishuClick, status: str, note: str = "") -> dict[str, object]:
    """The answer to a click: a toast, and the card redrawn with its new status; the buttons stay only
    while nothing was recorded (an unknown user, a stale card), so another try remains possible."""
    done = not status.startswith("待")
    redrawn = card(click.title or click.incident_id, click.level, click.body, incident=click.incident_id,
                   token=click.token, status=status, note=note, buttons=not done)
    return {"toast": {"type": "success" if done else "warning", "content": note or status},
            "card": {"type": "raw", "data": redrawn}}


def reply_text(content: str) -> str:
    """The text of a ``text`` message's ``content`` (``{"text": "收到"}``), or "" for anything else."""
    try:
        parsed = json.loads(content)
    except ValueError:
        return ""
    text = parsed.get("text") if isinstance(parsed, dict) else None
    return text if isinstance(text, str) else ""
