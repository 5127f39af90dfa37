"""``kind: dingtalk-card``: notices into each person's private chat with the county's DingTalk app robot,
red and yellow ones as interactive cards whose buttons acknowledge (``channels.dingtalk_card``).

The open API, as DingTalk documents it:

- ``POST {endpoint}/v1.0/oauth2/accessToken`` with ``{"appKey", "appSecret"}`` (the app's client id and
  secret, those of ``dingtalk_stream``) → ``{"accessToken", "expireIn"}`` (seconds, 7200). The token is
  kept per app until ``apptoken.TOKEN_MARGIN`` before it expires, on the injected clock, and dropped when the API
  calls it invalid (401/403), then fetched once more;
- ``POST {endpoint}/v1.0/card/instances/createAndDeliver`` with the body of ``dingtalk_card.deliver_body``
  and the header ``x-acs-dingtalk-access-token``: one card per person (its ``outTrackId`` from the
  notification id and the person, so a retry does not make a second card for who already has one);
- ``POST {endpoint}/v1.0/robot/oToMessages/batchSend`` (``sampleMarkdown``): the text form, for what is
  not a card — blue notices, digests, 已处置 notices, admin notices, a group of notices sent as one, and a
  red or yellow notice without a signed ack link (no HTTP listener: a click could not be checked; a
  private reply 1 / 收到 still acknowledges).

Answers: 2xx OK (a ``createAndDeliver`` whose ``deliverResults`` report a failure is PERMANENT: the
person is outside the app's visible range); 408/425/429 and 5xx RETRY after ``Retry-After``; any other 4xx
PERMANENT — wrong credentials, an unknown template, a robot code not of this app.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from channels.apptoken import TOKENS, AppKey, Fetched, TokenCache, app_key, json_of, per_person_id, with_token
from channels.dingtalk_card import CARD_LEVELS, card_params, deliver_body
from channels.model import ChannelSpec, DingTalkCard, Notification, Outcome, Person, Result
from channels.sms_gateway import gateway_of
from channels.webcall import Reply, by_status, call, per_recipient

TOKEN_PATH = "/v1.0/oauth2/accessToken"
CARD_PATH = "/v1.0/card/instances/createAndDeliver"
TEXT_PATH = "/v1.0/robot/oToMessages/batchSend"
# Alert kinds that are never a card even when red: a digest lists several, a resolved one is done.
TEXT_KINDS = frozenset({"digest", "resolved"})


class DingTalkCardChannel:
    """One request per person with a ``dingtalk:`` user id; a card or the text form (module docstring)."""

    name = "dingtalk-card"
    schemes = frozenset({DingTalkCard.KIND})
    # The client id is not secret (it is the robot code, seen in every card); the app secret is.
    secret_fields = ("url", "gateway.client_secret")

    def __init__(self, tokens: TokenCache = TOKENS) -> None:
        self.tokens = tokens

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        gateway = gateway_of(spec, DingTalkCard)
        card = card_of(notification)

        def one(person: Person, user_id: str) -> Result:
            if card is not None:
                track = per_person_id(notification.id, person.key)
                body = deliver_body(gateway.template_id, track, gateway.robot, (user_id,), card)
                return self._post(gateway, CARD_PATH, body, now, timeout)
            text = {"title": notification.title or "舆情通知",
                    "text": notification.body if notification.parts.markdown else _markdown(notification.body)}
            body = {"robotCode": gateway.robot, "userIds": [user_id], "msgKey": "sampleMarkdown",
                    "msgParam": json.dumps(text, ensure_ascii=False)}
            return self._post(gateway, TEXT_PATH, body, now, timeout)

        return per_recipient(notification.recipients, lambda p: p.address(spec.address), one)

    def _post(self, gateway: DingTalkCard, path: str, body: Mapping[str, object], now: Callable[[], datetime],
              timeout: float) -> Result:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")

        def fetch() -> Fetched:
            credentials = json.dumps({"appKey": gateway.client_id, "appSecret": gateway.client_secret}).encode()
            reply = call("POST", gateway.endpoint + TOKEN_PATH, now=now, body=credentials, timeout=timeout,
                         headers={"Content-Type": "application/json", "Accept": "application/json"})
            answer = json_of(reply)
            token, expires = answer.get("accessToken"), answer.get("expireIn")
            if reply.status == 200 and isinstance(token, str) and token:
                return token, float(expires) if isinstance(expires, int | float) else 7200.0
            result = _outcome(reply, TOKEN_PATH)
            return result if not result.ok else Result(Outcome.RETRY, "dingtalk token: no accessToken in the answer")

        def attempt(token: str, last: bool) -> Result | None:
            reply = call("POST", gateway.endpoint + path, now=now, body=data, timeout=timeout,
                         headers={"Content-Type": "application/json", "Accept": "application/json",
                                  "x-acs-dingtalk-access-token": token})
            return None if reply.status in (401, 403) and not last else _outcome(reply, path)

        return with_token(self.tokens, _app(gateway), now, fetch, attempt)


CHANNEL = DingTalkCardChannel()


def card_of(notification: Notification) -> dict[str, str] | None:
    """The card parameters of a red or yellow notice that carries a signed ack link; None for the text form."""
    alert = notification.alert
    if alert is None or alert.level not in CARD_LEVELS or alert.kind in TEXT_KINDS:
        return None
    if notification.parts.ack_url and not alert.ack_url:
        alert = replace(alert, ack_url=notification.parts.ack_url)
    params = card_params(alert, notification.body)
    return params if params["token"] else None


def _app(gateway: DingTalkCard) -> AppKey:
    return app_key(gateway.endpoint, gateway.client_id, gateway.client_secret)


def _markdown(text: str) -> str:
    """Plain text as markdown: DingTalk joins single line breaks, two spaces before one keep it."""
    return "  \n".join(text.splitlines())


def _outcome(reply: Reply, path: str) -> Result:
    what = "token" if path == TOKEN_PATH else "card" if path == CARD_PATH else "message"
    answer = json_of(reply)
    outcome = by_status(reply.status)
    if outcome is Outcome.OK:
        failed = [r for r in _results(answer) if r.get("success") is False]
        if not failed:
            return Result(Outcome.OK)
        return Result(Outcome.PERMANENT, f"dingtalk {what} not delivered: {str(failed[0].get('errorMsg'))[:200]}")
    if reply.status == 0:
        return Result(Outcome.RETRY, f"dingtalk {what}: no answer ({reply.error})")
    code, message = str(answer.get("code", "")), str(answer.get("message", ""))[:200]
    detail = f"dingtalk {what} {code}: {message} (HTTP {reply.status})" if code else (
        f"dingtalk {what}: HTTP {reply.status} {reply.text()[:200]}".rstrip())
    return Result(outcome, detail, retry_after=reply.retry_after if outcome is Outcome.RETRY else None)


def _results(answer: Mapping[str, object]) -> list[Mapping[str, object]]:
    result = answer.get("result")
    found = result.get("deliverResults") if isinstance(result, Mapping) else None
    return [r for r in found if isinstance(r, Mapping)] if isinstance(found, list) else []
