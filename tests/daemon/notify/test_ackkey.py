"""The signing key of acknowledgement links: long enough, private, written whole, never through a link."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from daemon.config import Config
from daemon.notify.ackkey import load_secret
from rules.errors import ConfigError


def key_config(tmp_path: Path, ack_secret: str | None = None) -> Config:
    return Config(path=tmp_path / "config.yaml", state_dir=tmp_path / "var", inboxes=(), rules_dir=tmp_path,
                  notify=tmp_path / "n.yaml", ack_secret=ack_secret)


@pytest.mark.parametrize("content", [b"", b"\n", b"short-key", b"x" * 31])
def test_a_short_key_file_is_refused_naming_the_file(tmp_path: Path, content: bytes) -> None:
    config = key_config(tmp_path)
    key = config.state_dir / "ack.key"
    key.parent.mkdir()
    key.write_bytes(content)
    key.chmod(0o600)
    with pytest.raises(ConfigError) as refused:
        load_secret(config)
    assert str(key) in str(refused.value)
    assert "at least 32 bytes" in str(refused.value)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o666])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    config = key_config(tmp_path)
    key = config.state_dir / "ack.key"
    key.parent.mkdir()
    key.write_bytes(b"k" * 64)
    key.chmod(mode)
    with pytest.raises(ConfigError) as refused:
        load_secret(config)
    assert str(key) in str(refused.value)
    assert f"chmod 600 {key}" in str(refused.value)


def test_a_short_configured_secret_is_refused_naming_the_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_secret(key_config(tmp_path, ack_secret="letmein"))
    assert str(tmp_path / "config.yaml") in str(refused.value)
    assert "http.ack_secret" in str(refused.value)
    assert load_secret(key_config(tmp_path, ack_secret="s" * 32)) == b"s" * 32


def test_a_new_key_is_written_whole_with_mode_600_and_kept(tmp_path: Path) -> None:
    config = key_config(tmp_path)
    first = load_secret(config)
    key = config.state_dir / "ack.key"
    assert len(first) >= 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().strip() == first
    assert [p.name for p in config.state_dir.iterdir()] == ["ack.key"]  # no temp file left
    assert load_secret(config) == first


def test_a_symlinked_key_file_is_refused(tmp_path: Path) -> None:
    config = key_config(tmp_path)
    config.state_dir.mkdir()
    target = tmp_path / "elsewhere.key"
    target.write_bytes(b"k" * 64)
    target.chmod(0o600)
    (config.state_dir / "ack.key").symlink_to(target)
    with pytest.raises(ConfigError) as refused:
        load_secret(config)
    assert "symbolic link" in str(refused.value)
