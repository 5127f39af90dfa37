"""Hot reload: watch the rules folder, the periods file and the dictionary; build the new rulebook off to
the side; swap it in only when ``yuqing check`` would pass.

"Would pass" means: the rule files, periods and dictionary load without errors (warnings do not block),
and every rule test passes. A failing rule test blocks the swap as an error does: the tests are the
county's own statement of what the rules must do, and a set that breaks them is not the one they meant
to run. On failure the old rulebook stays, every problem is logged as ``rules.reload_failed`` with its
``path:line:col``, and the admin team is told once per distinct failure (the outbox id is a digest of
the problems, so saving the same broken file again, or a restart, queues nothing new).

Watching happens on watchdog's thread, which only records that something changed; the service's
evaluation thread asks ``due()`` between messages and does the reload itself, so no message is ever
evaluated against a half-loaded set. An editor's save (temp file, rename, attribute change) is several
events: reloads wait until the files have been quiet for ``QUIET_SECONDS``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from channels.model import ChannelSpec
from daemon.config import Config
from daemon.config.policy import NotifyConfig
from daemon.notify.admin import tell_admin
from daemon.store import Store
from daemon.triage.rulebook import Rulebook, build_rulebook
from rules.errors import ConfigError, Problem
from rules.ruletests import run_rule_tests
from rules.text import Analyzer

log = structlog.get_logger(__name__)

QUIET_SECONDS = 0.7  # an editor's save storm is over well within this
MAX_WAIT_SECONDS = 5.0  # files that never stay quiet still get reloaded this often
_CHANGES = {"created", "modified", "moved", "deleted", "closed"}  # not "opened"/"closed_no_write": reads


class Debouncer:
    """Many touches close together make one reload, once they have been quiet for ``quiet`` seconds
    (or ``max_wait`` after the first). ``touch`` may be called from any thread."""

    def __init__(self, quiet: float = QUIET_SECONDS, max_wait: float = MAX_WAIT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet = quiet
        self.max_wait = max_wait
        self.clock = clock
        self._lock = threading.Lock()
        self._first: float | None = None
        self._last: float | None = None

    def touch(self) -> None:
        with self._lock:
            self._last = self.clock()
            if self._first is None:
                self._first = self._last

    def due(self) -> bool:
        """True once per burst of touches, when it is time to reload."""
        with self._lock:
            if self._first is None or self._last is None:
                return False
            now = self.clock()
            if now - self._last < self.quiet and now - self._first < self.max_wait:
                return False
            self._first = self._last = None
            return True


class _Handler(FileSystemEventHandler):
    def __init__(self, wanted: Callable[[Path], bool], debouncer: Debouncer) -> None:
        self.wanted = wanted
        self.debouncer = debouncer

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGES or event.is_directory:
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(p and self.wanted(Path(str(p))) for p in paths):
            self.debouncer.touch()


class RulesWatcher:
    """Watches what a rulebook is built from; ``due()`` says when to reload."""

    def __init__(self, config: Config, debouncer: Debouncer | None = None) -> None:
        self.rules_dir = config.rules_dir.resolve()
        self.files = {p.resolve() for p in (config.periods, config.dictionary) if p is not None}
        self.debouncer = debouncer or Debouncer()
        self._observer = Observer()

    def wanted(self, path: Path) -> bool:
        name = path.name
        if name.startswith((".", "#")) or name.endswith("~"):
            return False  # editors' swap, backup and lock files
        if path.parent.resolve() == self.rules_dir:
            return path.suffix in (".yaml", ".yml")
        return path.resolve() in self.files

    def start(self) -> None:
        handler = _Handler(self.wanted, self.debouncer)
        # Folders, not files: an editor replaces a file by renaming a new one over it.
        for folder in {self.rules_dir, *(f.parent for f in self.files)}:
            if folder.is_dir():
                self._observer.schedule(handler, str(folder), recursive=False)
        self._observer.start()
        log.info("rules.watching", rules=str(self.rules_dir), files=sorted(str(f) for f in self.files))

    def due(self) -> bool:
        return self.debouncer.due()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)


@dataclass(frozen=True)
class Outcome:
    rulebook: Rulebook | None  # None: keep the old one
    problems: tuple[Problem, ...]  # what blocked the swap


def build_checked(config: Config, analyzer: Analyzer, now: datetime, *, run_tests: bool = True) -> Outcome:
    """A new rulebook, built off to the side, if ``yuqing check`` would accept it: no errors and no
    failing rule test (``run_tests=False``: errors only). The analyzer's words in use are not touched;
    the caller swaps."""
    try:
        analyzer.load_dictionary()  # words only accumulate: a rejected reload leaves harmless extras
        rulebook = build_rulebook(config, analyzer, activate=False)
    except ConfigError as exc:
        return Outcome(None, exc.errors or exc.problems)
    problems = [p for p in rulebook.warnings if p.severity == "error"]
    if run_tests and rulebook.keywords is not None:
        results = run_rule_tests(rulebook.ruleset, rulebook.engine, analyzer.view(rulebook.keywords),
                                 rulebook.calendar.active, now)
        problems += [Problem(f"rule test failed ({r.rule_id or 'file'}): {r.detail.splitlines()[0]}",
                             r.test.location) for r in results if not r.passed]
    if problems:
        rulebook.close()
        return Outcome(None, tuple(problems))
    return Outcome(rulebook, ())


def notify_admin(store: Store, notify: NotifyConfig, problems: Sequence[Problem], now: datetime) -> int:
    """Tell the admin team about a failed reload, once per distinct set of problems (the outbox id is a
    digest of them). Returns how many notices were queued."""
    lines = sorted(str(p) for p in problems)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]

    def body(spec: ChannelSpec) -> str:
        shown = lines[:1] if spec.address == "phone" else lines[:20]
        more = f"\n……另有{len(lines) - len(shown)}个问题" if len(lines) > len(shown) else ""
        return (f"规则文件修改后未能通过检查（共{len(lines)}个问题），新规则未启用，系统继续使用原规则。\n"
                + "\n".join(shown) + more + "\n请修正后保存，或运行 yuqing check 查看详情。")

    with store.transaction() as db:
        queued = tell_admin(db, notify, f"rules:{digest}", "【舆情哨兵】规则重载失败，仍在使用原规则", body, now)
    log.info("rules.admin_notified", team=notify.admin_team, queued=queued, failure=digest)
    return queued
