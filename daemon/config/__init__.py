"""Configuration, typed: config.yaml in this module, notify.yaml and the sections of other stages in
the submodules (``notify``, ``policy``, ``rota``, ``reports``, ``review``, ``durations``).

config.yaml: where things are. Relative paths are resolved against the config file's folder."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

from daemon.config.console import ConsoleSpec, parse_console
from daemon.config.durations import DurationError, parse_duration
from daemon.config.reports import ReportSchedule, parse_reports
from daemon.config.review import ReviewSpec, parse_review
from rules.errors import ConfigError, Problem, recorded
from rules.places import Places
from rules.yamlsrc import Node, check_keys, load_file

DEFAULT_PATH = Path("/etc/yuqing/config.yaml")
TOP_KEYS = ("state_dir", "inbox", "feeds", "rules", "periods", "dictionary", "notify", "http", "limits", "incidents",
            "expect", "reports", "review", "places", "console")
PLACE_KEYS = ("local", "neighbours")
INCIDENT_KEYS = ("window", "watch")
DEFAULT_WINDOW = timedelta(hours=72)
INBOX_KEYS = ("path", "source", "region", "format", "csv", "max_file_size", "expect")
CSV_KEYS = ("columns", "delimiter")
FEED_KEYS = ("url", "source", "every", "region", "timeout", "max_backoff", "expect")
HTTP_KEYS = ("listen", "token", "public_url", "ack_secret", "ack_ttl")
DEFAULT_ACK_TTL = timedelta(hours=24)
FORMATS = ("json", "jsonl", "csv", "eml", "txt")
# Fields a CSV column can fill; dotted names reach into author and metrics.
CSV_FIELDS = ("id", "source", "title", "text", "url", "author", "author.name", "author.id", "author.followers",
              "published_at", "region", "metrics.reposts", "metrics.comments", "metrics.likes", "metrics.views")
LIMIT_KEYS = ("max_file_size", "rescan_every", "keep_processed", "keep_feed_items", "busy_timeout")
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
DEFAULT_RESCAN = timedelta(seconds=30)  # inotify can overflow: a periodic rescan is what guarantees no loss
DEFAULT_BUSY_TIMEOUT = timedelta(seconds=10)  # how long a write waits for another writer (daemon/store/__init__.py)
MAX_BUSY_TIMEOUT = timedelta(seconds=20)  # the evaluation thread must still ping systemd's WatchdogSec=30
# Handled files stay in processed/YYYY-MM-DD/ for this long (the store keeps every message); feed
# items seen stay remembered for longer than any feed lists them (an item seen again after that is
# still a duplicate by its id or content in the store).
DEFAULT_KEEP_PROCESSED = timedelta(days=90)
DEFAULT_KEEP_FEED_ITEMS = timedelta(days=180)


@dataclass(frozen=True)
class CsvSpec:
    """Which header names fill which message field; several columns for one field are joined by lines."""

    columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    delimiter: str | None = None  # None: guessed from the header line among , tab ; |


@dataclass(frozen=True)
class InboxSpec:
    path: Path
    source: str | None = None  # default source of messages that do not name one
    region: str | None = None
    format: str | None = None  # None: from the file's suffix
    csv: CsvSpec = CsvSpec()
    max_file_bytes: int | None = None  # None: the global limit
    # A file at least this often, or the admin team is told (daemon/reports/source_watch.py).
    expect: timedelta | None = None


@dataclass(frozen=True)
class FeedSpec:
    url: str
    source: str
    every: timedelta
    region: str | None = None
    timeout: timedelta = timedelta(seconds=20)
    max_backoff: timedelta = timedelta(hours=1)
    expect: timedelta | None = None  # a new item at least this often, or the admin team is told


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
    http_token: str | None = None  # without one the HTTP ingest endpoint stays off
    # How officials' browsers reach the listener (``https://yq.example.gov.cn``); None: from ``listen``.
    http_public_url: str | None = None
    ack_secret: str | None = None  # signs acknowledgement links; None: generated once in state_dir
    ack_ttl: timedelta = DEFAULT_ACK_TTL
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    rescan_every: timedelta = DEFAULT_RESCAN
    keep_processed: timedelta = DEFAULT_KEEP_PROCESSED
    keep_feed_items: timedelta = DEFAULT_KEEP_FEED_ITEMS
    busy_timeout: timedelta = DEFAULT_BUSY_TIMEOUT
    # A message joins a story active within ``window``; a resolved story with news within ``watch``
    # reopens as 回潮; an open one quiet for ``window`` closes by itself.
    window: timedelta = DEFAULT_WINDOW
    watch: timedelta = DEFAULT_WINDOW
    # ``expect: {weibo: 2h}``: a source with no message for longer is a silent collector
    # (daemon/reports/source_watch.py).
    expect: tuple[tuple[str, timedelta], ...] = ()
    reports: ReportSchedule | None = None  # 日报/周报 schedule (daemon/config/reports.py)
    review: ReviewSpec = field(default_factory=ReviewSpec)  # 待研判 recall net (daemon/config/review.py)
    places: Places = field(default_factory=Places)  # the county's own places and its neighbours' (rules/places.py)
    console: ConsoleSpec | None = None  # the duty officers' web console (daemon/config/console.py)

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
    max_file_bytes, rescan_every, keep_processed, keep_feed_items = parser.limits(top.get("limits"))
    busy_timeout = parser.busy_timeout(top.get("limits"))
    window, watch = parser.incidents(top.get("incidents"))
    http = top.get("http")
    listen = token = public_url = ack_secret = None
    ack_ttl = DEFAULT_ACK_TTL
    if http is not None and not http.is_null:
        problems.extend(check_keys(http, HTTP_KEYS, "http"))
        listen = parser.text(http.mapping().get("listen"))
        token = parser.secret(http.mapping().get("token"))
        public_url = parser.text(http.mapping().get("public_url"))
        ack_secret = parser.secret(http.mapping().get("ack_secret"))
        ack_ttl = parser.duration(http.mapping().get("ack_ttl"), DEFAULT_ACK_TTL)
    config = Config(
        path=path, state_dir=state_dir, inboxes=inboxes, feeds=feeds,
        rules_dir=parser.path(top.get("rules")) or base / "rules",
        notify=parser.path(top.get("notify")) or base / "notify.yaml",
        periods=parser.path(top.get("periods")), dictionary=parser.path(top.get("dictionary")),
        http_listen=listen, http_token=token, http_public_url=public_url, ack_secret=ack_secret,
        ack_ttl=ack_ttl, max_file_bytes=max_file_bytes, rescan_every=rescan_every,
        keep_processed=keep_processed, keep_feed_items=keep_feed_items, busy_timeout=busy_timeout,
        window=window, watch=watch, expect=parser.expect(top.get("expect")),
        reports=parse_reports(top.get("reports"), problems),
        review=parse_review(top.get("review"), parser.path, problems), places=parser.places(top.get("places")),
        console=parse_console(top.get("console"), parser.path, parser.duration, problems),
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
        return recorded(self.problems, node.str, None)

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

    def secret(self, node: Node | None) -> str | None:
        """A literal, or ``${VAR}`` from the environment so the token need not sit in config.yaml."""
        value = self.text(node)
        found = re.fullmatch(r"\$\{(\w+)\}", value or "")
        if found is None:
            return value
        assert node is not None
        if found[1] not in os.environ:
            self.problems.append(node.problem(f"environment variable {found[1]} is not set"))
            return None
        return os.environ[found[1]]

    def inboxes(self, node: Node | None) -> tuple[InboxSpec, ...]:
        specs = []
        for entry in self.entries(node, INBOX_KEYS, "inbox", "path"):
            path = self.path(entry.get("path"))
            fmt = self.text(entry.get("format"))
            if fmt is not None and fmt.lower() not in FORMATS:
                self.problems.append(entry["format"].problem(
                    f'unknown format "{fmt}": use one of {", ".join(FORMATS)}'))
                fmt = None
            size = self.size(entry.get("max_file_size"))
            if path is not None:
                specs.append(InboxSpec(path, self.text(entry.get("source")), self.text(entry.get("region")),
                                       fmt.lower() if fmt else None, self.csv(entry.get("csv")), size,
                                       self.optional_duration(entry.get("expect"))))
        return tuple(specs)

    def csv(self, node: Node | None) -> CsvSpec:
        if node is None or node.is_null:
            return CsvSpec()
        return recorded(self.problems, lambda: self._csv(node), CsvSpec())

    def _csv(self, node: Node) -> CsvSpec:
        self.problems.extend(check_keys(node, CSV_KEYS, "csv"))
        entries = node.mapping("csv settings")
        delimiter = self.text(entries.get("delimiter"))
        if delimiter is not None:
            delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter)
            if len(delimiter) != 1:
                self.problems.append(entries["delimiter"].problem(
                    f'expected one character (or "tab"), got "{delimiter}"'))
                delimiter = None
        columns: list[tuple[str, tuple[str, ...]]] = []
        mapping = entries.get("columns")
        if mapping is not None and not mapping.is_null:
            self.problems.extend(check_keys(mapping, CSV_FIELDS, "csv columns"))
            for name, value in mapping.mapping("a mapping of message field to column name").items():
                headers = [self.text(v) for v in value.items()] if value.is_sequence else [self.text(value)]
                columns.append((name, tuple(h for h in headers if h)))
        return CsvSpec(tuple(columns), delimiter)

    def feeds(self, node: Node | None) -> tuple[FeedSpec, ...]:
        specs = []
        for entry in self.entries(node, FEED_KEYS, "feed", "url"):
            url = self.text(entry.get("url"))
            if url is not None:
                every = self.duration(entry.get("every"), timedelta(minutes=5))
                specs.append(FeedSpec(url, self.text(entry.get("source")) or "news", every,
                                      self.text(entry.get("region")),
                                      self.duration(entry.get("timeout"), timedelta(seconds=20)),
                                      self.duration(entry.get("max_backoff"), timedelta(hours=1)),
                                      self.optional_duration(entry.get("expect"))))
        return tuple(specs)

    def optional_duration(self, node: Node | None) -> timedelta | None:
        return None if node is None or node.is_null else self.duration(node, timedelta(0)) or None

    def expect(self, node: Node | None) -> tuple[tuple[str, timedelta], ...]:
        """``expect: {source: duration}``: how long each source may be quiet."""
        if node is None or node.is_null:
            return ()
        what = "a mapping of source to duration, like {weibo: 2h}"
        entries: dict[str, Node] = recorded(self.problems, lambda: node.mapping(what), {})
        found = ((source, self.optional_duration(value)) for source, value in entries.items())
        return tuple((source, d) for source, d in found if d is not None)

    def incidents(self, node: Node | None) -> tuple[timedelta, timedelta]:
        if node is None or node.is_null:
            return DEFAULT_WINDOW, DEFAULT_WINDOW
        self.problems.extend(check_keys(node, INCIDENT_KEYS, "incidents"))
        entries = node.mapping()
        return (self.duration(entries.get("window"), DEFAULT_WINDOW),
                self.duration(entries.get("watch"), DEFAULT_WINDOW))

    def limits(self, node: Node | None) -> tuple[int, timedelta, timedelta, timedelta]:
        entries = {} if node is None or node.is_null else node.mapping()
        if entries and node is not None:
            self.problems.extend(check_keys(node, LIMIT_KEYS, "limits"))
        return (self.size(entries.get("max_file_size")) or DEFAULT_MAX_FILE_BYTES,
                self.duration(entries.get("rescan_every"), DEFAULT_RESCAN),
                self.duration(entries.get("keep_processed"), DEFAULT_KEEP_PROCESSED),
                self.duration(entries.get("keep_feed_items"), DEFAULT_KEEP_FEED_ITEMS))

    def busy_timeout(self, node: Node | None) -> timedelta:
        entry = None if node is None or node.is_null else node.mapping().get("busy_timeout")
        value = self.duration(entry, DEFAULT_BUSY_TIMEOUT)
        if entry is not None and not timedelta(seconds=1) <= value <= MAX_BUSY_TIMEOUT:
            self.problems.append(entry.problem(
                f"busy_timeout must be between 1s and {MAX_BUSY_TIMEOUT.seconds}s (under systemd's WatchdogSec)"))
            return DEFAULT_BUSY_TIMEOUT
        return value

    def places(self, node: Node | None) -> Places:
        """``places: {local: [石桥镇, …], neighbours: [云溪县, …]}``."""
        if node is None or node.is_null:
            return Places()
        self.problems.extend(check_keys(node, PLACE_KEYS, "places"))
        entries: dict[str, Node] = recorded(self.problems, partial(
            node.mapping, "a mapping with local and neighbours, lists of place names"), {})
        found = {key: self._place_names(entries[key], key) if key in entries else () for key in PLACE_KEYS}
        return Places(local=found["local"], neighbours=found["neighbours"])

    def _place_names(self, node: Node, key: str) -> tuple[str, ...]:
        names: dict[str, None] = {}
        items: list[Node] = [] if node.is_null else recorded(
            self.problems, partial(node.items, f"a list of place names in places.{key}"), [])
        for item in items:
            name = recorded(self.problems, partial(item.str, "a place name"), None)
            if name is not None and not name.strip():
                self.problems.append(item.problem(f"empty place name in places.{key}"))
            elif name is not None:
                names[name.strip()] = None
        return tuple(names)

    def size(self, node: Node | None) -> int | None:
        if node is None or node.is_null:
            return None
        value = self.text(node)
        parsed = _parse_size(value) if value is not None else None
        if parsed is None:
            self.problems.append(node.problem(f'expected a size like "20MB", got "{value}"'))
        return parsed


_SIZE = re.compile(r"^\s*(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)\s*$", re.IGNORECASE)


def _parse_size(text: str) -> int | None:
    """``20MB``, ``512k``, ``1048576``; binary multiples, as file sizes are usually meant."""
    match = _SIZE.match(text)
    if match is None:
        return None
    power = {"": 0, "b": 0, "k": 1, "m": 2, "g": 3}[match.group(2)[:1].lower()]
    return int(match.group(1)) * int(1024**power)
