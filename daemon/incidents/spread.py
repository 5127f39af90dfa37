"""扩散 of a story, aggregated in SQL over its member messages: what the rules' ``spread`` conditions and
the county's reports (首发时间, 首发媒体, 链接, 传播情况) need.

Each message row carries its latest counts in columns (a re-sent post raises them), so a story's figures
are one indexed aggregate, however many messages it has: no member is read back into Python.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.clock import from_epoch, to_epoch
from rules.model import Message, Spread

GROWTH_WINDOW = timedelta(hours=1)
# When a member appeared: its publication time if the collector knew it (never later than receipt).
_SEEN = "min(coalesce(published_at, received_at), received_at)"


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
    row = db.execute(
        "SELECT count(*) AS n, count(DISTINCT source) AS platforms, count(DISTINCT author_key) AS authors,"
        " total(reposts) AS reposts, total(comments) AS comments, total(likes) AS likes, total(views) AS views,"
        f" max(followers) AS followers, total({_SEEN} >= ?) AS recent"
        " FROM messages WHERE incident_id = ?",
        (to_epoch(now - GROWTH_WINDOW), incident_id)).fetchone()
    if not row["n"]:
        return Spread(messages=0, platforms=0, authors=0), None
    spread = Spread(
        messages=row["n"], platforms=row["platforms"],
        # Posts without a known author still come from somebody: never fewer than one author.
        authors=max(row["authors"], 1), reposts=int(row["reposts"]), comments=int(row["comments"]),
        likes=int(row["likes"]), views=int(row["views"]), max_followers=row["followers"] or 0,
        growth=float(row["recent"]))
    first = db.execute(
        f"SELECT source, json_extract(data, '$.url') AS url, {_SEEN} AS seen FROM messages"
        f" WHERE incident_id = ? ORDER BY {_SEEN}, id LIMIT 1", (incident_id,)).fetchone()
    return spread, Origin(from_epoch(first["seen"]), first["source"], first["url"])
