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

from daemon import incidents
from daemon.app.httpapi import Request, Response
from daemon.clock import to_epoch
from daemon.notify import outbox
from daemon.reports.status import last_by_source, reload_failures, rules_loaded
from daemon.store import Store, messages, timers

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
    lines: list[str] = []
    lines += _family("yuqing_messages_total", "counter", "Messages taken in, by source.", (
        _sample("yuqing_messages_total", n, {"source": source})
        for source, n in messages.count_by_source(store).items()))
    lines += _family("yuqing_verdicts_total", "counter", "Messages graded, by level (none: no rule matched).", (
        _sample("yuqing_verdicts_total", n, {"level": level}) for level, n in messages.count_by_level(store).items()))
    lines += _family("yuqing_notifications_total", "counter",
                     "Delivery attempts by channel and result (ok, retry, permanent).", (
        _sample("yuqing_notifications_total", n, {"channel": channel, "result": outcome})
        for channel, outcome, n in outbox.attempts_by_channel(store)))
    lines += _family("yuqing_outbox_depth", "gauge", "Notifications in the outbox by status.", (
        _sample("yuqing_outbox_depth", n, {"status": status})
        for status, n in outbox.counts_by_status(store).items() if status != "sent"))
    pending = timers.pending_summary(store, now)
    lag = max(0.0, to_epoch(now) - pending.oldest_overdue) if pending.oldest_overdue else 0.0
    lines += _family("yuqing_timers_pending", "gauge", "Escalation and digest timers not yet fired.",
                     [_sample("yuqing_timers_pending", pending.total)])
    lines += _family("yuqing_timer_lag_seconds", "gauge", "How late the oldest due, unfired timer is.",
                     [_sample("yuqing_timer_lag_seconds", round(lag, 3))])
    lines += _family("yuqing_incidents_open", "gauge", "Open or acknowledged incidents by level.", (
        _sample("yuqing_incidents_open", n, {"level": level}) for level, n in incidents.open_by_level(store).items()))
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
