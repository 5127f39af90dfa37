"""DingTalk interactive cards (互动卡片) for red and yellow notices, and what comes back from them.

A card is sent from a card template the county makes in DingTalk's card platform (docs/channels.md): the
template shows the variables ``title``, ``markdown`` and ``status`` and has two buttons whose action ids
are ``ack`` (确认收到) and ``resolve`` (已处置). The card's parameters also carry the incident id and the
signed acknowledgement token of the notice (the ``t`` of its ack link), which come back with a click:
the daemon acknowledges only incidents it has itself sent a card about.

With Stream mode (``callbackType: STREAM``) DingTalk delivers the click over the daemon's own outbound
connection; the answer to it (``card_update``) updates the card in place. A reply ``1`` or ``收到`` in
the private chat with the robot acknowledges too (``reply_action``).

Nothing here talks to the network: these are the payloads, for the daemon and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from channels.masking import mask
from channels.model import Alert
from channels.templates import local_time

Action = Literal["ack", "resolve"]
ACTIONS: tuple[Action, ...] = ("ack", "resolve")
BUTTONS: Mapping[Action, str] = {"ack": "确认收到", "resolve": "已处置"}
# What a private reply must say, whole, to acknowledge: the digit the SMS text asks for, or 收到.
ACK_REPLIES = frozenset({"1", "收到", "收到。", "收到！", "已收到"})
# Levels whose notices go out as cards: blue ones are only read, nobody acknowledges them.
CARD_LEVELS = frozenset({"red", "yellow"})


@dataclass(frozen=True)
class Click:
    """One press of a card button: which, on which incident, with the token the card carried."""

    action: Action
    incident_id: str
    token: str


def ack_token(alert: Alert) -> str:
    """The signed token of the alert's acknowledgement link, or "" when it has none."""
    if not alert.ack_url:
        return ""
    return parse_qs(urlsplit(alert.ack_url).query).get("t", [""])[0]


def card_params(alert: Alert, body: str, status: str = "待确认") -> dict[str, str]:
    """The ``cardParamMap`` of a notice's card; every value is a string, as DingTalk requires. ``body`` is
    the notice's rendered (masked) markdown; ``excerpt`` and ``deadline`` are there for a template that
    lays them out on their own."""
    return {
        "title": mask(f"【{alert.level_label}】{alert.title}"),
        "markdown": body,
        "status": status,
        "incident": alert.incident_id,
        "token": ack_token(alert),
        "level": alert.level,
        "excerpt": mask(alert.excerpt.strip()),
        "deadline": local_time(alert.deadline, "%m-%d %H:%M") if alert.deadline else "",
    }


def deliver_body(template_id: str, out_track_id: str, robot_code: str, user_ids: tuple[str, ...],
                 params: Mapping[str, str]) -> dict[str, object]:
    """The body of ``POST /v1.0/card/instances/createAndDeliver``: the card into each user's private chat
    with the robot, its clicks called back over Stream mode."""
    return {
        "cardTemplateId": template_id,
        "outTrackId": out_track_id,
        "callbackType": "STREAM",
        "cardData": {"cardParamMap": dict(params)},
        "openSpaceId": "dtv1.card//" + ";".join(f"IM_ROBOT.{user}" for user in user_ids),
        "imRobotOpenSpaceModel": {"supportForward": False},
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": robot_code},
        "userIdType": 1,
    }


def parse_click(content: Mapping[str, object]) -> Click | None:
    """The click in a card callback's ``content`` (``cardPrivateData``: ``actionIds`` and ``params``);
    None when it is not one of our buttons or lacks the incident."""
    private = content.get("cardPrivateData")
    if not isinstance(private, Mapping):
        return None
    ids, params = private.get("actionIds"), private.get("params")
    if not isinstance(ids, list) or not isinstance(params, Mapping):
        return None
    action = next((a for a in ACTIONS if a in ids), None)
    incident, token = params.get("incident"), params.get("token")
    if action is None or not isinstance(incident, str) or not incident:
        return None
    return Click(action, incident, token if isinstance(token, str) else "")


def card_update(status: str, note: str = "") -> dict[str, object]:
    """The answer to a card callback that updates the card in place: its status line, and a note under it."""
    return {"cardData": {"cardParamMap": {"status": status, "note": note}}}


def reply_action(text: str) -> Action | None:
    """What a private chat reply asks for: ``ack`` for 1 or 收到, else None (any other text is left alone)."""
    return "ack" if text.strip() in ACK_REPLIES else None
