"""Stories, as officials see them: messages cluster, spread raises the level one step at a time with one
notification per rise, unrelated stories in the same village stay apart, a resolved story comes back."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from tests.e2e.harness import LOCAL_NOTIFY, Daemon, county, drop, sent_titles, wait_until, yuqing

RULES = """\
keywords:
  拆迁: [拆迁, 拆迁户, 强拆, 补偿款]
  聚集: [聚集, 围堵, 上访]
  食堂: [食堂, 饭菜]
  异物: [虫子, 异物, 变质]
rules:
  - id: land-gathering
    title: 拆迁户聚集
    category: 征地拆迁
    level: blue
    when: {all: [拆迁, 聚集]}
    ladder:
      - {level: yellow, spread: {platforms: ">= 2"}}
      - {level: red, spread: {platforms: ">= 3"}}
  - id: canteen
    title: 学校食堂问题
    category: 教育
    level: blue
    when: {all: [食堂, 异物]}
"""

ORIGINAL = "河湾村拆迁户今天上午在村委会门口聚集，要求发放拖欠的补偿款，现场有二十多人"


def write_county(root: Path) -> Path:
    (root / "dict.txt").write_text("河湾村 ns\n桃源镇 ns\n", encoding="utf-8")
    return county(root, RULES, LOCAL_NOTIFY, source=None, extra="dictionary: ./dict.txt\n")


def test_a_story_rises_blue_yellow_red_once_each_and_comes_back_after_resolution(tmp_path: Path) -> None:
    config = write_county(tmp_path)
    inbox = tmp_path / "var" / "inbox"
    daemon = Daemon(config).start()
    try:
        steps = [
            ("w1", "weibo", ORIGINAL, ["【蓝色预警】拆迁户聚集"]),
            ("d1", "douyin", f"太过分了，必须曝光！//@河湾村民: {ORIGINAL}", ["【黄色预警·等级提升】拆迁户聚集"]),
            ("x1", "wechat", f"转发到群里：{ORIGINAL}。大家关注一下", ["【红色预警·等级提升】拆迁户聚集"]),
            ("w2", "weibo", f"又有人转了：{ORIGINAL}", []),  # same story, already red: nothing new
            ("c1", "board", "河湾村小学食堂的饭菜里吃出虫子，家长很担心", ["【蓝色预警】学校食堂问题"]),
        ]
        expected: list[str] = []
        for mid, source, text, titles in steps:
            drop(inbox, f"{mid}.json", {"id": mid, "source": source, "text": text})
            assert daemon.wait_event("message.graded", timeout=20, message=mid)
            expected += titles
            assert wait_until(lambda expected=expected: sent_titles(tmp_path) == expected, 15), (
                sent_titles(tmp_path), expected)
        assert daemon.wait_event("message.graded", timeout=5, message="w2")

        db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
        stories = dict(db.execute("SELECT id, incident_id FROM messages").fetchall())
        land, canteen = stories["w1"], stories["c1"]
        assert {stories["d1"], stories["x1"], stories["w2"]} == {land}
        assert canteen != land  # same village, a different story
        listed = {json.loads(line)["id"]: json.loads(line) for line in
                  yuqing("incidents", "--json", "-c", str(config)).stdout.splitlines()}
        assert listed[land]["level"] == "red"
        assert (listed[land]["messages"], listed[land]["platforms"]) == (4, 3)
        assert listed[land]["first_source"] == "weibo"

        result = yuqing("resolve", land, "--by", "liu", "--note", "已与村民沟通，补偿款本周发放", "-c", str(config))
        assert result.returncode == 0, result.stderr
        expected.append("【已处置】拆迁户聚集")  # everyone told hears it was resolved (daemon/notify/closure.py)
        assert wait_until(lambda: sent_titles(tmp_path) == expected, 10), sent_titles(tmp_path)
        drop(inbox, "w3.json", {"id": "w3", "source": "weibo", "text": f"还是没发！{ORIGINAL}"})
        expected.append("【红色预警·回潮】拆迁户聚集")
        assert wait_until(lambda: sent_titles(tmp_path) == expected, 20), sent_titles(tmp_path)
        status = db.execute("SELECT status, resurgences FROM incidents WHERE id = ?", (land,)).fetchone()
        assert status == ("open", 1)
        show = yuqing("show", land, "-c", str(config))
        assert "resurgence" in show.stdout
        assert re.search(r"resolved\s+by liu 已与村民沟通", show.stdout), show.stdout
        assert daemon.stop() == 0
    finally:
        daemon.kill()


def test_merge_and_split_correct_the_clustering(tmp_path: Path) -> None:
    config = write_county(tmp_path)
    inbox = tmp_path / "var" / "inbox"
    daemon = Daemon(config).start()
    try:
        drop(inbox, "a.json", {"id": "a", "source": "weibo", "text": ORIGINAL})
        drop(inbox, "b.json", {"id": "b", "source": "board", "text": "桃源镇中学食堂饭菜变质，学生腹泻"})
        assert daemon.wait_event("message.graded", timeout=20, message="b")
        assert daemon.wait_event("message.graded", timeout=20, message="a")
    finally:
        daemon.stop()
        daemon.kill()
    db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
    ids = dict(db.execute("SELECT id, incident_id FROM messages").fetchall())
    merged = yuqing("merge", ids["a"], ids["b"], "--by", "liu", "-c", str(config))
    assert merged.returncode == 0, merged.stderr
    assert dict(db.execute("SELECT id, incident_id FROM messages").fetchall()) == {"a": ids["a"], "b": ids["a"]}
    split = yuqing("split", ids["a"], "--messages", "b", "--by", "liu", "--note", "不是同一事件", "-c", str(config))
    assert split.returncode == 0, split.stderr
    after = dict(db.execute("SELECT id, incident_id FROM messages").fetchall())
    assert after["a"] == ids["a"]
    assert after["b"] not in (ids["a"], ids["b"])
    assert yuqing("split", ids["a"], "--messages", "a", "--by", "liu", "-c", str(config)).returncode == 1
