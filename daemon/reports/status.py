"""What `yuqing status` and /metrics report, read from the store and the inbox folders.

The service writes two things for them at load and reload (``meta`` rows, so the CLI, a separate
process, sees them): the rule set in use and when it was loaded, and a count of failed reloads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from channels.delivery import mask_url, mask_urls_in
from daemon.clock import from_epoch, local, to_epoch
from daemon.config import Config
from daemon.store import Store, dumps
from rules.county import SEVERITY_ORDER
from rules.text import available_backend

RULES_KEY = "status:rules"
RELOAD_FAILURES_KEY = "status:reload_failures"


def record_rules(store: Store, version: str, rules: int, now: datetime) -> None:
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                   (RULES_KEY, dumps({"version": version, "rules": rules, "loaded_at": to_epoch(now)})))


def record_reload_failure(store: Store) -> None:
    with store.transaction() as db:
        db.execute("INSERT INTO meta VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET"
                   " value = CAST(value AS INTEGER) + 1", (RELOAD_FAILURES_KEY,))


def rules_loaded(store: Store) -> dict[str, Any]:
    row = store.one("SELECT value FROM meta WHERE key = ?", (RULES_KEY,))
    found: dict[str, Any] = json.loads(row["value"]) if row else {}
    return found


def reload_failures(store: Store) -> int:
    row = store.one("SELECT value FROM meta WHERE key = ?", (RELOAD_FAILURES_KEY,))
    return int(row["value"]) if row else 0


def last_by_source(store: Store) -> dict[str, float]:
    return {r["source"]: r["at"] for r in store.query(
        "SELECT source, max(received_at) AS at FROM messages GROUP BY source ORDER BY source")}


def last_by_feed(store: Store) -> dict[str, float | None]:
    """A feed's last new item (feed_seen), else its last good poll."""
    rows = store.query("SELECT s.url, (SELECT max(at) FROM feed_seen f WHERE f.url = s.url) AS item,"
                       " s.last_ok_at FROM feed_state s ORDER BY s.url")
    return {r["url"]: r["item"] if r["item"] is not None else r["last_ok_at"] for r in rows}


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

    open_levels = {r["level"]: r["n"] for r in store.query(
        "SELECT level, count(*) AS n FROM incidents WHERE status IN ('open', 'acknowledged') GROUP BY level")}
    timers = store.one("SELECT count(*) AS n, min(due_at) AS next FROM timers WHERE fired_at IS NULL")
    overdue = store.one("SELECT min(due_at) AS due FROM timers WHERE fired_at IS NULL AND due_at <= ?",
                        (to_epoch(now),))
    outbox = {r["status"]: r["n"] for r in store.query("SELECT status, count(*) AS n FROM outbox GROUP BY status")}
    errors = store.query("SELECT channel, last_error, next_attempt_at FROM outbox WHERE last_error IS NOT NULL"
                         " ORDER BY next_attempt_at DESC LIMIT 5")
    rules = rules_loaded(store)
    return {
        "inbox_backlog": inbox_backlog(config),
        "files_failed": _count(store, "SELECT count(*) FROM files WHERE status = 'failed'"),
        "messages": _count(store, "SELECT count(*) FROM messages"),
        "last_message_by_source": {k: at(v) for k, v in last_by_source(store).items()},
        "last_item_by_feed": {mask_url(k): at(v) for k, v in last_by_feed(store).items()},
        "open_incidents": {level: open_levels.get(level, 0) for level in SEVERITY_ORDER},
        "timers_pending": int(timers["n"]) if timers else 0,
        "next_timer": at(timers["next"]) if timers else None,
        "timer_lag_s": round(to_epoch(now) - overdue["due"], 1) if overdue and overdue["due"] else 0.0,
        "outbox_pending": outbox.get("pending", 0), "outbox_failed": outbox.get("failed", 0),
        "outbox_sent": outbox.get("sent", 0),
        "last_errors": [mask_urls_in(f"{r['channel']}: {r['last_error']}") for r in errors],
        "rules_version": rules.get("version"), "rules": rules.get("rules"),
        "rules_loaded_at": at(rules.get("loaded_at")), "reload_failures": reload_failures(store),
        "tokenizer": available_backend(),  # rjieba with the `fast` extra: the same tokens, faster
    }


def _count(store: Store, sql: str) -> int:
    row = store.one(sql)
    return int(row[0]) if row else 0


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
