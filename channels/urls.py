"""Channel URLs: masking their secrets for logs, finding those secrets for redaction, and the query
parameters every delivery adds. Imports nothing from the project, so ``channels.model`` can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "***"
# Query keys whose values are secrets (matched as substrings: ``access_token``, ``apikey``, ``+X-Token``).
SECRET_KEYS = ("token", "secret", "key", "pass", "pwd", "sign", "auth", "credential")
# Schemes whose host part is the credential (``dingtalk://{token}/``).
HOST_IS_SECRET = frozenset({"dingtalk", "wecombot", "feishu", "lark", "tgram", "pushplus", "serverchan", "slack",
                            "discord"})
# Schemes whose path is a file of this machine, not a credential.
LOCAL_SCHEMES = frozenset({"jsonl", "console", "file", "capture"})
# A path segment kept in logs: a plain word (``hook``, ``robot``, ``open-apis``) or a version (``v2``).
# Anything else (digits, long or mixed runs) may be a webhook's key, however short: ``/hook/s3cr3t``.
_PATH_WORD = re.compile(r"[A-Za-z][A-Za-z_-]{0,11}|v[0-9]{1,2}")
# A URL inside free text (an exception, a gateway's answer): up to white space or a quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s'\"<>]+")
MIN_SECRET = 4  # shorter "secrets" would blank ordinary words out of log lines


def scheme_of(url: str) -> str:
    """``mailtos://…`` → ``mailtos``; lower case, empty when ``url`` has no scheme."""
    return url.partition("://")[0].strip().lower() if "://" in url else ""


def mask_url(url: str) -> str:
    """``url`` fit for logs: password, lone user (a token), token-like path parts and secret query
    values become ``***``. ``mailto://alerts:pw@smtp.gov.cn`` → ``mailto://alerts:***@smtp.gov.cn``."""
    return _split_secrets(url)[0]


def mask_urls_in(text: str) -> str:
    """``text`` with every URL in it masked by ``mask_url``: for error details and log lines."""
    return _URL_IN_TEXT.sub(lambda found: mask_url(found.group(0)), text) if "://" in text else text


def url_secrets(url: str) -> frozenset[str]:
    """The secret parts of ``url`` as written and as percent-decoded, for redacting free text."""
    found = _split_secrets(url)[1]
    return frozenset(s for value in found for s in (value, unquote(value)) if len(s) >= MIN_SECRET)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def prepare_url(url: str, *, to: Iterable[str] = (), timeout: float = 10) -> str:
    """``url`` with ``to=`` extended by ``to`` and ``cto``/``rto`` added when absent."""
    base, sep, query = url.partition("?")
    parts = [p for p in query.split("&") if p] if sep else []
    keys = [unquote(p.partition("=")[0]).lower() for p in parts]
    targets = [quote(t.strip(), safe="@") for t in to if t.strip()]
    if targets:
        if "to" in keys:
            i = keys.index("to")
            existing = [t for t in parts[i].partition("=")[2].split(",") if t]
            parts[i] = "to=" + ",".join(dict.fromkeys(existing + targets))
        else:
            parts.append("to=" + ",".join(dict.fromkeys(targets)))
    for key in ("cto", "rto"):
        if key not in keys:
            parts.append(f"{key}={timeout:g}")
    return f"{base}?{'&'.join(parts)}"


def _split_secrets(url: str) -> tuple[str, list[str]]:
    if "://" not in url:
        return _mask_query(url, [])
    scheme, rest = url.split("://", 1)
    rest, sep, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    secrets: list[str] = []
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        if colon:
            secrets.append(password)
            userinfo = f"{user}:{MASK}"
        else:  # a user with no password is a token in apprise URLs (smseagle://token@host)
            secrets.append(user)
            userinfo = MASK
    host, colon, port = hostport.partition(":")
    if host and (scheme.lower() in HOST_IS_SECRET or _looks_like_token(host)):
        secrets.append(host)
        host = MASK
    segments = []
    local_path = scheme.lower() in LOCAL_SCHEMES
    for segment in path.split("/"):
        if segment and not local_path and (_looks_like_token(segment) or not _PATH_WORD.fullmatch(segment)):
            secrets.append(segment)
            segment = MASK
        segments.append(segment)
    masked_query, secrets = _mask_query(query, secrets) if sep else ("", secrets)
    masked = f"{scheme}://{userinfo}{at}{host}{colon}{port}{slash}{'/'.join(segments)}{sep}{masked_query}"
    return masked, secrets


def _mask_query(query: str, secrets: list[str]) -> tuple[str, list[str]]:
    parts = []
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if eq and value and any(word in unquote(key).lower() for word in SECRET_KEYS):
            secrets.append(value)
            value = MASK
        parts.append(f"{key}{eq}{value}")
    return "&".join(parts), secrets


def _looks_like_token(text: str) -> bool:
    """Long runs of letters and digits (webhook keys, 64-hex DingTalk tokens); not words or file names."""
    if len(text) < 16 or not text.replace("-", "").replace("_", "").isalnum() or not text.isascii():
        return False
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
