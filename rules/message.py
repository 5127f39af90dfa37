"""DESIGN's inbound message format, parsed into ``Message`` and written back out.

Collectors are many and loosely controlled, so parsing is lenient where meaning is clear (unknown keys
are ignored, counts may be written ``"1,200"`` or ``"1.2万"``, an author may be a bare name) and strict
where a guess could mislead (a count that is not a whole number, a time that is not ISO-8601).
Every refusal is a ``MessageError`` naming the field, never any other exception: the ingest step
quarantines the file with that text as the reason.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from rules.county import SHANGHAI
from rules.model import Author, Message, Metrics, content_hash

_MAX_COUNT = 2**63 - 1  # what SQLite's INTEGER holds
_COUNT_TEXT = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[万亿wW])?\s*\+?")
_UNITS = {None: 1, "万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}


class MessageError(ValueError):
    """A message that does not follow the inbound format; ``field`` is a dotted path such as
    ``metrics.reposts`` (``None`` when the whole value is wrong)."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        self.detail = detail
        self.field = field
        super().__init__(f'"{field}": {detail}' if field else detail)


def describe(value: object) -> str:
    """A short, JSON-flavoured rendering of a bad value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _valid_text(value: str, field: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MessageError("contains characters that are not valid Unicode", field) from None
    return value


def _optional_text(obj: Mapping[str, Any], key: str, field: str | None = None) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MessageError(f"expected text, got {describe(value)}", field or key)
    return _valid_text(value, field or key)


def _count(value: object, field: str) -> int:
    """A whole number >= 0; scraped counts such as ``"1,200"``, ``"1.2万"`` or ``"10万+"`` are read too."""
    number: float | int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        found = _COUNT_TEXT.fullmatch(value.strip().replace(",", ""))
        if found:
            # Decimal, because 1.15 * 10000 in floats is 11499.99…
            scaled = Decimal(found["num"]) * _UNITS[found["unit"]]
            number = int(scaled) if scaled == scaled.to_integral_value() else None
    if number is None or number < 0:
        raise MessageError(f"expected a whole number >= 0, got {describe(value)}", field)
    if number > _MAX_COUNT:
        raise MessageError(f"number too large: {describe(value)}", field)
    return int(number)


def _metrics(value: object) -> Metrics:
    if value is None:
        return Metrics()
    if not isinstance(value, Mapping):
        raise MessageError(f"expected an object, got {describe(value)}", "metrics")
    counts = {
        name: _count(value[name], f"metrics.{name}")
        for name in ("reposts", "comments", "likes", "views")
        if value.get(name) is not None
    }
    return Metrics(**counts)


def _author(value: object) -> Author | None:
    if value is None:
        return None
    if isinstance(value, str):  # some exports give only the display name
        return Author(name=_valid_text(value, "author"))
    if not isinstance(value, Mapping):
        raise MessageError(f"expected an object, got {describe(value)}", "author")
    raw_id = value.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)  # platform user ids often arrive as JSON numbers
    author_id = _optional_text({"id": raw_id}, "id", "author.id")
    followers = value.get("followers")
    verified = value.get("verified")
    if verified is not None and not isinstance(verified, bool):
        raise MessageError(f"expected true or false, got {describe(verified)}", "author.verified")
    return Author(
        name=_optional_text(value, "name", "author.name"),
        id=author_id,
        followers=None if followers is None else _count(followers, "author.followers"),
        verified=verified,
    )


def to_time(value: object) -> datetime | None:
    """An aware time from an ISO-8601 text, a datetime or a date (its midnight); ``None`` if it is none
    of these. Naive times are Asia/Shanghai: the county's own clock."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(value.strip())
    if moment is None:
        return None
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment


def _published_at(value: object) -> datetime | None:
    if value is None:
        return None
    moment = to_time(value)
    if moment is None:
        example = " such as 2026-11-20T09:30:00+08:00" if isinstance(value, str) else ""
        raise MessageError(f"expected an ISO-8601 time{example}, got {describe(value)}", "published_at")
    return moment


def _source(obj: Mapping[str, Any], default: str | None) -> str:
    value = obj.get("source")
    if value is None:
        value = default
    if value is None:
        raise MessageError("required", "source")
    if not isinstance(value, str) or not value.strip():
        raise MessageError(f"expected a source name such as weibo, got {describe(value)}", "source")
    return _valid_text(value.strip().lower(), "source")


def _message_id(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = _optional_text(obj, "id")
    return text.strip() if text and text.strip() else None  # an empty id is as good as none


def message_from_dict(
    obj: object, *, default_source: str | None = None, default_region: str | None = None
) -> Message:
    """One inbound object as a ``Message``. ``default_source``/``default_region`` come from the inbox."""
    if not isinstance(obj, Mapping):
        raise MessageError(f"expected a JSON object, got {describe(obj)}")
    text = obj.get("text")
    if text is None:
        raise MessageError("required", "text")
    if not isinstance(text, str):
        raise MessageError(f"expected text, got {describe(text)}", "text")
    if not text.strip():
        raise MessageError("is empty", "text")
    _valid_text(text, "text")
    source = _source(obj, default_source)
    title = _optional_text(obj, "title") or ""
    region = _optional_text(obj, "region")
    return Message(
        id=_message_id(obj) or content_hash(source, title, text),
        source=source,
        text=text,
        title=title,
        url=_optional_text(obj, "url"),
        author=_author(obj.get("author")),
        published_at=_published_at(obj.get("published_at")),
        region=default_region if region is None else region,
        metrics=_metrics(obj.get("metrics")),
    )


def message_to_dict(m: Message) -> dict[str, Any]:
    """The inbound format again (JSON-serialisable); ``message_from_dict`` reads it back equal."""
    author = None
    if m.author is not None:
        a = m.author
        author = {"name": a.name, "id": a.id, "followers": a.followers, "verified": a.verified}
    return {
        "id": m.id,
        "source": m.source,
        "title": m.title,
        "text": m.text,
        "url": m.url,
        "author": author,
        "published_at": m.published_at.isoformat() if m.published_at else None,
        "region": m.region,
        "metrics": {
            "reposts": m.metrics.reposts, "comments": m.metrics.comments,
            "likes": m.metrics.likes, "views": m.metrics.views,
        },
    }
