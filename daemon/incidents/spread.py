"""扩散 of a story, aggregated in SQL over its member messages (``daemon.store.messages``): what the
rules' ``spread`` conditions and the county's reports (首发时间, 首发媒体, 链接, 传播情况) need.

Each message row carries its latest counts in columns (a re-sent post raises them), so a story's figures
are one indexed aggregate, however many messages it has: no member is read back into Python.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.clock import to_epoch
from daemon.store import messages
from rules.model import Message, Spread

GROWTH_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Origin:
    first_seen: datetime
    first_source: str
    first_url: str | None


def author_key(message: Message) -> str | None:
    author = message.author
    if author is None or not (author.id or author.name):
        return None
    return f"{message.source}:{author.id or author.name}"


def message_columns(message: Message) -> dict[str, object]:
    """The per-message figures stored beside the message (``messages`` columns)."""
    m = message.metrics
    return {
        "author_key": author_key(message), "reposts": m.reposts, "comments": m.comments, "likes": m.likes,
        "views": m.views, "followers": (message.author.followers or 0) if message.author else 0,
        "published_at": to_epoch(message.published_at) if message.published_at else None,
    }


def figures(db: sqlite3.Connection, incident_id: str, now: datetime) -> tuple[Spread, Origin | None]:
    sums = messages.member_figures(db, incident_id, now - GROWTH_WINDOW)
    if not sums.messages:
        return Spread(messages=0, platforms=0, authors=0), None
    spread = Spread(
        messages=sums.messages, platforms=sums.platforms,
        # Posts without a known author still come from somebody: never fewer than one author.
        authors=max(sums.authors, 1), reposts=sums.reposts, comments=sums.comments, likes=sums.likes,
        views=sums.views, max_followers=sums.max_followers, growth=float(sums.recent))
    first = messages.first_member(db, incident_id)  # there is one: the story has members
    return spread, Origin(first.seen, first.source, first.url) if first else None
