"""``python -m tests.daemon.triage.reload_memory CONFIG``: the RSS growth (MB) of 100 rule reloads, in a
process of its own, so that nothing other tests left in theirs (a large SDK imported, caches, freed
arenas) is counted. Run by tests/daemon/triage/test_reload.py."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from daemon.config import load_config
from daemon.triage.rulebook import Rulebook, build_rulebook, new_analyzer
from rules.engine import Engine
from rules.model import Message

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def growth(config_path: Path, reloads: int = 100) -> float:
    config = load_config(config_path)
    analyzer = new_analyzer(config)
    msg = Message(id="m", source="weibo", text="城东小区发生燃气爆炸，已造成两人死亡")
    current = build_rulebook(config, analyzer)
    # The YAML is parsed once; everything that could leak is redone every cycle: keywords, the engine's
    # rulesets and their state, the swap, an evaluation, the close of the old engine.
    ruleset, calendar = current.ruleset, current.calendar

    def cycle() -> None:
        nonlocal current
        new = Rulebook(ruleset, Engine(ruleset), calendar, keywords=analyzer.prepare(ruleset.words))
        old, current = current, new
        assert new.keywords is not None
        analyzer.use(new.keywords)
        old.close()
        _, verdict = current.evaluate(analyzer, msg, NOW)
        assert verdict.matches  # the engine's state exists, as in the daemon

    for _ in range(20):  # warm-up: allocator pools and caches settle
        cycle()
    before = rss_mb()
    for _ in range(reloads):
        cycle()
    grown = rss_mb() - before
    current.close()
    return grown


if __name__ == "__main__":
    print(f"{growth(Path(sys.argv[1])):.2f}")
