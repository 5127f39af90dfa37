"""A member of the inbox group replaces inbox/processing with a link to the daemon's state folder: the
daemon refuses to start, names the folder, and moves nothing the link points to."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.harness import yuqing
from tests.e2e.test_crash_loop import write_config


def test_a_symlinked_processing_folder_stops_the_daemon_before_it_touches_the_state(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    state = tmp_path / "var"
    first = yuqing("run", "--once", "-c", str(config))  # creates the store and the working folders
    assert first.returncode == 0, first.stderr
    before = sorted(p.name for p in state.iterdir())
    assert "yuqing.db" in before
    inbox = state / "inbox"
    os.rename(inbox / "processing", inbox / "processing.old")
    (inbox / "processing").symlink_to(state)
    done = yuqing("run", "--once", "-c", str(config))
    assert done.returncode != 0
    assert f"{inbox / 'processing'}: error: is a symbolic link or not a folder" in done.stderr
    assert sorted(p.name for p in state.iterdir()) == before
    assert not list((inbox / "failed").iterdir())
