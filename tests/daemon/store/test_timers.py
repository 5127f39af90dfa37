"""Level episodes as timers store them: ``red`` for the first time at red, ``red#2`` after two 回潮."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.store.timers import Episode
from rules.model import Level

GRADED = st.sampled_from([Level.BLUE, Level.YELLOW, Level.RED])


def test_the_stored_keys_read_as_before() -> None:
    assert Episode(Level.RED).key == "red"
    assert Episode(Level.YELLOW, 2).key == "yellow#2"
    assert Episode.parse("red#1") == Episode(Level.RED, 1)
    assert Episode.parse("blue") == Episode(Level.BLUE, 0)


@given(GRADED, st.integers(min_value=0, max_value=10_000))
def test_an_episode_survives_its_key(level: Level, resurgence: int) -> None:
    assert Episode.parse(Episode(level, resurgence).key) == Episode(level, resurgence)
