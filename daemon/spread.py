"""扩散 of a story from its member messages: what the rules' ``spread`` conditions and the county's
reports (首发时间, 首发媒体, 链接, 传播情况) need. Pure: the store hands in the members."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.model import Message, Spread

GROWTH_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Member:
    """One message of a story, with its latest metrics (a re-sent message updates them)."""

    message: Message
    received_at: datetime

    @property
    def seen_at(self) -> datetime:
        """When it appeared: its publication time if the collector knew it, else when we got it."""
        return min(self.message.published_at or self.received_at, self.received_at)

    @property
    def author_key(self) -> str | None:
        author = self.message.author
        if author is None:
            return None
        return f"{self.message.source}:{author.id or author.name}" if (author.id or author.name) else None


@dataclass(frozen=True)
class Origin:
    first_seen: datetime
    first_source: str
    first_url: str | None


def spread_of(members: Sequence[Member], now: datetime) -> Spread:
    if not members:
        return Spread(messages=0, platforms=0, authors=0)
    authors = {m.author_key for m in members if m.author_key is not None}
    recent = sum(1 for m in members if now - m.seen_at <= GROWTH_WINDOW)
    return Spread(
        messages=len(members),
        platforms=len({m.message.source for m in members}),
        # A message without an author still has one: never count fewer authors than anonymous posts.
        authors=max(len(authors), 1),
        reposts=sum(m.message.metrics.reposts for m in members),
        comments=sum(m.message.metrics.comments for m in members),
        likes=sum(m.message.metrics.likes for m in members),
        views=sum(m.message.metrics.views for m in members),
        max_followers=max((m.message.author.followers or 0) if m.message.author else 0 for m in members),
        growth=float(recent),
    )


def origin_of(members: Sequence[Member]) -> Origin | None:
    if not members:
        return None
    first = min(members, key=lambda m: (m.seen_at, m.message.id))
    return Origin(first.seen_at, first.message.source, first.message.url)
