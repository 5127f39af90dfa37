"""``yuqing replay``: a store filled by the real pipeline (a service on a fake clock and a state file), then
new rules replayed over it through the command line: what changed per message, per rule, per category and
per story, masked excerpts, message files, a broken rules folder, and that the state file is untouched."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.app import cli
from daemon.app.service import Service
from daemon.clock import FakeClock
from daemon.config import load_config
from daemon.store import Store
from daemon.store.health import StoreUnwritable
from rules.model import Author, Message, Metrics
from tests.rulesets import CASUALTIES, GAS_EXPLOSION, PETITION

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SPAN = ["--from", "2026-11-23", "--to", "2026-11-23"]
PHONE = "13812345678"

LIVE = CASUALTIES + "rules:\n" + GAS_EXPLOSION + PETITION + """\
  - id: wide-petition
    title: 上访扩散
    category: 信访
    level: yellow
    when:
      all: [上访]
      spread: {reposts: ">= 100"}
"""
# The new rule set: gas explosions only yellow, no petition rule, demolition newly watched, and a spread
# rule that only the story's stored figures (two members' reposts together) can meet.
NEW = """\
keywords:
  伤亡: [死亡, 身亡, 遇难]
rules:
  - id: gas-explosion
    title: 燃气爆炸致人员伤亡
    category: 燃气安全
    level: yellow
    when:
      all: [爆炸, 伤亡]
  - id: demolition
    title: 强制拆迁
    category: 征地拆迁
    level: blue
    when:
      all: [拆迁]
  - id: wide-gas
    title: 燃气事故扩散
    category: 燃气安全
    level: red
    when:
      all: [爆炸]
      spread: {reposts: ">= 150"}
"""
NOTIFY = """\
channels: {email: "jsonl://./var/email.jsonl"}
people: {zhang: {name: 张三, email: zhang@example.gov.cn}}
teams: {值班: [zhang]}
policies:
  red: [{notify: [值班], via: [email]}]
  yellow: [{notify: [值班], via: [email]}]
  blue: [{digest: daily, notify: [值班], via: [email]}]
"""

RED = Message(id="weibo-1", source="weibo", title="城东燃气爆炸", text="今天上午城东小区发生燃气爆炸，已造成两人死亡",
              author=Author(name="城东发布"), metrics=Metrics(reposts=90))
RED_AGAIN = Message(id="douyin-7", source="douyin", text=f"太可怕了，大家注意安全 //@城东发布: {RED.text}",
                    author=Author(name="路人"), metrics=Metrics(reposts=80))
PETITION = Message(id="hotline-2", source="hotline", text=f"村民准备集体到县里上访，联系人电话{PHONE}")
DEMOLITION = Message(id="forum-5", source="forum", text="河湾村强行拆迁，<b>&村民</b>不满")
ORDINARY = Message(id="news-3", source="news", text="明天的天气预报：晴转多云")


@dataclass
class County:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def database(self) -> Path:
        return self.root / "var" / "yuqing.db"

    def rules(self, name: str, text: str) -> Path:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        (folder / "county.yaml").write_text(text, encoding="utf-8")
        return folder


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> County:
    """The live rules' decisions on five messages, stored by the real pipeline in a state file."""
    root = tmp_path_factory.mktemp("county")
    here = County(root)
    here.rules("rules", LIVE)
    (root / "notify.yaml").write_text(NOTIFY, encoding="utf-8")
    here.config.write_text("state_dir: ./var\ninbox: [{path: ./var/inbox}]\nrules: ./rules\nnotify: ./notify.yaml\n",
                           encoding="utf-8")
    clock = FakeClock(T0)
    service = Service(load_config(here.config), clock=clock, store=Store(here.database, clock=clock))
    for message in (RED, RED_AGAIN, PETITION, DEMOLITION, ORDINARY):
        service.pipeline.handle_message(message)
        clock.advance(timedelta(minutes=5))
    service.pipeline.rulebook.close()
    service.store.close()
    return here


def replay(county: County, rules: Path, *args: str) -> int:
    return cli.main(["replay", "-c", str(county.config), "--rules", str(rules), *args])


