from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from daemon.app.statelock import LOCK_NAME, StateDirLocked, StoreWatch, lock_state_dir
from rules.errors import ConfigError


def test_the_state_dir_is_locked_once_and_names_the_holder(tmp_path: Path) -> None:
    lock = lock_state_dir(tmp_path / "var")
    assert (tmp_path / "var" / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    with pytest.raises(StateDirLocked) as refused:
        lock_state_dir(tmp_path / "var")
    assert f"pid {os.getpid()}" in str(refused.value)
    assert str(tmp_path / "var") in str(refused.value)
    lock.release()
    lock_state_dir(tmp_path / "var").release()  # free again


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    target = tmp_path / "precious"
    target.write_text("keep me")
    (tmp_path / "var" / LOCK_NAME).symlink_to(target)
    with pytest.raises(ConfigError, match="lock file"):
        lock_state_dir(tmp_path / "var")
    assert target.read_text() == "keep me"


def test_the_store_watch_notices_a_deleted_or_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "yuqing.db"
    sqlite3.connect(path).close()
    watch = StoreWatch(path)
    assert watch.problem() is None
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    os.replace(other, path)
    assert watch.problem() == "replaced by another file"
    path.unlink()
    assert watch.problem() == "deleted"
