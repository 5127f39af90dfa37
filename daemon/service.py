"""The service loop under systemd: watch inboxes, handle files, fire timers, deliver, reload, stop cleanly.

One thread evaluates (jieba and durable_rules are not thread-safe); a second delivers the outbox so a
slow SMTP server never holds up grading. SIGTERM finishes the file in hand; SIGHUP reloads the rules.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import structlog

from channels import local as local_channels
from channels.delivery import deliver
from channels.model import Alert, ChannelSpec
from channels.templates import render
from daemon.clock import Clock, SystemClock
from daemon.config import Config
from daemon.escalation import Escalation
from daemon.ingest import SETTLE_SECONDS, Inbox, Watcher
from daemon.notifyconf import load_notify
from daemon.outbox import Outbox
from daemon.pipeline import Pipeline
from daemon.rulebook import build_rulebook, new_analyzer
from daemon.sdnotify import SystemdNotifier
from daemon.store import Store
from rules.errors import ConfigError

log = structlog.get_logger(__name__)


def style_for(spec: ChannelSpec) -> str:
    if spec.url.startswith("console://"):
        return "console"
    return {"email": "email", "phone": "sms"}.get(spec.address, "chat")


def render_for(alert: Alert, spec: ChannelSpec) -> tuple[str, str]:
    return render(alert, style_for(spec))  # type: ignore[arg-type]


class Service:
    def __init__(self, config: Config, *, clock: Clock | None = None, once: bool = False) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.once = once
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.delivery_wakeup = threading.Event()
        self.notifier = SystemdNotifier()
        self.rescan_seconds = config.rescan_every.total_seconds()

    def run(self) -> int:
        started = time.monotonic()
        local_channels.register()
        notify = load_notify(self.config.notify, env=os.environ)
        store = Store(self.config.database)
        analyzer = new_analyzer(self.config)
        rulebook = build_rulebook(self.config, analyzer)
        for warning in rulebook.warnings:
            log.warning("rules.warning", problem=str(warning))
        escalation = Escalation(notify, render_for)
        with store.transaction() as db:
            escalation.schedule_digest(db, self.clock.now())
        self.pipeline = Pipeline(store, analyzer, rulebook, escalation, self.clock, self.config.max_file_bytes)
        self.outbox = Outbox(store, notify.channels, deliver)
        self.inboxes = [Inbox(spec) for spec in self.config.inboxes]
        for inbox in self.inboxes:
            inbox.prepare()
        log.info("service.started", rules=len(rulebook.ruleset.rules), version=rulebook.version,
                 inboxes=[str(i.path) for i in self.inboxes], once=self.once,
                 startup_s=round(time.monotonic() - started, 2))
        if self.once:
            return self._run_once(store, escalation)
        return self._run_forever(store, escalation)

    # ---------------------------------------------------------------- modes

    def _run_once(self, store: Store, escalation: Escalation) -> int:
        self._resume_and_scan(settled_only=False)
        escalation.fire_due(store, self.clock.now())
        self.outbox.deliver_due(self.clock.now)
        log.info("service.done", **store.counts())
        store.close()
        return 0

    def _run_forever(self, store: Store, escalation: Escalation) -> int:
        self._install_signals()
        watcher = Watcher(self.inboxes)
        watcher.start()  # watch first, then scan: nothing slips between the two
        self._resume_and_scan(settled_only=True)
        delivery = threading.Thread(target=self._deliver_loop, name="outbox", daemon=True)
        delivery.start()
        self.notifier.ready(f"watching {len(self.inboxes)} inbox(es)")
        log.info("service.ready", inboxes=len(self.inboxes))
        last_scan = last_ping = time.monotonic()
        try:
            while not self.stopping.is_set():
                for event in watcher.drain(timeout=0.5):
                    if self.stopping.is_set():
                        break
                    if event.complete:
                        self._take_one(self.inboxes[event.inbox], event.name)
                    else:
                        self.inboxes[event.inbox].young += 1
                if escalation.fire_due(store, self.clock.now()):
                    self.delivery_wakeup.set()
                # A file still being written in place is looked at again once it has settled.
                young = any(inbox.young for inbox in self.inboxes)
                since_scan = time.monotonic() - last_scan
                if since_scan >= self.rescan_seconds or (young and since_scan >= SETTLE_SECONDS):
                    self._resume_and_scan(settled_only=True)
                    last_scan = time.monotonic()
                if self.reload_requested.is_set():
                    self.reload_requested.clear()
                    self.reload()
                interval = self.notifier.watchdog_interval
                if interval is not None and time.monotonic() - last_ping >= interval:
                    self.notifier.ping()
                    last_ping = time.monotonic()
        finally:
            self.notifier.stopping()
            watcher.stop()
            self.delivery_wakeup.set()
            delivery.join(timeout=30)
            self.pipeline.rulebook.close()
            log.info("service.stopped", **store.counts())
            store.close()
        return 0

    # ---------------------------------------------------------------- work

    def _resume_and_scan(self, *, settled_only: bool) -> None:
        for inbox in self.inboxes:
            for path in inbox.leftovers():
                log.info("file.resumed", file=path.name)
                self._handle(inbox, path)
            self._take(inbox, settled_only=settled_only)

    def _take(self, inbox: Inbox, *, settled_only: bool) -> None:
        """Claim and handle every ready file of an inbox, stopping early on SIGTERM."""
        names = inbox.ready(None if settled_only else float("inf"))
        for name in names:
            if self.stopping.is_set():
                return
            self._take_one(inbox, name)

    def _take_one(self, inbox: Inbox, name: str) -> None:
        path = inbox.claim(name)  # None: already taken by a scan, or gone
        if path is not None:
            self._handle(inbox, path)

    def _handle(self, inbox: Inbox, path: Path) -> None:
        self.pipeline.handle_file(inbox, path)
        self.delivery_wakeup.set()

    def _deliver_loop(self) -> None:
        while True:
            self.delivery_wakeup.wait(timeout=1.0)
            self.delivery_wakeup.clear()
            try:
                while self.outbox.deliver_due(self.clock.now):
                    pass
            except Exception:  # a bug here must not silently stop all delivery
                log.exception("outbox.error")
            if self.stopping.is_set():
                return

    def reload(self) -> None:
        """Build the new rules off to the side; swap only if they loaded cleanly."""
        try:
            rulebook = build_rulebook(self.config, self.pipeline.analyzer)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("rules.reload_failed", problem=str(problem))
            return
        old, self.pipeline.rulebook = self.pipeline.rulebook, rulebook
        old.close()
        log.info("rules.reloaded", version=rulebook.version, rules=len(rulebook.ruleset.rules))

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