def as_json(county: County, rules: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = replay(county, rules, "--format", "json", *args)
    return code, json.loads(capsys.readouterr().out)


def test_the_live_rules_replayed_change_nothing_and_exit_0(county: County,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, report = as_json(county, county.root / "rules", capsys, *SPAN)
    assert code == 0
    assert report["replayed"] == 5
    assert report["changed"] is False
    assert report["totals"] == {"new": 0, "lost": 0, "level": 0, "rules": 0, "stories": 0}
    assert report["differences"] == report["stories"] == []


def test_new_rules_show_new_lost_and_changed_alerts_per_rule_category_and_story(
        county: County, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = as_json(county, county.rules("new", NEW), capsys, *SPAN)
    assert code == 1
    changes = {d["message"]: (d["kind"], d["live"]["level"], d["new"]["level"]) for d in report["differences"]}
    assert changes == {"weibo-1": ("level", "red", "yellow"), "douyin-7": ("level", "red", "yellow"),
                       "hotline-2": ("lost", "blue", "none"), "forum-5": ("new", "none", "blue")}
    assert report["totals"] == {"new": 1, "lost": 1, "level": 2, "rules": 0, "stories": 1}
    assert report["by_rule"] == {"demolition": {"category": "征地拆迁", "gained": 1, "lost": 0},
                                 "petition": {"category": "信访", "gained": 0, "lost": 1}}
    assert report["by_category"] == {"征地拆迁": {"new": 1, "lost": 0, "level": 0, "rules": 0},
                                     "信访": {"new": 0, "lost": 1, "level": 0, "rules": 0},
                                     "燃气安全": {"new": 0, "lost": 0, "level": 2, "rules": 0}}
    # The gas story's stored reposts (90 + 80) meet the new spread rule that neither member meets alone:
    # the story stays red. The petition's story is no longer graded; the demolition post had no story.
    assert [(s["title"], s["kind"], s["live"], s["new"]) for s in report["stories"]] == [
        ("群众上访", "lost", "blue", "none")]


def test_excerpts_are_masked_in_text_json_and_html(county: County, capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    rules = county.rules("new", NEW)
    _, report = as_json(county, rules, capsys, *SPAN)
    lost = next(d for d in report["differences"] if d["message"] == "hotline-2")
    assert "138****5678" in lost["excerpt"]
    assert replay(county, rules, *SPAN) == 1
    text = capsys.readouterr().out
    assert "138****5678" in text
    assert PHONE not in text
    assert "petition  [信访]  +0 -1" in text
    page = tmp_path / "replay.html"
    assert replay(county, rules, *SPAN, "--format", "html", "-o", str(page)) == 1
    html = page.read_text(encoding="utf-8")
    assert "138****5678" in html
    assert PHONE not in html
    assert "&lt;b&gt;&amp;村民&lt;/b&gt;" in html  # autoescaped
    assert "<b>&村民" not in html
    for outside in ("<script", "<link", "src=", "http://", "https://"):  # self-contained: nothing fetched
        assert outside not in html


def test_message_files_are_compared_with_their_stored_verdict_or_the_live_rules(
        county: County, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = tmp_path / "new.jsonl"
    lines = [{"id": "forum-9", "source": "forum", "text": "石桥镇拆迁补偿不到位"},  # not stored: live rules say none
             {"id": "hotline-2", "source": "hotline", "text": PETITION.text}]  # stored: blue
    file.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    code, report = as_json(county, county.rules("new", NEW), capsys, str(file))
    assert code == 1
    assert report["replayed"] == 2
    found = {d["message"]: (d["kind"], d["origin"], d["live"]["level"], d["new"]["level"])
             for d in report["differences"]}
    assert found == {"forum-9": ("new", str(file), "none", "blue"), "hotline-2": ("lost", str(file), "blue", "none")}


def test_a_broken_rules_folder_exits_2_with_its_location_and_touches_nothing(
        county: County, capsys: pytest.CaptureFixture[str]) -> None:
    before = hashlib.sha256(county.database.read_bytes()).hexdigest()
    broken = county.rules("broken", "rules:\n  - id: x\n    title: x\n    level: purple\n    when: {all: [上访]}\n")
    assert replay(county, broken, *SPAN) == 2
    err = capsys.readouterr().err
    assert f"{broken / 'county.yaml'}:4:" in err
    assert hashlib.sha256(county.database.read_bytes()).hexdigest() == before


def test_a_replay_leaves_the_state_file_byte_identical_and_cannot_write(county: County) -> None:
    before = county.database.read_bytes()
    assert replay(county, county.rules("new", NEW), *SPAN) == 1
    assert county.database.read_bytes() == before
    store = Store(county.database, read_only=True)
    with pytest.raises(StoreUnwritable), store.transaction() as db:
        db.execute("DELETE FROM messages")
    store.close()
    assert county.database.read_bytes() == before


def test_a_replay_needs_a_span_or_files(county: County, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay(county, county.root / "rules") == 2
    assert "--from" in capsys.readouterr().err
