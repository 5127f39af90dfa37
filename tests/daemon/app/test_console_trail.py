"""The console's reports of any day, audit trail, own sessions and merge/split, over a real listener on
127.0.0.1 (the browser and server of test_console)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from daemon import incidents
from daemon.store import Store, audit, messages
from rules.model import Level, Message, Verdict
from tests.daemon.app.test_ackpage import open_red
from tests.daemon.app.test_console import T0, Client, Served


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    yield s
    s.server.stop()


def logged_in(served: Served) -> Client:
    browser = served.browser()
    assert browser.login()[0] == 303
    return browser


def open_blue(served: Served, at: datetime, message_id: str) -> incidents.Incident:
    """Another incident, without test_ackpage's fixed notification row."""
    message = Message(id=message_id, source="weibo", text="城东小区爆炸现场视频", title="城东小区爆炸")
    with served.store.transaction() as db:
        return incidents.open_incident(db, served.store, message, Verdict(Level.BLUE), at)


def add_message(served: Served, incident_id: str, message_id: str, title: str) -> None:
    data = {"id": message_id, "source": "weibo", "title": title, "text": f"{title}，现场有人拍摄"}
    with served.store.transaction() as db:
        messages.insert(db, {"id": message_id, "hash": f"h-{message_id}", "source": "weibo", "data": json.dumps(data),
                             "received_at": T0.timestamp(), "updated_at": T0.timestamp(), "level": "red",
                             "verdict": "{}", "incident_id": incident_id})


def split(browser: Client, incident_id: str, csrf: str, chosen: list[str]) -> tuple[int, dict[str, str], str]:
    """The split form: the ticked messages as a repeated field."""
    return browser.request("POST", "/console/split", [("id", incident_id), ("csrf", csrf),
                                                      *(("message", m) for m in chosen)])


def snapshot(served: Served) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with sqlite3.connect(served.db) as db:
        return (db.execute("SELECT id, status, merged_into, level FROM incidents ORDER BY id").fetchall(),
                db.execute("SELECT id, incident_id FROM messages ORDER BY id").fetchall())


# ------------------------------------------------------------ reports of any day


def test_a_picked_day_gives_that_day_s_report_and_the_week_containing_it(served: Served) -> None:
    browser = logged_in(served)
    page = browser.get("/console/reports")[2]
    assert 'name="day" type="date" value="2026-11-23" max="2026-11-23"' in page
    status, _, page = browser.get("/console/report?kind=daily&day=2026-11-18")
    assert status == 200
    assert "舆情日报（2026-11-18）" in page
    # 2026-11-18 is a Wednesday: its week runs Monday 16th to Sunday 22nd.
    assert "舆情周报（2026-11-16 至 2026-11-22）" in browser.get("/console/report?kind=weekly&day=2026-11-18")[2]
    # This week (Monday 23rd, today) is not over: up to today, as without a day.
    assert "舆情周报（2026-11-17 至 2026-11-23）" in browser.get("/console/report?kind=weekly&day=2026-11-23")[2]
    assert "舆情日报（2026-11-23）" in browser.get("/console/report?kind=daily")[2]
    for bad in ("2026-11-24", "2026-02-30", "20261118", "yesterday", "1999-12-31"):
        status, _, page = browser.get(f"/console/report?kind=daily&day={bad}")
        assert status == 400, bad
        assert "请选择今天或以前的日期" in page


# ------------------------------------------------------------ the audit trail


def test_the_audit_page_lists_entries_newest_first_filtered_by_person_and_day_a_page_at_a_time(
        served: Served) -> None:
    with served.store.transaction() as db:
        for n in range(55):
            audit.record(db, T0 - timedelta(days=1, minutes=n), "zhao", "note", "YQ-20261122-0001", f"备注{n}",
                         "10.0.0.9")
        audit.record(db, T0 - timedelta(days=1), "li", "merge", "YQ-20261122-0002", "合并", None)
    browser = logged_in(served)
    page = browser.get("/console")[2]
    assert 'href="/console/audit"' in page
    assert 'href="/console/sessions"' in page
    status, _, page = browser.get("/console/audit")
    assert status == 200
    rows = re.findall(r'<td class="at">([^<]+)</td><td>([^<]+)</td><td class="hint">([^<]+)</td>', page)
    assert len(rows) == 50
    assert rows[0] == ("2026-11-23 10:00:00", "张三", "127.0.0.1")  # the login just now, in Beijing time
    assert rows[1][1:] == ("li", "命令行")
    assert rows[2] == ("2026-11-22 10:00:00", "赵六", "10.0.0.9")
    assert '<a href="/console/incident?id=YQ-20261122-0001">' in page
    assert 'id="next" href="/console/audit?page=2"' in page
    page = browser.get("/console/audit?page=2")[2]
    assert len(re.findall(r'<td class="at">', page)) == 7
    assert 'id="next"' not in page
    page = browser.get("/console/audit?person=zhao&day=2026-11-22")[2]
    assert page.count("赵六</td>") == 50
    assert "li</td>" not in page
    assert 'id="next" href="/console/audit?person=zhao&amp;day=2026-11-22&amp;page=2"' in page
    assert "暂无" in browser.get("/console/audit?day=2026-11-01")[2]
    for bad in ("day=2026-13-01", "page=0", "page=x", "page=1001"):
        assert browser.get(f"/console/audit?{bad}")[0] == 400, bad


