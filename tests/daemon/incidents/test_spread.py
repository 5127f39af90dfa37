"""A story's spread, aggregated in SQL over real stored messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.incidents.spread import figures, message_columns
from daemon.store import Store, dumps
from rules.message import message_to_dict
from rules.model import Author, Message, Metrics, Spread

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def store_member(store: Store, mid: str, source: str, author: str | None, minutes: int, reposts: int = 0,
                 followers: int = 0, url: str | None = None, incident: str = "YQ-1") -> None:
    who = Author(name=author, id=author, followers=followers) if author else None
    message = Message(id=mid, source=source, text="x", author=who, url=url,
                      published_at=T0 + timedelta(minutes=minutes), metrics=Metrics(reposts=reposts, views=10))
    columns = {"id": mid, "hash": mid, "source": source, "data": dumps(message_to_dict(message)),
               "received_at": (T0 + timedelta(minutes=minutes + 1)).timestamp(), "updated_at": 0, "level": "none",
               "verdict": "{}", "incident_id": incident, **message_columns(message)}
    with store.transaction() as db:
        db.execute(f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                   tuple(columns.values()))


def test_spread_counts_platforms_authors_and_sums_metrics(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store_member(store, "b", "weibo", "u2", 30, 50, 120_000)
    store_member(store, "a", "weibo", "u1", 0, 100, 5000, "https://weibo.example/a")
    store_member(store, "c", "douyin", "u1", 70, 7)
    store_member(store, "d", "wechat", None, 90)
    store_member(store, "other", "news", "x", 91, 9999, incident="YQ-2")
    spread, origin = figures(store.db, "YQ-1", T0 + timedelta(minutes=95))
    # u1 on weibo and u1 on douyin are different accounts; c and d appeared within the last hour.
    assert spread == Spread(messages=4, platforms=3, authors=3, reposts=157, comments=0, likes=0, views=40,
                            max_followers=120_000, growth=2.0)
    assert origin is not None
    assert (origin.first_seen, origin.first_source, origin.first_url) == (T0, "weibo", "https://weibo.example/a")


def test_an_empty_story_has_no_spread(tmp_path: Path) -> None:
    spread, origin = figures(Store(tmp_path / "s.db").db, "YQ-9", T0)
    assert spread.messages == 0
    assert origin is None
