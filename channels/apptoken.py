"""The app access token that the DingTalk and Feishu open APIs want on every call: cached per app on
the injected clock until ``TOKEN_MARGIN`` before it expires, shared by the outbox's sending threads, and
fetched once more when the API refuses it (revoked, or expired early because the app secret was reset)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from channels.model import Result
from channels.webcall import Reply

TOKEN_MARGIN = timedelta(minutes=5)  # fetch a new token this long before the old one expires
AppKey = tuple[str, str]  # (API base, app id and a digest of the secret: a new secret is a new token at once)
Fetched = tuple[str, float] | Result  # a token and its lifetime in seconds, or why there is none


class TokenCache:
    """Access tokens per app, shared by the outbox's sending threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[AppKey, tuple[str, datetime]] = {}

    def get(self, key: AppKey, now: datetime) -> str | None:
        with self._lock:
            token, until = self._tokens.get(key, ("", now))
            return token if token and now < until else None

    def put(self, key: AppKey, token: str, until: datetime) -> None:
        with self._lock:
            self._tokens[key] = (token, until)

    def drop(self, key: AppKey, token: str) -> None:
        with self._lock:  # only the token found bad: another thread may have fetched a new one meanwhile
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]


TOKENS = TokenCache()


def app_key(base: str, app_id: str, secret: str) -> AppKey:
    return base, f"{app_id}/{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


def with_token(tokens: TokenCache, key: AppKey, now: Callable[[], datetime], fetch: Callable[[], Fetched],
               attempt: Callable[[str, bool], Result | None]) -> Result:
    """``attempt(token, last)`` with the app's cached token, ``fetch``ed when there is none. ``attempt``
    answers None when the API refused the token and it was not the ``last`` try: the token is dropped and
    the call made once more with a new one."""
    for last in (False, True):
        at = now()
        token = None if last else tokens.get(key, at)
        if token is None:
            fetched = fetch()
            if isinstance(fetched, Result):
                return fetched
            token, lifetime = fetched
            tokens.put(key, token, at + timedelta(seconds=lifetime) - TOKEN_MARGIN)
        result = attempt(token, last)
        if result is not None:
            return result
        tokens.drop(key, token)
    raise AssertionError("the last attempt always answers")


def per_person_id(notification_id: str, person: str) -> str:
    """A stable id of one notification to one person: a retry sends the same, so the API can tell."""
    return "yq-" + hashlib.sha256(f"{notification_id}\n{person}".encode()).hexdigest()[:40]


def json_of(reply: Reply) -> dict[str, object]:
    """The JSON object of an answer; empty for no body, bad JSON or another JSON value."""
    try:
        answer = json.loads(reply.body) if reply.body else {}
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
