from __future__ import annotations

import threading

from daemon.clock import unique_stamp


def test_unique_stamps_never_repeat_even_within_one_clock_tick() -> None:
    stamps: list[int] = []

    def take() -> None:
        stamps.extend(unique_stamp() for _ in range(2000))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(stamps)) == len(stamps) == 8000


def test_unique_stamps_increase() -> None:
    first, second = unique_stamp(), unique_stamp()
    assert second > first
