"""The service loop under systemd: watch inboxes, handle files, fire timers, deliver, reload, stop cleanly.

One thread evaluates (jieba and durable_rules are not thread-safe); a second delivers the outbox so a
slow SMTP server never holds up grading. SIGTERM finishes the file in hand; SIGHUP reloads the rules.
While the state database cannot be written the service pauses new work and waits for it by itself
(daemon/store/health.py); a state file deleted or replaced under it stops it with exit code 1.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

import structlog

from channels import local as local_channels
from channels.delivery import deliver
from daemon import incidents
from daemon.app import ackpage, console, retention
from daemon.app.chatack import chat_stream, feishu_stream
from daemon.app.clockstep import move_pending
from daemon.app.httpapi import HttpServer, serve_http
from daemon.app.metrics import MetricsEndpoint
from daemon.app.sdnotify import SystemdNotifier
from daemon.app.statelock import StoreWatch, lock_state_dir
from daemon.clock import Clock, ClockWatch, SystemClock, to_epoch
from daemon.config import Config
from daemon.config.notify import load_notify
from daemon.incidents.stories import Stories
from daemon.ingest.feeds import start_feeds
from daemon.ingest.folders import SETTLE_SECONDS, Inbox, Watcher, spool_dir, spool_specs
from daemon.notify import closure
from daemon.notify.admin import fallback_notice, store_recovered, store_trouble_notices
from daemon.notify.delivery import Outbox
from daemon.notify.escalation import Escalation
from daemon.notify.rendering import ChannelRenderer
from daemon.reports import paperwork, status
from daemon.store import Store
from daemon.store.health import StoreUnwritable
from daemon.triage.pipeline import Pipeline
from daemon.triage.reload import RulesWatcher, build_checked, notify_admin
from daemon.triage.review import build_review_net
from daemon.triage.rulebook import build_rulebook, new_analyzer

log = structlog.get_logger(__name__)

TIMER_POLL = 1.0  # seconds: timers fire within this of due, even while a backlog is worked off
STORE_PROBE_MAX = 30.0  # seconds between write tries while the store cannot be written


def serve(config: Config, *, once: bool = False) -> int:
    """``yuqing run``: lock the state_dir before anything in it is read or written (building the service
    opens the database and may write caches and ack.key), then build the service and run it."""
    lock = lock_state_dir(config.state_dir)  # one daemon only
    try:
        return Service(config, once=once).run()
    finally:
        lock.release()


class Service:
    """Built whole by the constructor, which starts no thread, installs no signal handler and takes no
    lock, so a test can build the pipeline on a fake clock and an in-memory store and drive its parts
    (tests/daemon/app/test_build.py). ``run()`` writes the start-up state, then works. The daemon itself
    is started by ``serve()``, which takes the state_dir lock first: the constructor opens the database."""

    def __init__(self, config: Config, *, clock: Clock | None = None, store: Store | None = None,
                 once: bool = False) -> None:
        self.started = time.monotonic()
        self.config = config
        self.clock = clock or SystemClock()
        self.once = once
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.delivery_wakeup = threading.Event()
        self.notifier = SystemdNotifier()
        self.rescan_seconds = config.rescan_every.total_seconds()
        self.last_ping = self.last_timers = self.last_scan = time.monotonic()
        self.last_pruned = float("-inf")  # the first rescan prunes
        self.store_probe_at: float | None = None  # while the store cannot be written: when to try again
        self.store_failures = 0
        self.exit_code = 0  # 1 when the daemon stops because of its state file
        self.http: HttpServer | None = None  # started by run(), when http.listen is set

        local_channels.register()
        self.notify = load_notify(config.notify, env=os.environ)
        self.store = store or Store(config.database, config.busy_timeout.total_seconds(), self.clock)
        self.store_watch = StoreWatch(self.store.path) if self.store.on_disk else None
        self.clock_watch = ClockWatch(self.clock)
        analyzer = new_analyzer(config)
        rulebook = build_rulebook(config, analyzer)
        for warning in rulebook.warnings:
            log.warning("rules.warning", problem=str(warning))
        # Alerts about an open incident carry a signed link to the acknowledgement page (daemon/app/ackpage.py).
        self.renderer = ackpage.with_ack_links(ChannelRenderer(self.notify.templates), ackpage.links_for(config),
                                               self.clock)
        self.escalation = Escalation(self.notify, self.renderer)
        stories = Stories.for_county(config.dictionary, rulebook.ruleset.keyword_sets, config.window, config.watch,
                                     config.cache_dir)
        self.pipeline = Pipeline(self.store, analyzer, rulebook, self.escalation, self.clock, config.max_file_bytes,
                                 stories, tick=self._keepalive, review=build_review_net(config.review))
        # Channels read the service's clock as each request goes out (signatures, Date headers, jsonl times).
        self.outbox = Outbox(self.store, self.notify.channels, functools.partial(deliver, now=self.clock.now),
                             render=self.renderer, retry=self.notify.retry, on_fallback=fallback_notice(self.notify))
        self.inboxes = [Inbox(spec) for spec in (*config.inboxes, *spool_specs(config))]

    def run(self) -> int:
        """Handle everything pending and return (``once``), or watch and work until SIGTERM."""
        self.prepare()
        return self._run_once() if self.once else self._run_forever()

    def prepare(self) -> None:
        """What a start writes before any message: the rules in use, the report and digest timers, the
        stories of open incidents read back, the inbox folders."""
        now, rulebook = self.clock.now(), self.pipeline.rulebook
        status.record_rules(self.store, rulebook.version, len(rulebook.ruleset.rules), now)
        paperwork.start(self.config, self.store, now)
        with self.store.transaction() as db:
            self.escalation.schedule_digest(db, now)
        self.pipeline.stories.rebuild(self.store, now)
        for inbox in self.inboxes:
            inbox.prepare()
        log.info("service.started", rules=len(rulebook.ruleset.rules), version=rulebook.version,
                 inboxes=[str(i.path) for i in self.inboxes], once=self.once,
                 startup_s=round(time.monotonic() - self.started, 2))

    def fire_timers(self, now: datetime) -> int:
        """Escalation steps and digests due at ``now``, and closure notices: how many timers fired and
        notices were queued (non-zero: wake the delivery thread). ``now`` is the caller's one reading."""
        return self.escalation.fire_due(self.store, now) + closure.announce(self.store, self.notify, self.renderer,
                                                                             now)

    # ---------------------------------------------------------------- modes

    def _run_once(self) -> int:
        store = self.store
        self._resume_and_scan(settled_only=False)
        now = self.clock.now()  # one reading for the timers, after the files (each timed as it is handled)
        self.fire_timers(now)
        paperwork.tick(self.config, store, self.notify, now)
        self._prune(now)
        self.outbox.deliver_due(self.clock.now, flush=True)  # --once waits for nothing: groups go now
        self.outbox.close()
        log.info("service.done", **status.counts(store))
        store.close()
        return 0

    def _run_forever(self) -> int:
        store = self.store
        self._install_signals()
        watcher = Watcher(self.inboxes)
        watcher.start()  # watch first, then scan: nothing slips between the two
        rules_watcher = RulesWatcher(self.config)
        rules_watcher.start()
        delivery = threading.Thread(target=self._deliver_loop, name="outbox", daemon=True)
        delivery.start()
        # Ready once rules are loaded and the inboxes watched: a backlog is worked off afterwards, with
        # watchdog pings between files, so a long one never trips systemd's start or watchdog timeouts.
        self.notifier.ready(f"watching {len(self.inboxes)} inbox(es)")
        log.info("service.ready", inboxes=len(self.inboxes))
        self._resume_and_scan(settled_only=True)
        # Both only publish into spool inboxes: the evaluation stays on this one thread.
        self.http = serve_http(self.config, spool_dir(self.config, "http"))
        if self.http is not None:
            ackpage.serve(self.http.router, store, self.config, self.notify.directory, self.clock)
            self.http.router.add("GET", "/metrics", MetricsEndpoint(store, self.clock.now))
            console.serve(self.http.router, store, self.config, self.notify, self.clock)
        feeds = start_feeds(self.config, store, spool_dir(self.config, "feeds"), self.clock)
        stream = chat_stream(self.config, self.notify, store, self.clock)
        feishu = feishu_stream(self.config, self.notify, store, self.clock)
        self.last_scan = time.monotonic()
        try:
            while not self.stopping.is_set():
                self._check_store_file()
                if self.stopping.is_set():
                    break
                if not store.health.writable:
                    self._wait_for_store(watcher)
                    continue
                if self.store_probe_at is not None:  # writable again (this thread's probe or another's write)
                    self._store_back()
                # Marked in store.health: the next round pauses; a file in hand stays in processing/.
                with contextlib.suppress(StoreUnwritable):
                    self._tick(watcher, rules_watcher)
        finally:
            self.notifier.stopping()
            watcher.stop()
            rules_watcher.stop()
            if self.http is not None:
                self.http.stop()
            if feeds is not None:
                feeds.stop()
            if stream is not None:
                stream.stop()
            if feishu is not None:
                feishu.stop()
            self.delivery_wakeup.set()
            delivery.join(timeout=30)
            self.pipeline.rulebook.close()
            log.info("service.stopped", **status.counts(store))
            store.close()
        return self.exit_code

    def _check_store_file(self) -> None:
        """A state file deleted or replaced under the daemon: stop with an error, so that systemd restarts
        it on the file that is there now instead of writing on into one nobody reads."""
        problem = self.store_watch.problem() if self.store_watch is not None else None
        if problem is not None and not self.stopping.is_set():
            log.error("store.lost", path=str(self.store.path), problem=problem,
                      hint="stopping with an error; systemd restarts the daemon on the file there now")
            self.exit_code = 1
            self.stopping.set()

    def _tick(self, watcher: Watcher, rules_watcher: RulesWatcher) -> None:
        store = self.store
        self._follow_clock()
        for event in watcher.drain(timeout=0.5):
            if self.stopping.is_set() or not store.health.writable:
                break  # the rest is found by the next scan
            if event.complete:
                self._take_one(self.inboxes[event.inbox], event.name)
            else:
                self.inboxes[event.inbox].young += 1
        # A file still being written in place is looked at again once it has settled.
        young = any(inbox.young for inbox in self.inboxes)
        since_scan = time.monotonic() - self.last_scan
        rescan = since_scan >= self.rescan_seconds or (young and since_scan >= SETTLE_SECONDS)
        if rescan:
            self._resume_and_scan(settled_only=True)
        now = self.clock.now()  # the tick's one reading for its timers, after its files (each timed as handled)
        if self.fire_timers(now):
            self.delivery_wakeup.set()
        if rescan:
            self._close_quiet_stories(now)
            self._prune(now)
            if paperwork.tick(self.config, store, self.notify, now):
                self.delivery_wakeup.set()
            self.last_scan = time.monotonic()
        if rules_watcher.due() or self.reload_requested.is_set():
            self.reload_requested.clear()
            self.reload()
        self._keepalive()

    def _wait_for_store(self, watcher: Watcher) -> None:
        """One round while the store cannot be written: claim nothing (files wait in the inbox, feeds
        pause), keep systemd's watchdog fed, and try a small write with back-off (1 s, 2 s … 30 s)."""
        now = time.monotonic()
        if self.store_probe_at is None:  # the first round of this episode
            self.store_failures, self.store_probe_at = 0, now + 1.0
            trouble = self.store.health.trouble
            self.notifier.status(f"paused: state database cannot be written ({trouble.reason if trouble else ''})")
            self.delivery_wakeup.set()  # the admin notice goes from the delivery thread
        for _ in watcher.drain(timeout=0.5):
            pass  # not claimed: the scan after recovery finds every file still in the inbox
        self._ping_watchdog()
        if time.monotonic() < self.store_probe_at:
            return
        if self.store.probe():
            return  # the next round goes on (_store_back)
        self.store_failures += 1
        self.store_probe_at = time.monotonic() + min(2.0 ** self.store_failures, STORE_PROBE_MAX)

    def _store_back(self) -> None:
        self.store_probe_at = None
        self.last_scan = float("-inf")  # rescan at once: whatever arrived meanwhile, files left in processing/
        self.notifier.status(f"watching {len(self.inboxes)} inbox(es)")
        self.delivery_wakeup.set()  # kept outcomes are written, the recovery notice queued

    # ---------------------------------------------------------------- work

    def _resume_and_scan(self, *, settled_only: bool) -> None:
        for inbox in self.inboxes:
            for path in inbox.leftovers():
                log.info("file.resumed", file=path.name)
                self._handle(inbox, path)
            self._take(inbox, settled_only=settled_only)

    def _take(self, inbox: Inbox, *, settled_only: bool) -> None:
        """Claim and handle every ready file of an inbox, stopping early on SIGTERM."""
        names = inbox.ready(to_epoch(self.clock.now()) if settled_only else float("inf"))
        for name in names:
            if self.stopping.is_set():
                return
            self._take_one(inbox, name)

    def _take_one(self, inbox: Inbox, name: str) -> None:
        path = inbox.claim(name, self.clock.now())  # None: already taken by a scan, or gone
        if path is not None:
            self._handle(inbox, path)

    def _ping_watchdog(self) -> None:
        now = time.monotonic()
        interval = self.notifier.watchdog_interval
        if interval is not None and now - self.last_ping >= interval:
            self.notifier.ping()
            self.last_ping = now

    def _keepalive(self) -> None:
        """Between files and records: ping systemd's watchdog, and fire due timers at least every second,
        so a red escalation never waits behind a long backlog."""
        self._ping_watchdog()
        now = time.monotonic()
        if now - self.last_timers < TIMER_POLL:
            return
        self.last_timers = now
        self._check_store_file()  # within a second, even in the middle of a long file
        self._follow_clock()
        if self.escalation.fire_due(self.store, self.clock.now()):
            self.delivery_wakeup.set()

    def _follow_clock(self) -> None:
        """Waits are kept by the monotonic clock: a wall clock stepped back moves every pending wait with
        it (daemon/app/clockstep.py); one stepped forward fires what is due, each repeating step once, saying
        how many of its rounds were missed (daemon/notify/escalation.py)."""
        jump = self.clock_watch.step()
        if jump is None:
            return
        moved: dict[str, int] = {}
        if jump < timedelta(0):
            with self.store.transaction() as db:
                moved = move_pending(db, jump)
        log.warning("clock.stepped", seconds=round(jump.total_seconds(), 1), moved=moved)

    def _handle(self, inbox: Inbox, path: Path) -> None:
        self._keepalive()
        self.pipeline.handle_file(inbox, path)
        self.delivery_wakeup.set()

    def _deliver_loop(self) -> None:
        while True:
            self.delivery_wakeup.wait(timeout=1.0)
            self.delivery_wakeup.clear()
            try:
                self._store_notices()
                while self.outbox.deliver_due(self.clock.now):
                    pass
            except Exception:  # a bug here must not silently stop all delivery
                log.exception("outbox.error")
            if self.stopping.is_set():
                if not self.outbox.record_kept():
                    log.error("notify.unrecorded_at_exit", notifications=sorted(self.outbox.unrecorded),
                              hint="delivered but not marked sent: they go out once more after the restart")
                self.outbox.close()
                return

    def _store_notices(self) -> None:
        """Tell the admin team once that the store cannot be written (straight to the channels: it cannot
        be queued), and once that it can again (queued like any notice)."""
        health = self.store.health
        trouble = health.take_unannounced()
        if trouble is not None:
            for notification in store_trouble_notices(self.notify, trouble, self.clock.now()):
                spec = self.notify.channels[notification.channel]
                result = self.outbox.deliver(spec, notification)
                log.info("admin.store_notice", channel=spec.name, outcome=result.outcome.value,
                         detail=result.detail or None)
        ended = health.take_ended()
        if ended is not None:
            with contextlib.suppress(StoreUnwritable), self.store.transaction() as db:  # unwritable again:
                store_recovered(db, self.notify, ended, self.clock.now())  # that episode's end tells

    def _close_quiet_stories(self, now: datetime) -> None:
        for incident_id in incidents.close_quiet(self.store, now - self.config.window, now):
            self.pipeline.stories.forget(incident_id)
            log.info("incident.closed", incident=incident_id, reason="no news within the window")

    def _prune(self, now: datetime) -> None:
        """Old handled files and feed item ids, at most once per retention.EVERY."""
        if time.monotonic() - self.last_pruned < retention.EVERY.total_seconds():
            return
        self.last_pruned = time.monotonic()
        retention.prune_processed([inbox.processed for inbox in self.inboxes], self.config.keep_processed, now)
        retention.prune_feed_items(self.store, self.config.keep_feed_items, now)

    def reload(self) -> None:
        """Build the new rules off to the side; swap only if ``check`` would pass (daemon/triage/reload.py).
        Runs on the evaluation thread, between messages."""
        started = time.monotonic()
        outcome = build_checked(self.config, self.pipeline.analyzer, self.clock.now())
        if outcome.rulebook is None:
            for problem in outcome.problems:
                log.error("rules.reload_failed", problem=str(problem))
            status.record_reload_failure(self.store)
            if notify_admin(self.store, self.notify, outcome.problems, self.clock.now()):
                self.delivery_wakeup.set()
            return
        rulebook = outcome.rulebook
        for warning in rulebook.warnings:
            log.warning("rules.warning", problem=str(warning))
        old, self.pipeline.rulebook = self.pipeline.rulebook, rulebook
        self.pipeline.stories.retune(rulebook.ruleset.keyword_sets)
        if rulebook.keywords is not None:
            self.pipeline.analyzer.use(rulebook.keywords)
        old.close()
        status.record_rules(self.store, rulebook.version, len(rulebook.ruleset.rules), self.clock.now())
        log.info("rules.reloaded", version=rulebook.version, rules=len(rulebook.ruleset.rules),
                 seconds=round(time.monotonic() - started, 2))

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("service.stopping", signal=signal.Signals(signum).name)
            self.stopping.set()

        def hup(_signum: int, _frame: FrameType | None) -> None:
            self.reload_requested.set()

        handlers: dict[int, Callable[[int, FrameType | None], None]] = {
            signal.SIGTERM: stop, signal.SIGINT: stop, signal.SIGHUP: hup}
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
