"""The review list (待研判) with the real daemon: a message no rule matches but that reads like an incident
is listed by `yuqing incidents --review`, shown by `yuqing explain` and in the 日报, and never notified,
while a message a rule matches in the same run is."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.harness import LOCAL_NOTIFY, ROOT, Daemon, county, drop, sent_titles, wait_until, yuqing

RULES = """\
rules:
  - {id: gas, title: 燃气泄漏, category: 安全生产, level: blue, when: {all: [燃气]}}
"""
COLLAPSE = "今天上午城南工地脚手架坍塌，好几个工人被压在下面，消防正在救援"
ORDINARY = "今天天气不错，带孩子去公园放风筝了"
GAS = "桃源镇燃气管道有异味，请相关部门看看"


def write_county(root: Path) -> Path:
    return county(root, RULES, LOCAL_NOTIFY, source="weibo")


def test_an_unmatched_incident_goes_to_the_review_list_and_the_daily_report_never_to_an_alert(tmp_path: Path) -> None:
    config = write_county(tmp_path)
    inbox = tmp_path / "var" / "inbox"
    daemon = Daemon(config).start()
    try:
        for mid, text in (("collapse", COLLAPSE), ("ordinary", ORDINARY), ("gas", GAS)):
            drop(inbox, f"{mid}.json", {"id": mid, "text": text})
            assert daemon.wait_event("message.graded", timeout=20, message=mid), daemon.report()
        # The rule-matched message is notified: the channel works, so silence about the other is meaningful.
        assert wait_until(lambda: sent_titles(tmp_path) == ["【蓝色预警】燃气泄漏"], 15), sent_titles(tmp_path)
        graded = {e["message"]: e for e in daemon.matching("message.graded")}
        assert graded["collapse"]["level"] == "none"
        assert graded["collapse"]["review"] >= 0.55
        assert graded["ordinary"]["review"] is None
        assert graded["gas"]["review"] is None
    finally:
        assert daemon.stop() == 0
    assert sent_titles(tmp_path) == ["【蓝色预警】燃气泄漏"]
    db = sqlite3.connect(tmp_path / "var" / "yuqing.db")
    assert db.execute("SELECT incident_id FROM messages WHERE id = 'collapse'").fetchone() == (None,)
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (1,)

    listed = yuqing("incidents", "--review", "-c", str(config))
    assert listed.returncode == 0, listed.stderr
    assert "待研判 1 条" in listed.stdout
    assert "collapse" in listed.stdout
    assert "坍塌" in listed.stdout
    assert "ordinary" not in listed.stdout
    assert "gas" not in listed.stdout
    as_json = [json.loads(line) for line in yuqing("incidents", "--review", "--json", "-c", str(config))
               .stdout.splitlines()]
    assert [item["message"] for item in as_json] == ["collapse"]
    assert "坍塌" in as_json[0]["features"]

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    report = yuqing("report", "daily", "--date", today, "-c", str(config))
    assert report.returncode == 0, report.stderr
    assert "待研判：1条" in report.stdout
    assert "城南工地脚手架坍塌" in report.stdout
    page = (tmp_path / "var" / "reports" / f"{today}-daily.html").read_text("utf-8")
    assert "六、待研判信息" in page
    assert "城南工地脚手架坍塌" in page


def test_explain_shows_the_review_score_of_a_message_no_rule_matched(tmp_path: Path) -> None:
    config = write_county(tmp_path)
    files = []
    for mid, text in (("collapse", COLLAPSE), ("ordinary", ORDINARY), ("gas", GAS)):
        path = tmp_path / f"{mid}.json"
        path.write_text(json.dumps({"id": mid, "source": "weibo", "text": text}, ensure_ascii=False), "utf-8")
        files.append(str(path))
    done = yuqing("explain", *files, "-c", str(config))
    assert done.returncode == 0, done.stderr
    found = {item["id"]: item for item in map(json.loads, done.stdout.splitlines())}
    assert found["collapse"]["review"] is True
    assert found["collapse"]["review_score"] >= 0.55
    assert "坍塌" in found["collapse"]["review_features"]
    assert found["ordinary"]["review"] is False
    assert found["ordinary"]["review_score"] < 0.55
    assert "review" not in found["gas"]  # graded: the rules decided, the net has nothing to say


def test_a_county_exports_its_own_posts_and_trains_a_model_the_daemon_then_uses(tmp_path: Path) -> None:
    config = write_county(tmp_path)
    inbox = tmp_path / "var" / "inbox"
    for mid, text in (("collapse", COLLAPSE), ("ordinary", ORDINARY), ("gas", GAS)):
        drop(inbox, f"{mid}.json", {"id": mid, "text": text})
    assert yuqing("run", "--once", "-c", str(config)).returncode == 0
    incident = json.loads(yuqing("incidents", "--json", "-c", str(config)).stdout)["id"]
    assert yuqing("ack", incident, "--by", "liu", "-c", str(config)).returncode == 0

    labelled = tmp_path / "labelled.jsonl"
    done = yuqing("review-export", "-o", str(labelled), "-c", str(config))
    assert done.returncode == 0, done.stderr
    assert "1 incident posts (label 1), 1 ordinary posts (label 0)" in done.stdout
    rows = {row["id"]: row["label"] for row in map(json.loads, labelled.read_text("utf-8").splitlines())}
    assert rows == {"gas": 1, "ordinary": 0}  # the review-list post waits for a person's word

    model = tmp_path / "review-model.json"
    trained = subprocess.run([sys.executable, "-m", "rules.reviewnet.train", str(labelled), "-o", str(model),
                              "--min-count", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert trained.returncode == 0, trained.stderr
    with config.open("a", encoding="utf-8") as fh:
        fh.write("review: {model: ./review-model.json}\n")
    assert yuqing("check", "-c", str(config)).returncode == 0
    probe = tmp_path / "probe.json"
    probe.write_text(json.dumps({"id": "p", "source": "weibo", "text": "管道有异味"}, ensure_ascii=False), "utf-8")
    explained = json.loads(yuqing("explain", str(probe), "-c", str(config)).stdout)
    assert explained["review_scorer"].startswith("model:")
