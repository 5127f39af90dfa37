"""``kind: feishu-card``: notices into each person's private chat with the county's Feishu (飞书) app bot,
red and yellow ones as message cards whose buttons acknowledge (``channels.feishu_card``).

The open API, as Feishu documents it:

- ``POST {domain}/open-apis/auth/v3/tenant_access_token/internal`` with ``{"app_id", "app_secret"}`` →
  ``{"code": 0, "tenant_access_token", "expire"}`` (seconds, 7200). The token is kept per app until
  ``TOKEN_MARGIN`` before it expires, on the injected clock (``channels.dingtalk_openapi.TokenCache``), and
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

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from channels.dingtalk_openapi import TEXT_KINDS, TOKENS, TokenCache
from channels.feishu_card import message_body, notice_card
from channels.model import ChannelSpec, FeishuCard, Notification, Outcome, Person, Result
from channels.sms_gateway import gateway_of
from channels.webcall import Reply, by_status, call, per_recipient

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
SEND_PATH = "/open-apis/im/v1/messages?receive_id_type=open_id"
REPLY_PATH = "/open-apis/im/v1/messages/{message_id}/reply"
TOKEN_MARGIN = timedelta(minutes=5)
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
            uuid = _uuid(notification.id, person.key)
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
        for fresh in (False, True):
            token = self._token(gateway, now, timeout, fresh)
            if isinstance(token, Result):
                return token
            reply = call("POST", gateway.domain + path, now=now, body=data, timeout=timeout,
                         headers={"Content-Type": "application/json; charset=utf-8",
                                  "Authorization": f"Bearer {token}"})
            if _json(reply).get("code") not in BAD_TOKEN_CODES or fresh:
                return _outcome(reply, "message")
            # Revoked, or expired early (the app secret was reset): once more with a new token.
            self.tokens.drop(_app(gateway), token)
        raise AssertionError("unreachable")

    def _token(self, gateway: FeishuCard, now: Callable[[], datetime], timeout: float,
               fresh: bool) -> str | Result:
        key = _app(gateway)
        at = now()
        if not fresh and (cached := self.tokens.get(key, at)) is not None:
            return cached
        body = json.dumps({"app_id": gateway.app_id, "app_secret": gateway.app_secret}).encode()
        reply = call("POST", gateway.domain + TOKEN_PATH, now=now, body=body, timeout=timeout,
                     headers={"Content-Type": "application/json; charset=utf-8"})
        answer = _json(reply)
        token = answer.get("tenant_access_token")
        if reply.status == 200 and answer.get("code") == 0 and isinstance(token, str) and token:
            expires = answer.get("expire")
            seconds = float(expires) if isinstance(expires, int | float) else 7200.0
            self.tokens.put(key, token, at + timedelta(seconds=seconds) - TOKEN_MARGIN)
            return token
        result = _outcome(reply, "token")
        return result if not result.ok else Result(Outcome.RETRY, "feishu token: no tenant_access_token")


CHANNEL = FeishuCardChannel()


def card_of(notification: Notification) -> dict[str, object] | None:
    """The card of a red or yellow notice that carries a signed ack link; None for the text form."""
    alert = notification.alert
    if alert is None or alert.kind in TEXT_KINDS:
        return None
    if notification.parts.ack_url and not alert.ack_url:
        alert = replace(alert, ack_url=notification.parts.ack_url)
    return notice_card(alert, notification.body)


def _app(gateway: FeishuCard) -> tuple[str, str]:
    digest = hashlib.sha256(gateway.app_secret.encode()).hexdigest()[:16]
    return gateway.domain, f"feishu:{gateway.app_id}/{digest}"


def _uuid(notification_id: str, person: str) -> str:
    return "yq-" + hashlib.sha256(f"{notification_id}\n{person}".encode()).hexdigest()[:40]


def _json(reply: Reply) -> dict[str, object]:
    try:
        answer = json.loads(reply.body) if reply.body else {}
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _outcome(reply: Reply, what: str) -> Result:
    answer = _json(reply)
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
