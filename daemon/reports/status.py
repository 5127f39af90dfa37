"""What `yuqing status` and /metrics report, read from the store and the inbox folders.

The service writes two things for them at load and reload (``meta`` rows, so the CLI, a separate
process, sees them): the rule set in use and when it was loaded, and a count of failed reloads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from channels.delivery import mask_url, mask_urls_in
from daemon import incidents
from daemon.clock import from_epoch, local, to_epoch
from daemon.config import Config
from daemon.ingest import feeds
from daemon.notify import outbox
from daemon.store import Store, dumps, messages, meta, timers
from rules.county import SEVERITY_ORDER
from rules.text import available_backend

RULES_KEY = "status:rules"
RELOAD_FAILURES_KEY = "status:reload_failures"


def record_rules(store: Store, version: str, rules: int, now: datetime) -> None:
    with store.transaction() as db:
        meta.put(db, RULES_KEY, dumps({"version": version, "rules": rules, "loaded_at": to_epoch(now)}))


def record_reload_failure(store: Store) -> None:
    with store.transaction() as db:
        meta.increment(db, RELOAD_FAILURES_KEY)


def rules_loaded(store: Store) -> dict[str, Any]:
    text = meta.value(store.db, RULES_KEY)
    found: dict[str, Any] = json.loads(text) if text is not None else {}
    return found


def reload_failures(store: Store) -> int:
    text = meta.value(store.db, RELOAD_FAILURES_KEY)
    return int(text) if text is not None else 0


def last_by_source(store: Store) -> dict[str, float]:
    return messages.last_received_by_source(store)


def last_by_feed(store: Store) -> dict[str, float | None]:
    """A feed's last new item (feed_seen), else its last good poll."""
    return {f.url: f.last_item_at if f.last_item_at is not None else f.last_ok_at for f in feeds.last_heard(store)}


def inbox_backlog(config: Config) -> dict[str, int]:
    """Files waiting in each inbox folder (hidden temp files are still being written: not counted)."""
    backlog: dict[str, int] = {}
    for spec in config.inboxes:
        count = 0
        if spec.path.is_dir():
            count = sum(1 for p in spec.path.iterdir() if p.is_file() and not p.name.startswith("."))
        backlog[str(spec.path)] = count
    return backlog


def gather(config: Config, store: Store, now: datetime) -> dict[str, Any]:
    """Everything `yuqing status` shows, as plain JSON values; times as local ISO strings."""
    def at(epoch: float | None) -> str | None:
        return None if epoch is None else local(from_epoch(epoch)).isoformat(timespec="seconds")

    open_levels = incidents.open_by_level(store)
    pending = timers.pending_summary(store, now)
    queued = outbox.counts_by_status(store)
    errors = outbox.last_errors(store, 5)
    rules = rules_loaded(store)
    return {
        "inbox_backlog": inbox_backlog(config),
        "files_failed": messages.count_failed_files(store),
        "messages": messages.count_messages(store),
        "last_message_by_source": {k: at(v) for k, v in last_by_source(store).items()},
        "last_item_by_feed": {mask_url(k): at(v) for k, v in last_by_feed(store).items()},
        "open_incidents": {level: open_levels.get(level, 0) for level in SEVERITY_ORDER},
        "timers_pending": pending.total,
        "next_timer": at(pending.next_due),
        "timer_lag_s": round(to_epoch(now) - pending.oldest_overdue, 1) if pending.oldest_overdue else 0.0,
        "outbox_pending": queued.get("pending", 0), "outbox_failed": queued.get("failed", 0),
        "outbox_sent": queued.get("sent", 0),
        "last_errors": [mask_urls_in(f"{e.channel}: {e.error}") for e in errors],
        "rules_version": rules.get("version"), "rules": rules.get("rules"),
        "rules_loaded_at": at(rules.get("loaded_at")), "reload_failures": reload_failures(store),
        "tokenizer": available_backend(),  # rjieba with the `fast` extra: the same tokens, faster
    }


def counts(store: Store) -> dict[str, int]:
    """The service's figures when it finishes a run or stops (its log lines)."""
    queued = outbox.counts_by_status(store)
    return {
        "messages": messages.count_messages(store),
        "incidents_open": incidents.count_not_resolved(store),
        "timers_pending": timers.count_pending(store),
        "outbox_pending": queued.get("pending", 0),
        "outbox_failed": queued.get("failed", 0),
        "files_failed": messages.count_failed_files(store),
    }


def format_text(status: dict[str, Any]) -> str:
    """Aligned ``key  value`` lines; mappings one entry a line, indented."""
    lines = []
    for key, value in status.items():
        if isinstance(value, dict):
            lines.append(f"{key}:" + ("" if value else " (none)"))
            lines += [f"  {k:<30} {v if v is not None else '-'}" for k, v in value.items()]
        elif isinstance(value, list):
            lines.append(f"{key}:" + ("" if value else " (none)"))
            lines += [f"  {item}" for item in value]
        else:
            lines.append(f"{key:<32} {value if value is not None else '-'}")
    return "\n".join(lines)
