"""``kind: feishu-card``: notices into each person's private chat with the county's Feishu (飞书) app bot,
red and yellow ones as message cards whose buttons acknowledge (``channels.feishu_card``).

The open API, as Feishu documents it:

- ``POST {domain}/open-apis/auth/v3/tenant_access_token/internal`` with ``{"app_id", "app_secret"}`` →
  ``{"code": 0, "tenant_access_token", "expire"}`` (seconds, 7200). The token is kept per app until
  ``TOKEN_MARGIN`` before it expires, on the injected clock (``channels.apptoken``), and
  dropped when the API calls it invalid, then fetched once more;
- ``POST {domain}/open-apis/im/v1/messages?receive_id_type=open_id`` with ``Authorization: Bearer`` and
  the body of ``feishu_card.message_body``: ``msg_type: interactive`` (the card) or ``text``. Its
  ``uuid`` comes from the notification id and the person, so a retry within the hour is not a second
  message. The text form is for what is not a card: blue notices, digests, 已处置 notices, admin
  notices, a group sent as one, and a red or yellow notice without a signed ack link;
- ``POST {domain}/open-apis/im/v1/messages/{message_id}/reply``: the answer to a private reply 收到
  (``reply``, used by daemon/app/feishu_ws.py).

Answers: HTTP 200 with ``code: 0`` is OK. A token code (99991661/99991663/99991668) fetches a new token
once; 429 and 5xx, and the frequency-limit code 99991400, RETRY after ``Retry-After``; any other code
PERMANENT — wrong credentials, an open_id of another app, a person outside the app's availability.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from channels.apptoken import TOKENS, AppKey, Fetched, TokenCache, app_key, json_of, per_person_id, with_token
from channels.dingtalk_openapi import TEXT_KINDS
from channels.feishu_card import message_body, notice_card
from channels.model import ChannelSpec, FeishuCard, Notification, Outcome, Person, Result
from channels.sms_gateway import gateway_of
from channels.webcall import Reply, by_status, call, per_recipient

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
SEND_PATH = "/open-apis/im/v1/messages?receive_id_type=open_id"
REPLY_PATH = "/open-apis/im/v1/messages/{message_id}/reply"
BAD_TOKEN_CODES = frozenset({99991661, 99991663, 99991668})
RATE_LIMIT_CODE = 99991400


class FeishuCardChannel:
    """One message per person with a ``feishu:`` open_id; a card or the text form (module docstring)."""

    name = "feishu-card"
    schemes = frozenset({FeishuCard.KIND})
    secret_fields = ("url", "gateway.app_secret")

    def __init__(self, tokens: TokenCache = TOKENS) -> None:
        self.tokens = tokens

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        gateway = gateway_of(spec, FeishuCard)
        card = card_of(notification)

        def one(person: Person, open_id: str) -> Result:
            uuid = per_person_id(notification.id, person.key)
            if card is not None:
                body = message_body(open_id, "interactive", card, uuid)
            else:
                text = f"{notification.title}\n{notification.body}" if notification.title else notification.body
                body = message_body(open_id, "text", {"text": text}, uuid)
            return self.post(gateway, SEND_PATH, body, now, timeout)

        return per_recipient(notification.recipients, lambda p: p.address(spec.address), one)

    def reply(self, gateway: FeishuCard, message_id: str, text: str, now: Callable[[], datetime],
              timeout: float = 10.0) -> Result:
        """Answer a received message in its chat (a private reply's confirmation)."""
        body = {"msg_type": "text", "content": json.dumps({"text": text}, ensure_ascii=False)}
        return self.post(gateway, REPLY_PATH.format(message_id=message_id), body, now, timeout)

    def post(self, gateway: FeishuCard, path: str, body: Mapping[str, object], now: Callable[[], datetime],
             timeout: float) -> Result:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")

        def fetch() -> Fetched:
            credentials = json.dumps({"app_id": gateway.app_id, "app_secret": gateway.app_secret}).encode()
            reply = call("POST", gateway.domain + TOKEN_PATH, now=now, body=credentials, timeout=timeout,
                         headers={"Content-Type": "application/json; charset=utf-8"})
            answer = json_of(reply)
            token, expires = answer.get("tenant_access_token"), answer.get("expire")
            if reply.status == 200 and answer.get("code") == 0 and isinstance(token, str) and token:
                return token, float(expires) if isinstance(expires, int | float) else 7200.0
            result = _outcome(reply, "token")
            return result if not result.ok else Result(Outcome.RETRY, "feishu token: no tenant_access_token")

        def attempt(token: str, last: bool) -> Result | None:
            reply = call("POST", gateway.domain + path, now=now, body=data, timeout=timeout,
                         headers={"Content-Type": "application/json; charset=utf-8",
                                  "Authorization": f"Bearer {token}"})
            refused = json_of(reply).get("code") in BAD_TOKEN_CODES
            return None if refused and not last else _outcome(reply, "message")

        return with_token(self.tokens, _app(gateway), now, fetch, attempt)


CHANNEL = FeishuCardChannel()


def card_of(notification: Notification) -> dict[str, object] | None:
    """The card of a red or yellow notice that carries a signed ack link; None for the text form."""
    alert = notification.alert
    if alert is None or alert.kind in TEXT_KINDS:
        return None
    if notification.parts.ack_url and not alert.ack_url:
        alert = replace(alert, ack_url=notification.parts.ack_url)
    return notice_card(alert, notification.body)


def _app(gateway: FeishuCard) -> AppKey:
    return app_key(gateway.domain, f"feishu:{gateway.app_id}", gateway.app_secret)


def _outcome(reply: Reply, what: str) -> Result:
    answer = json_of(reply)
    code = answer.get("code")
    if reply.status == 0:
        return Result(Outcome.RETRY, f"feishu {what}: no answer ({reply.error})")
    if reply.status == 200 and code == 0:
        return Result(Outcome.OK)
    outcome = Outcome.RETRY if code == RATE_LIMIT_CODE else by_status(reply.status)
    if outcome is Outcome.OK:  # HTTP 200 with an error code: Feishu's way for most refusals
        outcome = Outcome.PERMANENT
    message = str(answer.get("msg", ""))[:200]
    detail = f"feishu {what} {code}: {message} (HTTP {reply.status})" if code is not None else (
        f"feishu {what}: HTTP {reply.status} {reply.text()[:200]}".rstrip())
    return Result(outcome, detail, retry_after=reply.retry_after if outcome is Outcome.RETRY else None)
