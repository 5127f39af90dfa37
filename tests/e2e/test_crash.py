"""kill -9 at random moments while files flow in: afterwards every file is done exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

from tests.e2e.harness import ROOT, Daemon, county, wait_until

FILES = 1000
KILLS = 10

RULES = """\
rules:
  - id: petition
    title: 群众上访
    category: 信访
    level: yellow
    when: {all: [上访]}
"""


def write_config(root: Path) -> Path:
    return county(root, RULES, textwrap.dedent("""\
        channels: {local: "jsonl://./var/notifications.jsonl"}
        people: {zhang: {name: 张三, role: 值班员, phone: "13800000001"}}
        teams: {值班: [zhang]}
        policies:
          yellow: [{notify: [值班], via: [local]}]
        """))


def payload(i: int) -> str:
    if i % 97 == 0:
        return '{"text": "半截'  # broken: quarantined
    if i % 50 == 0:  # the same post sent again under another file name: stored once
        return json.dumps({"id": "dup-post", "text": "村民上访要求解决问题", "metrics": {"reposts": i}},
                          ensure_ascii=False)
    extra = "，村民上访" if i % 10 == 0 else ""
    lines = [json.dumps({"id": f"m{i}-{k}", "text": f"第{i}号报告第{k}条" + ("" if k else extra)}, ensure_ascii=False)
             for k in range(3)]
    return "\n".join(lines) + "\n"


def name(i: int) -> str:
    return f"f{i:05d}.json" if i % 97 == 0 or i % 50 == 0 else f"f{i:05d}.jsonl"


def produce(inbox: Path, done: threading.Event) -> None:
    for i in range(1, FILES + 1):
        tmp = inbox / f".{name(i)}.tmp"
        tmp.write_text(payload(i), encoding="utf-8")
        os.rename(tmp, inbox / name(i))
        if i % 20 == 0:
            time.sleep(0.02)
    done.set()


def spawn(config: Path, tail: list[str]) -> tuple[subprocess.Popen[str], threading.Event]:
    """The daemon, and an event set once it has loaded its rules and starts on the inboxes."""
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "run", "-c", str(config)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    started = threading.Event()

    def follow() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            tail[:] = [*tail[-30:], line]
            if '"service.started"' in line:
                started.set()

    threading.Thread(target=follow, daemon=True).start()
    return proc, started


def test_sigkill_at_random_moments_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    inbox = tmp_path / "var" / "inbox"
    rng = random.Random(4)
    done = threading.Event()
    producer = threading.Thread(target=produce, args=(inbox, done), daemon=True)
    kills = 0
    while kills < KILLS:
        tail: list[str] = []
        proc, started = spawn(config, tail)
        if kills == 0:
            producer.start()
        if kills % 4 != 3:  # most kills once it works: on leftovers, the scan or steady work
            assert started.wait(timeout=60), "".join(tail)
        time.sleep(rng.uniform(0.0, 0.8))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        kills += 1
    producer.join(timeout=60)
    assert done.is_set()
    # The kills fell while work was going on, not only during start-up.
    assert 0 < sum(1 for p in (inbox / "processed").rglob("*") if p.is_file()) < FILES

    daemon = Daemon(config).start(ready_timeout=60)
    try:
        def settled() -> bool:
            waiting = [p for p in inbox.iterdir() if p.is_file()] + list((inbox / "processing").iterdir())
            return not waiting
        assert wait_until(settled, timeout=240, interval=0.2)  # bounds a failure only: a loaded machine is slower
        assert daemon.stop() == 0
    finally:
        daemon.kill()

    processed = Counter(p.name for p in (inbox / "processed").rglob("*") if p.is_file())
    failed = Counter(p.name for p in (inbox / "failed").iterdir() if not p.name.endswith(".error.txt"))
    everything = processed + failed
    assert set(everything) == {name(i) for i in range(1, FILES + 1)}, "a file lost or renamed as a second copy"
    assert max(everything.values()) == 1
    assert set(failed) == {name(i) for i in range(1, FILES + 1) if i % 97 == 0}
    assert all((inbox / "failed" / f"{n}.error.txt").exists() for n in failed)

    db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
    ids = [row[0] for row in db.execute("SELECT id FROM messages")]
    expected = {f"m{i}-{k}" for i in range(1, FILES + 1) if i % 97 and i % 50 for k in range(3)} | {"dup-post"}
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    hashes = [row[0] for row in db.execute("SELECT hash FROM messages")]
    assert len(hashes) == len(set(hashes))
    reposts = json.loads(db.execute("SELECT data FROM messages WHERE id = 'dup-post'").fetchone()[0])["metrics"]
    assert reposts["reposts"] == max(i for i in range(50, FILES + 1, 50) if i % 97)  # the newest count kept
    # Every incident got its notification queued exactly once, however often the daemon died around it.
    incidents = {row[0] for row in db.execute("SELECT id FROM incidents")}
    queued = Counter(row[0] for row in db.execute("SELECT incident_id FROM outbox"))
    assert incidents
    assert set(queued) == incidents
    assert max(queued.values()) == 1
