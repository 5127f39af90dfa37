"""The outbox's ``meta`` column: a notification's ``Parts`` and the outbox's grouping mark, as JSON.

The column keeps the shape it had when notifications carried a ``dict[str, str]``, so rows written by
an older daemon are still sent after an upgrade and what is written now is the same JSON, byte for
byte, as before: string values only, under ``level``, ``format`` (``"markdown"``), ``html``, ``images``
and ``attachments`` (each a JSON object, name → base64, as ``json.dumps`` writes it, in order), and
``group`` (``"1"``); ``ack`` (the signed ack link) only on rows of a DingTalk card channel, whose card
carries its token. An empty level is left out; images and attachments are written together (the old
code always wrote both, ``{}`` for none) and only when there is either. The grouping mark is the
outbox's own: a channel never sees it, and ``_group_of`` finds marked rows with ``json_extract``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from channels.model import Parts
from daemon.store import dumps, loads

GROUP = "group"  # the key of the grouping mark
MARKDOWN = "markdown"  # the value of ``format`` for a markdown body


def dump(parts: Parts, grouped: bool = False) -> str:
    """The column's text for ``parts``, marked as groupable when ``grouped``."""
    meta: dict[str, str] = {}
    if parts.level:
        meta["level"] = parts.level
    if parts.markdown:
        meta["format"] = MARKDOWN
    if parts.html is not None:
        meta["html"] = parts.html
    if parts.ack_url:
        meta["ack"] = parts.ack_url
    if parts.images or parts.attachments:
        meta["images"] = _encoded(parts.images)
        meta["attachments"] = _encoded(parts.attachments)
    if grouped:
        meta[GROUP] = "1"
    return dumps(meta)


def load(text: str | None) -> tuple[Parts, bool]:
    """``Parts`` and the grouping mark of a stored column; keys it does not know are ignored."""
    meta: Mapping[str, str] = loads(text) if text else {}
    parts = Parts(level=meta.get("level", ""), markdown=meta.get("format", "").strip().lower() == MARKDOWN,
                  html=meta.get("html"), images=_decoded(meta.get("images")),
                  attachments=_decoded(meta.get("attachments")), ack_url=meta.get("ack"))
    return parts, bool(meta.get(GROUP))


def _encoded(files: tuple[tuple[str, bytes], ...]) -> str:
    # json.dumps's defaults (ASCII, ", " and ": "), not store.dumps: the shape the old pack() wrote.
    return json.dumps({name: base64.b64encode(data).decode() for name, data in files})


def _decoded(text: str | None) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, base64.b64decode(data)) for name, data in json.loads(text or "{}").items())