def test_audit_page_reads_are_bounded(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    with store.transaction() as db:
        for n in range(5):
            audit.record(db, T0 + timedelta(minutes=n), "zhang", "note", None, str(n))
    assert [e.detail for e in audit.page(store, limit=2, offset=1)] == ["3", "2"]
    assert [e.detail for e in audit.page(store, start=T0 + timedelta(minutes=1),
                                         end=T0 + timedelta(minutes=3))] == ["2", "1"]
    assert len(audit.page(store, limit=10**6)) == 5  # capped at 500, not unbounded
    assert audit.page(store, actor="zhao") == []


# ------------------------------------------------------------ one's own sessions


def test_log_out_everywhere_ends_all_of_one_s_sessions_and_is_audited(served: Served) -> None:
    phone, desk = logged_in(served), logged_in(served)
    page = desk.get("/console/sessions")[2]
    assert page.count("127.0.0.1") == 2
    assert page.count("本设备") == 1
    csrf = desk.csrf("/console/sessions")
    assert desk.post("/console/logout-all", {"csrf": "forged"})[0] == 403
    assert phone.get("/console")[0] == 200  # the refused POST ended nothing
    status, headers, _ = desk.post("/console/logout-all", {"csrf": csrf})
    assert (status, headers["location"]) == (303, "/console/login")
    assert phone.get("/console")[0] == 303
    assert desk.get("/console")[0] == 303
    with sqlite3.connect(served.db) as db:
        assert db.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
    assert served.audit_rows()[-1] == ("zhang", "logout_all", None, "127.0.0.1")
    assert [r[1] for r in served.audit_rows()] == ["login", "login", "logout_all"]


# ------------------------------------------------------------ merge and split


def test_an_incident_is_merged_into_another_from_its_page_and_audited(served: Served) -> None:
    first = open_red(served.store, T0)
    second = open_blue(served, T0 + timedelta(minutes=5), "weibo-2")
    add_message(served, first.id, "weibo-a", "城东燃气爆炸")
    add_message(served, second.id, "weibo-b", "城东小区爆炸")
    browser = logged_in(served)
    page = browser.get(f"/console/incident?id={second.id}")[2]
    assert 'id="merge"' in page
    csrf = browser.csrf(f"/console/incident?id={second.id}")
    before = snapshot(served)
    assert browser.post("/console/merge", {"id": second.id, "into": first.id, "csrf": "forged"})[0] == 403
    for into, status in (("", 400), (second.id, 409), ("YQ-20990101-0001", 409)):
        code, _, page = browser.post("/console/merge", {"id": second.id, "into": into, "csrf": csrf})
        assert code == status, into
        assert "未做任何更改" in page or "请填写" in page
    assert snapshot(served) == before
    assert [r[1] for r in served.audit_rows()] == ["login"]
    status, headers, _ = browser.post("/console/merge", {"id": second.id, "into": first.id.lower(), "csrf": csrf})
    assert (status, headers["location"]) == (303, f"/console/incident?id={first.id}")
    merged = incidents.get(served.store.db, second.id)
    assert (merged.status, merged.merged_into) == (incidents.Status.MERGED, first.id)
    assert [m.id for m in messages.members(served.store, first.id)] == ["weibo-a", "weibo-b"]
    assert served.audit_rows()[-1] == ("zhang", "merge", first.id, "127.0.0.1")
    # Merging into the merged one again, or it again, is refused.
    third = open_blue(served, T0 + timedelta(minutes=9), "weibo-3")
    assert browser.post("/console/merge", {"id": third.id, "into": second.id, "csrf": csrf})[0] == 409
    assert 'id="merge"' not in browser.get(f"/console/incident?id={second.id}")[2]


def test_messages_are_split_off_into_a_new_incident_and_bad_choices_change_nothing(served: Served) -> None:
    incident = open_red(served.store, T0)
    add_message(served, incident.id, "weibo-a", "城东燃气爆炸")
    add_message(served, incident.id, "weibo-b", "西城菜市场火灾")
    browser = logged_in(served)
    page = browser.get(f"/console/incident?id={incident.id}")[2]
    assert 'name="message" value="weibo-b"' in page
    csrf = browser.csrf(f"/console/incident?id={incident.id}")
    before = snapshot(served)
    assert browser.request("POST", "/console/split", {"id": incident.id, "message": "weibo-b"})[0] == 403
    assert browser.post("/console/split", {"id": incident.id, "csrf": csrf})[0] == 400
    for chosen in ("weibo-x", "weibo-a&message=weibo-b"):
        status, _, page = split(browser, incident.id, csrf, chosen.split("&message="))
        assert status == 409, chosen
        assert "拆分未执行" in page
    assert snapshot(served) == before
    status, headers, _ = split(browser, incident.id, csrf, ["weibo-b"])
    assert status == 303
    new_id = headers["location"].rsplit("=", 1)[1]
    assert new_id != incident.id
    assert [m.id for m in messages.members(served.store, new_id)] == ["weibo-b"]
    assert [m.id for m in messages.members(served.store, incident.id)] == ["weibo-a"]
    assert served.audit_rows()[-1] == ("zhang", "split", incident.id, "127.0.0.1")
