"""``GET /metrics``: Prometheus text format 0.0.4 on the daemon's local HTTP listener.

Every figure is read from the store at scrape time rather than counted in memory: the store already
records each message, verdict, delivery attempt and timer, counts survive restarts (Prometheus copes
with counters that never reset), and `yuqing status`, a separate process, sees the same numbers.
Failed reloads are a ``meta`` row the service bumps (daemon/reports/status.py). The one figure from memory is
whether the store takes writes: when it does not, nothing can be recorded to say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from daemon.app.httpapi import Request, Response
from daemon.clock import to_epoch
from daemon.reports.status import last_by_source, reload_failures, rules_loaded
from daemon.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in (labels or {}).items())
    number = repr(float(value)) if not float(value).is_integer() else str(int(value))
    return f"{name}{{{inner}}} {number}" if inner else f"{name} {number}"


def _family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


def render(store: Store, now: datetime) -> str:
    q = store.query
    lines: list[str] = []
    lines += _family("yuqing_messages_total", "counter", "Messages taken in, by source.", (
        _sample("yuqing_messages_total", r["n"], {"source": r["source"]})
        for r in q("SELECT source, count(*) AS n FROM messages GROUP BY source ORDER BY source")))
    lines += _family("yuqing_verdicts_total", "counter", "Messages graded, by level (none: no rule matched).", (
        _sample("yuqing_verdicts_total", r["n"], {"level": r["level"]})
        for r in q("SELECT level, count(*) AS n FROM messages GROUP BY level ORDER BY level")))
    lines += _family("yuqing_notifications_total", "counter",
                     "Delivery attempts by channel and result (ok, retry, permanent).", (
        _sample("yuqing_notifications_total", r["n"], {"channel": r["channel"], "result": r["outcome"]})
        for r in q("SELECT o.channel, d.outcome, count(*) AS n FROM deliveries d JOIN outbox o"
                   " ON o.id = d.notification_id GROUP BY o.channel, d.outcome ORDER BY o.channel, d.outcome")))
    lines += _family("yuqing_outbox_depth", "gauge", "Notifications in the outbox by status.", (
        _sample("yuqing_outbox_depth", r["n"], {"status": r["status"]})
        for r in q("SELECT status, count(*) AS n FROM outbox WHERE status != 'sent' GROUP BY status ORDER BY status")))
    pending = store.one("SELECT count(*) AS n, min(CASE WHEN due_at <= ? THEN due_at END) AS overdue"
                        " FROM timers WHERE fired_at IS NULL", (to_epoch(now),))
    lag = max(0.0, to_epoch(now) - pending["overdue"]) if pending and pending["overdue"] else 0.0
    lines += _family("yuqing_timers_pending", "gauge", "Escalation and digest timers not yet fired.",
                     [_sample("yuqing_timers_pending", pending["n"] if pending else 0)])
    lines += _family("yuqing_timer_lag_seconds", "gauge", "How late the oldest due, unfired timer is.",
                     [_sample("yuqing_timer_lag_seconds", round(lag, 3))])
    lines += _family("yuqing_incidents_open", "gauge", "Open or acknowledged incidents by level.", (
        _sample("yuqing_incidents_open", r["n"], {"level": r["level"]})
        for r in q("SELECT level, count(*) AS n FROM incidents WHERE status IN ('open', 'acknowledged')"
                   " GROUP BY level ORDER BY level")))
    lines += _family("yuqing_store_writable", "gauge",
                     "1 while the state database takes writes; 0 while new work is paused because it cannot.",
                     [_sample("yuqing_store_writable", 1 if store.health.writable else 0)])
    lines += _family("yuqing_reload_failures_total", "counter", "Rule reloads refused (old rules kept).",
                     [_sample("yuqing_reload_failures_total", reload_failures(store))])
    rules = rules_loaded(store)
    if rules:
        lines += _family("yuqing_rules_loaded_timestamp_seconds", "gauge", "When the rule set in use was loaded.",
                         [_sample("yuqing_rules_loaded_timestamp_seconds", rules["loaded_at"],
                                  {"version": str(rules["version"])})])
    lines += _family("yuqing_source_last_message_timestamp_seconds", "gauge", "Last message received per source.", (
        _sample("yuqing_source_last_message_timestamp_seconds", at, {"source": source})
        for source, at in last_by_source(store).items()))
    return "\n".join(lines) + "\n"


class MetricsEndpoint:
    """The route handler; runs on an HTTP thread (the store gives it its own connection)."""

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self.store = store
        self.now = now

    def __call__(self, request: Request) -> Response:
        return Response(200, render(self.store, self.now()).encode(), CONTENT_TYPE)
