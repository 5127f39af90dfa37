"""config.yaml: where things are. Relative paths are resolved against the config file's folder."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from daemon.durations import DurationError, parse_duration
from rules.errors import ConfigError, Problem
from rules.yamlsrc import Node, check_keys, load_file

DEFAULT_PATH = Path("/etc/yuqing/config.yaml")
TOP_KEYS = ("state_dir", "inbox", "feeds", "rules", "periods", "dictionary", "notify", "http", "limits")
INBOX_KEYS = ("path", "source", "region")
FEED_KEYS = ("url", "source", "every", "region")
LIMIT_KEYS = ("max_file_size", "rescan_every")
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
DEFAULT_RESCAN = timedelta(seconds=30)  # inotify can overflow: a periodic rescan is what guarantees no loss


@dataclass(frozen=True)
class InboxSpec:
    path: Path
    source: str | None = None  # default source of messages that do not name one
    region: str | None = None


@dataclass(frozen=True)
class FeedSpec:
    url: str
    source: str
    every: timedelta
    region: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    state_dir: Path
    inboxes: tuple[InboxSpec, ...]
    rules_dir: Path
    notify: Path
    feeds: tuple[FeedSpec, ...] = ()
    periods: Path | None = None
    dictionary: Path | None = None
    http_listen: str | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    rescan_every: timedelta = DEFAULT_RESCAN

    @property
    def database(self) -> Path:
        return self.state_dir / "yuqing.db"

    @property
    def cache_dir(self) -> Path:
        """jieba's cache. systemd's CacheDirectory when set: under ProtectSystem=strict /tmp is not ours."""
        env = os.environ.get("YUQING_CACHE_DIR") or os.environ.get("CACHE_DIRECTORY", "").split(":")[0]
        return Path(env) if env else self.state_dir / "cache"


def config_path(arg: str | None, env: Mapping[str, str] = os.environ) -> Path:
    """``-c PATH``, else ``$YUQING_CONFIG``, else /etc/yuqing/config.yaml."""
    return Path(arg or env.get("YUQING_CONFIG") or DEFAULT_PATH)


def load_config(path: Path) -> Config:
    root = load_file(path)
    if root is None:
        raise ConfigError([Problem("the config file is empty", path=str(path))])
    base = path.resolve().parent
    problems = check_keys(root, TOP_KEYS, "config", required=("rules", "notify"))
    top = root.mapping("the config (a mapping of settings)")
    parser = _Parser(base, problems)
    state_dir = parser.path(top.get("state_dir")) or base / "var"
    inboxes = parser.inboxes(top.get("inbox"))
    feeds = parser.feeds(top.get("feeds"))
    max_file_bytes, rescan_every = parser.limits(top.get("limits"))
    http = top.get("http")
    listen = None
    if http is not None and not http.is_null:
        problems.extend(check_keys(http, ("listen",), "http"))
        listen_node = http.mapping().get("listen")
        listen = parser.text(listen_node)
    config = Config(
        path=path, state_dir=state_dir, inboxes=inboxes, feeds=feeds,
        rules_dir=parser.path(top.get("rules")) or base / "rules",
        notify=parser.path(top.get("notify")) or base / "notify.yaml",
        periods=parser.path(top.get("periods")), dictionary=parser.path(top.get("dictionary")),
        http_listen=listen, max_file_bytes=max_file_bytes, rescan_every=rescan_every,
    )
    if problems:
        raise ConfigError(problems)
    return config


class _Parser:
    """Collects problems instead of stopping at the first, so `yuqing check` lists them all."""

    def __init__(self, base: Path, problems: list[Problem]) -> None:
        self.base = base
        self.problems = problems

    def text(self, node: Node | None) -> str | None:
        if node is None or node.is_null:
            return None
        try:
            return node.str()
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return None

    def path(self, node: Node | None) -> Path | None:
        value = self.text(node)
        if value is None:
            return None
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else (self.base / p).resolve()

    def duration(self, node: Node | None, default: timedelta) -> timedelta:
        value = self.text(node)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except DurationError as exc:
            assert node is not None
            self.problems.append(node.problem(str(exc)))
            return default

    def entries(self, node: Node | None, keys: tuple[str, ...], what: str, required: str) -> list[dict[str, Node]]:
        if node is None or node.is_null:
            return []
        out: list[dict[str, Node]] = []
        try:
            items = node.items(f"a list of {what}s") if node.is_sequence else [node]
            for item in items:
                self.problems.extend(check_keys(item, keys, what, required=(required,)))
                out.append(item.mapping(f"{what} settings"))
        except ConfigError as exc:
            self.problems.extend(exc.problems)
        return out

    def inboxes(self, node: Node | None) -> tuple[InboxSpec, ...]:
        specs = []
        for entry in self.entries(node, INBOX_KEYS, "inbox", "path"):
            path = self.path(entry.get("path"))
            if path is not None:
                specs.append(InboxSpec(path, self.text(entry.get("source")), self.text(entry.get("region"))))
        return tuple(specs)

    def feeds(self, node: Node | None) -> tuple[FeedSpec, ...]:
        specs = []
        for entry in self.entries(node, FEED_KEYS, "feed", "url"):
            url = self.text(entry.get("url"))
            if url is not None:
                every = self.duration(entry.get("every"), timedelta(minutes=5))
                specs.append(FeedSpec(url, self.text(entry.get("source")) or "news", every,
                                      self.text(entry.get("region"))))
        return tuple(specs)

    def limits(self, node: Node | None) -> tuple[int, timedelta]:
        max_bytes, rescan = DEFAULT_MAX_FILE_BYTES, DEFAULT_RESCAN
        if node is None or node.is_null:
            return max_bytes, rescan
        self.problems.extend(check_keys(node, LIMIT_KEYS, "limits"))
        entries = node.mapping()
        rescan = self.duration(entries.get("rescan_every"), DEFAULT_RESCAN)
        size = entries.get("max_file_size")
        if size is not None:
            value = self.text(size)
            parsed = _parse_size(value) if value is not None else None
            if parsed is None:
                self.problems.append(size.problem(f'expected a size like "20MB", got "{value}"'))
            else:
                max_bytes = parsed
        return max_bytes, rescan


_SIZE = re.compile(r"^\s*(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)\s*$", re.IGNORECASE)


def _parse_size(text: str) -> int | None:
    """``20MB``, ``512k``, ``1048576``; binary multiples, as file sizes are usually meant."""
    match = _SIZE.match(text)
    if match is None:
        return None
    power = {"": 0, "b": 0, "k": 1, "m": 2, "g": 3}[match.group(2)[:1].lower()]
    return int(match.group(1)) * int(1024**power)
