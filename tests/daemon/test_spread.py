from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.spread import Member, origin_of, spread_of
from rules.model import Author, Message, Metrics, Spread

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def member(mid: str, source: str, author: str | None, minutes: int, reposts: int = 0, followers: int = 0,
           url: str | None = None) -> Member:
    who = Author(name=author, id=author, followers=followers) if author else None
    message = Message(id=mid, source=source, text="x", author=who, url=url,
                      published_at=T0 + timedelta(minutes=minutes), metrics=Metrics(reposts=reposts, views=10))
    return Member(message, T0 + timedelta(minutes=minutes + 1))


def test_spread_counts_platforms_authors_and_sums_metrics() -> None:
    members = [member("a", "weibo", "u1", 0, 100, 5000, "https://weibo.example/a"),
               member("b", "weibo", "u2", 30, 50, 120_000),
               member("c", "douyin", "u1", 70, 7),
               member("d", "wechat", None, 90)]
    spread = spread_of(members, T0 + timedelta(minutes=95))
    assert spread == Spread(messages=4, platforms=3, authors=3, reposts=157, comments=0, likes=0, views=40,
                            max_followers=120_000, growth=2.0)  # c and d in the last hour
    origin = origin_of(members)
    assert origin is not None
    assert (origin.first_seen, origin.first_source, origin.first_url) == (T0, "weibo", "https://weibo.example/a")


def test_an_empty_story_has_no_spread() -> None:
    assert spread_of([], T0).messages == 0
    assert origin_of([]) is None
