"""Start the real daemon as a subprocess and follow its JSON log lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def yuqing(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one CLI command to completion."""
    return subprocess.run([sys.executable, "-m", "daemon", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)


class Daemon:
    module = "daemon"  # what ``python -m`` runs

    def __init__(self, config: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.extra = extra
        self.env = {**os.environ, **(env or {})}
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._changed = threading.Condition()
        self.proc: subprocess.Popen[str] | None = None

    def start(self, ready_timeout: float = 60) -> Daemon:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "run", "-c", str(self.config), *self.extra],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._follow, daemon=True).start()
        if not self.wait_event("service.ready", timeout=ready_timeout):
            self.kill()
            raise AssertionError("daemon did not start:\n" + "\n".join(self.raw[-40:]))
        return self

    def _follow(self) -> None:
        assert self.proc is not None
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.raw.append(line.rstrip("\n"))
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    self.events.append(event)
                self._changed.notify_all()

    def wait(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.events), timeout=timeout)

    def wait_event(self, name: str, timeout: float, count: int = 1, **fields: Any) -> bool:
        return self.wait(lambda events: len(self.matching(name, **fields)) >= count, timeout)

    def matching(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        return [e for e in list(self.events)
                if e.get("event") == name and all(e.get(k) == v for k, v in fields.items())]

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def report(self, lines: int = 30) -> str:
        """Whether the daemon still runs (or how it ended) and its last log lines: for assertion messages."""
        state = "running" if self.alive() else f"exited with {self.proc.returncode if self.proc else None}"
        return f"daemon {state}; last lines:\n" + "\n".join(self.raw[-lines:])


def county(root: Path, rules: str, notify: str, *, source: str | None = "grid", extra: str = "") -> Path:
    """A county set up the way the e2e tests need it: ``rules/county.yaml``, ``notify.yaml`` and a
    ``config.yaml`` with one inbox under ``./var`` (messages default to ``source``). Returns the config."""
    (root / "rules").mkdir(parents=True, exist_ok=True)
    (root / "rules" / "county.yaml").write_text(rules, encoding="utf-8")
    (root / "notify.yaml").write_text(notify, encoding="utf-8")
    inbox = "{path: ./var/inbox" + (f", source: {source}" if source else "") + "}"
    (root / "config.yaml").write_text(f"state_dir: ./var\ninbox: [{inbox}]\nrules: ./rules\nnotify: ./notify.yaml\n"
                                      + extra, encoding="utf-8")
    (root / "var" / "inbox").mkdir(parents=True, exist_ok=True)
    return root / "config.yaml"


# Every level to the duty officer on a local file channel: for tests that read what was sent.
LOCAL_NOTIFY = textwrap.dedent("""\
    channels: {local: "jsonl://./var/sent.jsonl"}
    people: {liu: {name: 刘建国, role: 值班员}}
    teams: {值班: [liu]}
    policies:
      red: [{notify: [值班], via: [local]}]
      yellow: [{notify: [值班], via: [local]}]
      blue: [{notify: [值班], via: [local]}]
    """)


def sent_titles(root: Path) -> list[str]:
    """Titles of what the LOCAL_NOTIFY channel delivered, in order."""
    path = root / "var" / "sent.jsonl"
    return [json.loads(line)["title"] for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def drop(inbox: Path, name: str, payload: Any) -> Path:
    """Publish a message file the way collectors must: write a temp name, then rename."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    tmp = inbox / f".{name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    target = inbox / name
    os.rename(tmp, target)
    return target


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
