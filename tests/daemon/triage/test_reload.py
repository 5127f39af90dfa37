"""Hot reload pieces: the debounce on a fake clock, the file filter, the checked build, the admin
notification sent once per distinct failure, and memory over 100 reloads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.config import Config, load_config
from daemon.config.notify import load_notify
from daemon.notify.admin import admin_channels
from daemon.store import Store
from daemon.triage.reload import Debouncer, RulesWatcher, build_checked, notify_admin
from daemon.triage.rulebook import new_analyzer
from rules.errors import Problem
from rules.model import Location, Message
from rules.text import Analyzer

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

RULES = """\
rules:
  - id: wage-arrears
    title: 农民工讨薪
    level: yellow
    when:
      all: [讨薪]
    tests:
      - {text: "工地农民工年底讨薪无果", source: douyin, expect: yellow}
"""


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_touches_gives_one_reload_once_quiet() -> None:
    clock = FakeTime()
    debouncer = Debouncer(quiet=0.7, max_wait=5.0, clock=clock)
    assert not debouncer.due()
    for clock.now in (0.0, 0.1, 0.2, 0.5):  # an editor: temp file, write, rename, chmod
        debouncer.touch()
    clock.now = 1.1
    assert not debouncer.due()  # 0.6 s after the last touch
    clock.now = 1.2
    assert debouncer.due()
    assert not debouncer.due()  # once per burst
    clock.now = 9.0
    assert not debouncer.due()


def test_files_that_never_settle_are_still_reloaded_every_max_wait() -> None:
    clock = FakeTime()
    debouncer = Debouncer(quiet=0.7, max_wait=5.0, clock=clock)
    reloads = []
    for step in range(100):  # a touch every 0.25 s for 25 s
        clock.now = step * 0.25
        debouncer.touch()
        if debouncer.due():
            reloads.append(clock.now)
    assert reloads == [5.0, 10.25, 15.5, 20.75]


def write_config(root: Path, rules: str = RULES, *, admin: bool = True) -> Config:
    (root / "rules").mkdir(exist_ok=True)
    (root / "rules" / "county.yaml").write_text(rules, encoding="utf-8")
    (root / "dict.txt").write_text("河湾村 10 ns\n", encoding="utf-8")
    (root / "notify.yaml").write_text(textwrap.dedent(f"""\
        channels:
          email: {{url: "jsonl://./var/email.jsonl", address: email}}
          sms: {{url: "jsonl://./var/sms.jsonl", address: phone}}
          duty-group: "jsonl://./var/group.jsonl"
        people:
          li: {{name: 李明, role: 系统管理员, phone: "13800000008", email: liming@example.gov.cn}}
          liu: {{name: 刘建国, role: 值班员, email: liu@example.gov.cn}}
        teams: {{值班: [liu], 管理员: [li]}}
        policies:
          yellow:
            - {{notify: [值班], via: [duty-group]}}
        {"admin: 管理员" if admin else ""}
        """), encoding="utf-8")
    (root / "config.yaml").write_text(
        "state_dir: ./var\ninbox: [{path: ./var/inbox}]\nrules: ./rules\nnotify: ./notify.yaml\n"
        "dictionary: ./dict.txt\n", encoding="utf-8")
    return load_config(root / "config.yaml")


def test_the_watcher_wants_rule_files_and_the_named_files_only(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    watcher = RulesWatcher(config)
    rules = tmp_path / "rules"
    assert watcher.wanted(rules / "land.yaml")
    assert watcher.wanted(rules / "land.yml")
    assert watcher.wanted(tmp_path / "dict.txt")
    for ignored in (".land.yaml.swp", "land.yaml~", "#land.yaml#", "README.md", ".goutputstream-X"):
        assert not watcher.wanted(rules / ignored), ignored
    assert not watcher.wanted(tmp_path / "notify.yaml")


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    config = write_config(tmp_path_factory.mktemp("boot"))
    return new_analyzer(config)


def test_a_clean_set_is_built_without_touching_the_words_in_use(tmp_path: Path, analyzer: Analyzer) -> None:
    analyzer.use_words(frozenset({"上访"}))
    outcome = build_checked(write_config(tmp_path), analyzer, NOW)
    assert outcome.problems == ()
    assert outcome.rulebook is not None
    try:
        msg = Message(id="m", source="douyin", text="农民工讨薪，有人上访")
        assert analyzer.analyze(msg).words == {"上访"}  # the running set still looks for its own words
        analysis, verdict = outcome.rulebook.evaluate(analyzer, msg, NOW)
        assert analysis.words == {"讨薪"}
        assert [m.rule_id for m in verdict.matches] == ["wage-arrears"]
    finally:
        outcome.rulebook.close()


def test_errors_block_the_swap_with_their_location(tmp_path: Path, analyzer: Analyzer) -> None:
    config = write_config(tmp_path, "rules:\n  - id: broken\n    level: purple\n")
    outcome = build_checked(config, analyzer, NOW)
    assert outcome.rulebook is None
    assert any(str(p).startswith(f"{config.rules_dir / 'county.yaml'}:3:12: error:") for p in outcome.problems)


def test_a_failing_rule_test_blocks_the_swap(tmp_path: Path, analyzer: Analyzer) -> None:
    config = write_config(tmp_path, RULES.replace("expect: yellow", "expect: red"))
    outcome = build_checked(config, analyzer, NOW)
    assert outcome.rulebook is None
    [problem] = outcome.problems
    assert str(problem).startswith(f"{config.rules_dir / 'county.yaml'}:8:")
    assert "rule test failed (wage-arrears): expected red, got yellow" in str(problem)


def test_an_unreadable_dictionary_blocks_the_swap(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    analyzer = new_analyzer(config)
    assert config.dictionary is not None
    config.dictionary.write_bytes(b"\xff\xfe broken\n")
    outcome = build_checked(config, analyzer, NOW)
    assert outcome.rulebook is None
    assert "cannot load the jieba dictionary" in str(outcome.problems[0])


def test_the_admin_team_is_told_once_per_distinct_failure(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    notify = load_notify(config.notify, env=os.environ)
    store = Store(tmp_path / "s.db")
    broken = [Problem('unknown level "purple"', Location("rules/county.yaml", 3, 12))]
    try:
        assert notify_admin(store, notify, broken, NOW) == 2  # email and sms, not the duty group
        assert notify_admin(store, notify, broken, NOW) == 0  # saved again, same content
        rows = store.query("SELECT channel, recipients, title, body FROM outbox ORDER BY channel")
        assert [r["channel"] for r in rows] == ["email", "sms"]
        assert all('"li"' in r["recipients"] and '"liu"' not in r["recipients"] for r in rows)
        assert "rules/county.yaml:3:12: error: unknown level" in rows[0]["body"]
        assert rows[0]["title"] == "【舆情哨兵】规则重载失败，仍在使用原规则"
        other = [Problem("another mistake", Location("rules/county.yaml", 5, 1))]
        assert notify_admin(store, notify, other, NOW) == 2
    finally:
        store.close()


def test_without_an_admin_team_nothing_is_queued(tmp_path: Path) -> None:
    config = write_config(tmp_path, admin=False)
    notify = load_notify(config.notify, env=os.environ)
    store = Store(tmp_path / "s.db")
    try:
        assert notify_admin(store, notify, [Problem("x")], NOW) == 0
    finally:
        store.close()
    assert [c.name for c in admin_channels(notify)] == ["email", "sms"]


def test_100_reloads_of_the_example_rules_do_not_grow_memory(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "rules", tmp_path / "rules")
    shutil.copy(ROOT / "examples" / "periods.yaml", tmp_path / "periods.yaml")
    write_config(tmp_path)
    (tmp_path / "rules" / "county.yaml").unlink()
    (tmp_path / "config.yaml").write_text(
        "state_dir: ./var\ninbox: [{path: ./var/inbox}]\nrules: ./rules\nnotify: ./notify.yaml\n"
        "periods: ./periods.yaml\n", encoding="utf-8")
    # In a process of its own: RSS counts the whole process, and other tests of this worker may have
    # left large imports or freed arenas behind.
    run = subprocess.run([sys.executable, "-m", "tests.daemon.triage.reload_memory", str(tmp_path / "config.yaml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    grown = float(run.stdout.split()[-1])
    assert grown < 25, f"RSS grew {grown:.1f} MB over 100 reloads"  # a leak of the engine's state: 1.3 MB a reload
