"""The messages repository reads ids in chunks (SQLite bounds the parameters of one statement): many
incidents or messages at once still come back whole and in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.store import Store, messages

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
MANY = messages.CHUNK * 2 + 7


def _store_with_many(store: Store) -> None:
    with store.transaction() as db:
        for n in range(MANY):
            # Receipt order runs against id order, so an answer put together chunk by chunk must be sorted.
            at = T0 + timedelta(seconds=MANY - n)
            messages.insert(db, {"id": f"m{n:05d}", "hash": f"h{n}", "source": "weibo", "data": "{}",
                                 "received_at": at.timestamp(), "updated_at": at.timestamp(), "level": "blue",
                                 "verdict": "{}", "incident_id": f"YQ-{n:05d}"})


def test_members_of_many_incidents_come_back_whole_oldest_first() -> None:
    store = Store.in_memory()
    _store_with_many(store)
    found = messages.members_of(store, [f"YQ-{n:05d}" for n in range(MANY)])
    assert [m.id for m in found] == [f"m{n:05d}" for n in reversed(range(MANY))]


def test_by_ids_finds_every_stored_message_among_many_ids() -> None:
    store = Store.in_memory()
    _store_with_many(store)
    asked = [f"m{n:05d}" for n in range(MANY)] + ["unknown"]
    assert sorted(messages.by_ids(store, asked)) == asked[:-1]
