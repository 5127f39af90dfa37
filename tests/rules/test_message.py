"""rules.message: DESIGN's inbound format, its errors, and the round trip the store relies on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.message import MessageError, message_from_dict, message_to_dict
from rules.model import Author, Message, Metrics, content_hash

SHANGHAI = ZoneInfo("Asia/Shanghai")

DESIGN_EXAMPLE: dict[str, Any] = {
    "id": "weibo-4950000000000001", "source": "weibo", "title": "标题", "text": "正文",
    "url": "https://example.com/1",
    "author": {"name": "某人", "id": "u1", "followers": 120000, "verified": True},
    "published_at": "2026-11-20T09:30:00+08:00", "region": "城东",
    "metrics": {"reposts": 1200, "comments": 340, "likes": 5000, "views": 200000},
}


def test_the_design_example() -> None:
    m = message_from_dict(DESIGN_EXAMPLE)
    assert m == Message(
        id="weibo-4950000000000001", source="weibo", text="正文", title="标题", url="https://example.com/1",
        author=Author(name="某人", id="u1", followers=120000, verified=True),
        published_at=datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI), region="城东",
        metrics=Metrics(reposts=1200, comments=340, likes=5000, views=200000),
    )
    assert m.published_at is not None
    assert m.published_at.utcoffset() == timedelta(hours=8)


def test_minimal_message_gets_a_content_hash_id_and_defaults() -> None:
    m = message_from_dict({"text": "村民反映道路积水", "extra": [1, 2]}, default_source="Grid",
                          default_region="城东镇")
    assert m.source == "grid"  # lower-cased, from the inbox default
    assert m.id == content_hash("grid", "", "村民反映道路积水")
    assert (m.title, m.url, m.author, m.published_at, m.metrics) == ("", None, None, None, Metrics())
    assert m.region == "城东镇"


def test_given_source_and_region_win_over_defaults_and_unknown_sources_pass() -> None:
    m = message_from_dict({"text": "t", "source": " XiaoHongShu ", "region": "城西", "id": ""},
                          default_source="grid", default_region="城东")
    assert (m.source, m.region) == ("xiaohongshu", "城西")
    assert m.id == content_hash("xiaohongshu", "", "t")  # an empty id counts as none


def test_naive_times_are_shanghai_and_others_keep_their_offset() -> None:
    naive = message_from_dict({"text": "t", "source": "news", "published_at": "2026-11-20 09:30:00"})
    utc = message_from_dict({"text": "t", "source": "news", "published_at": "2026-11-20T01:30:00Z"})
    assert naive.published_at == utc.published_at == datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)
    assert utc.published_at is not None
    assert utc.published_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(0, 0), (12, 12), (12.0, 12), ("1,200", 1200), ("1.2万", 12000), ("10万+", 100000), ("1.15万", 11500),
     ("3亿", 300_000_000), (" 7 ", 7)],
)
def test_counts_as_collectors_write_them(raw: object, expected: int) -> None:
    m = message_from_dict({"text": "t", "source": "weibo", "metrics": {"views": raw},
                           "author": {"followers": raw}})
    assert m.metrics.views == expected
    assert m.author is not None
    assert m.author.followers == expected


def test_numeric_ids_and_a_bare_author_name() -> None:
    m = message_from_dict({"text": "t", "source": "weibo", "id": 4950000000000001, "author": "张三"})
    assert (m.id, m.author) == ("4950000000000001", Author(name="张三"))
    m = message_from_dict({"text": "t", "source": "weibo", "author": {"id": 42, "verified": False}})
    assert m.author == Author(id="42", verified=False)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ([], "expected a JSON object, got a list"),
        ({"source": "weibo"}, '"text": required'),
        ({"text": "  \n", "source": "weibo"}, '"text": is empty'),
        ({"text": 5, "source": "weibo"}, '"text": expected text, got 5'),
        ({"text": "t"}, '"source": required'),
        ({"text": "t", "source": ""}, '"source": expected a source name such as weibo, got ""'),
        ({"text": "t", "source": "weibo", "metrics": {"reposts": "abc"}},
         '"metrics.reposts": expected a whole number >= 0, got "abc"'),
        ({"text": "t", "source": "weibo", "metrics": {"likes": -1}},
         '"metrics.likes": expected a whole number >= 0, got -1'),
        ({"text": "t", "source": "weibo", "metrics": {"views": 1.5}},
         '"metrics.views": expected a whole number >= 0, got 1.5'),
        ({"text": "t", "source": "weibo", "metrics": {"views": True}},
         '"metrics.views": expected a whole number >= 0, got true'),
        ({"text": "t", "source": "weibo", "metrics": {"views": 2**70}},
         f'"metrics.views": number too large: {2**70}'),
        ({"text": "t", "source": "weibo", "metrics": [1]}, '"metrics": expected an object, got a list'),
        ({"text": "t", "source": "weibo", "author": {"followers": "many"}},
         '"author.followers": expected a whole number >= 0, got "many"'),
        ({"text": "t", "source": "weibo", "author": {"verified": "yes"}},
         '"author.verified": expected true or false, got "yes"'),
        ({"text": "t", "source": "weibo", "author": {"name": {}}},
         '"author.name": expected text, got an object'),
        ({"text": "t", "source": "weibo", "published_at": "yesterday"},
         '"published_at": expected an ISO-8601 time such as 2026-11-20T09:30:00+08:00, got "yesterday"'),
        ({"text": "t", "source": "weibo", "published_at": 1700000000},
         '"published_at": expected an ISO-8601 time, got 1700000000'),
        ({"text": "t", "source": "weibo", "title": ["a"]}, '"title": expected text, got a list'),
        ({"text": "bad \ud800 char", "source": "weibo"},
         '"text": contains characters that are not valid Unicode'),
    ],
)
def test_errors_name_the_field(obj: object, expected: str) -> None:
    with pytest.raises(MessageError) as caught:
        message_from_dict(obj)
    assert str(caught.value) == expected
    assert caught.value.field == (expected.split('"')[1] if expected.startswith('"') else None)


# ---------------------------------------------------------------- properties

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_nonblank = _text.filter(lambda s: s.strip() != "")
_count = st.integers(min_value=0, max_value=2**63 - 1)
_offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30)), SHANGHAI])

messages = st.builds(
    Message,
    id=_nonblank.map(str.strip),
    source=_nonblank.map(lambda s: s.strip().lower()).filter(bool),
    text=_nonblank,
    title=_text,
    url=st.none() | _text,
    author=st.none() | st.builds(Author, name=st.none() | _text, id=st.none() | _text,
                                 followers=st.none() | _count, verified=st.none() | st.booleans()),
    # From 1992: China's summer time (1986-1991) has ambiguous local hours that never compare equal.
    published_at=st.none() | st.datetimes(min_value=datetime(1992, 1, 1), max_value=datetime(2100, 1, 1),
                                          timezones=_offsets),
    region=st.none() | _text,
    metrics=st.builds(Metrics, reposts=_count, comments=_count, likes=_count, views=_count),
)


@settings(max_examples=300)
@given(messages)
def test_round_trip_through_json(m: Message) -> None:
    wire = json.loads(json.dumps(message_to_dict(m), ensure_ascii=False))
    again = message_from_dict(wire)
    assert again == m
    assert message_to_dict(again) == wire


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_fields = st.sampled_from(["id", "source", "title", "text", "url", "author", "published_at", "region",
                           "metrics", "reposts", "followers", "name", "verified", "views"])
_message_like = st.recursive(
    _json,
    lambda inner: st.dictionaries(_fields, inner, max_size=9),
    max_leaves=20,
)


@settings(max_examples=250)
@given(obj=_message_like, default_source=st.none() | st.text(max_size=5))
def test_any_json_value_is_a_message_or_a_message_error(obj: object, default_source: str | None) -> None:
    try:
        m = message_from_dict(obj, default_source=default_source)
    except MessageError:
        return
    assert m.text.strip()
    assert m.source == m.source.strip().lower()
    json.dumps(message_to_dict(m))
