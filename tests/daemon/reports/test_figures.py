"""日报/周报 figures from a seeded store, their HTML, text and XLSX, and the report schedule."""

from __future__ import annotations

import io
import unicodedata
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook

from daemon.config import Config
from daemon.config.reports import ReportSchedule
from daemon.reports.figures import build_report, period_for
from daemon.reports.render import CHART_DAYS, CHART_SPREAD, render
from daemon.reports.schedule import fire_due, next_runs, schedule
from tests.daemon.seed_reports import DAY, notify_config, seed

D = date(2026, 11, 23)


def test_daily_report_counts_levels_sources_regions_deadlines_and_resurgences(tmp_path: Path) -> None:
    store, ids = seed(tmp_path / "s.db")
    report = build_report(store, period_for("daily", D), DAY + timedelta(days=1, hours=8), notify_config())
    assert report.messages == 5  # w1 d1 w2 k1 h2; h1 came the day before
    assert report.new_incidents == 2
    assert [line.id for line in report.active] == [ids["gas"], ids["wages"], ids["hotline"]]
    assert report.by_level == {"red": 1, "yellow": 1, "blue": 1}
    assert report.by_source == {"douyin": 1, "hotline": 1, "weibo": 1}
    assert report.by_region == {"未知": 1, "城东镇": 1, "城西": 1}
    assert report.by_category == {"劳动社保": 1, "燃气安全": 1, "物业纠纷": 1}
    gas = report.top[0]
    assert (gas.first_source, gas.first_url, gas.status) == ("weibo", "https://weibo.com/1", "已处置")
    assert gas.spread_text == "3条信息，2个平台，转发300"
    # Red's deadline belongs to the policy step's team; yellow's (set by hand) to the rule's team.
    rows = {row.team: (row.met, row.missed, row.pending) for row in report.deadlines}
    assert rows == {"值班": (1, 0, 0), "宣传部": (0, 1, 0)}
    assert [line.id for line in report.resurgences] == [ids["hotline"]]
    assert report.trend[-1] == (D, {"red": 1, "yellow": 1, "blue": 0})
    assert report.trend[-2] == (D - timedelta(days=1), {"red": 0, "yellow": 0, "blue": 1})


def test_weekly_report_spans_seven_days_and_a_quiet_day_is_empty(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    weekly = build_report(store, period_for("weekly", D), DAY + timedelta(days=1), notify_config())
    assert weekly.period.title == "舆情周报（2026-11-17 至 2026-11-23）"
    assert weekly.new_incidents == 3
    assert weekly.messages == 6
    quiet = build_report(store, period_for("daily", D + timedelta(days=3)), DAY + timedelta(days=4))
    assert (quiet.messages, quiet.active, quiet.deadlines) == (0, (), ())
    assert "本期无舆情事件" in render(quiet).html


def test_rendered_report_has_charts_text_and_a_workbook_with_the_rows(tmp_path: Path) -> None:
    store, ids = seed(tmp_path / "s.db")
    rendered = render(build_report(store, period_for("daily", D), DAY + timedelta(days=1), notify_config()))
    assert f"cid:{CHART_DAYS}" in rendered.html
    assert f"cid:{CHART_SPREAD}" in rendered.html
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in rendered.images.values())
    assert "data:image/png;base64," in rendered.html_inline()
    assert "cid:" not in rendered.html_inline()
    assert "红色1起，黄色1起，蓝色1起" in rendered.text
    assert "超时1起" in rendered.text
    book = load_workbook(io.BytesIO(rendered.xlsx))
    assert book.sheetnames == ["概况", "事件", "时限", "待研判"]
    events = [[c.value for c in row] for row in book["事件"].iter_rows(min_row=2)]
    assert [row[0] for row in events] == [ids["gas"], ids["wages"], ids["hotline"]]
    assert events[0][1:4] == ["红色", "燃气安全事件", "燃气安全"]
    assert [[c.value for c in row] for row in book["时限"].iter_rows(min_row=2)] == [["值班", 1, 0, 0],
                                                                                    ["宣传部", 0, 1, 0]]


def test_scheduled_reports_fire_once_and_the_next_is_queued(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    config = Config(path=tmp_path / "config.yaml", state_dir=tmp_path, inboxes=(), rules_dir=tmp_path,
                    notify=tmp_path / "n.yaml", reports=ReportSchedule((8, 0), (4, 16, 0), ("值班",), ("email",)))
    monday_noon = DAY + timedelta(hours=12)  # 2026-11-23 is a Monday
    runs = dict(next_runs(config, monday_noon))
    assert runs["daily"] == DAY + timedelta(days=1, hours=8)
    assert runs["weekly"] == DAY + timedelta(days=4, hours=16)
    schedule(store, config, monday_noon)
    assert fire_due(store, config, notify_config(), monday_noon) == 0
    tuesday = DAY + timedelta(days=1, hours=8, seconds=5)
    assert fire_due(store, config, notify_config(), tuesday) == 1
    assert fire_due(store, config, notify_config(), tuesday + timedelta(minutes=1)) == 0  # no double
    row = store.one("SELECT id, title, meta FROM outbox WHERE id LIKE 'report:%'")
    assert row is not None
    assert row["id"] == "report:daily:2026-11-23:email"
    assert row["title"] == "【舆情哨兵】舆情日报（2026-11-23）"
    assert '"attachments"' in row["meta"]
    assert (tmp_path / "reports" / "2026-11-23-daily.xlsx").is_file()
    pending = [r["day"] for r in store.query("SELECT day FROM report_timers WHERE fired_at IS NULL ORDER BY day")]
    assert pending == ["2026-11-24", "2026-11-27"]  # Wednesday's daily (covering Tuesday) and Friday's weekly


def test_personal_numbers_in_titles_never_reach_a_report(tmp_path: Path) -> None:
    store, ids = seed(tmp_path / "s.db")
    with store.transaction() as db:
        db.execute("UPDATE incidents SET title = ? WHERE id = ?",
                   ("燃气爆炸 举报人１３８ ００００ ０００１", ids["gas"]))
        db.execute("UPDATE messages SET data = json_set(data, '$.region', '城东 电话13800000002') WHERE id = 'w1'")
    rendered = render(build_report(store, period_for("daily", D), DAY + timedelta(days=1), notify_config()))
    sheet = "".join(str(cell.value) for ws in load_workbook(io.BytesIO(rendered.xlsx)) for row in ws.iter_rows()
                    for cell in row)
    for output in (rendered.html, rendered.text, sheet):
        visible = "".join(unicodedata.normalize("NFKC", output).split())  # full width, spaces dropped
        assert "13800000001" not in visible
        assert "13800000002" not in visible
    assert "举报人１３８ **** ０００１" in rendered.text


def test_a_report_reads_each_table_once_however_many_incidents_it_holds(tmp_path: Path) -> None:
    store, ids = seed(tmp_path / "s.db")
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    before = build_report(store, period_for("daily", D), DAY + timedelta(days=2), notify_config())
    for_three = len(statements)
    with store.transaction() as db:  # ten more stories like the gas leak, opened the same day
        for n in range(10):
            db.execute("INSERT INTO incidents (id, level, status, title, category, teams, opened_at, level_at,"
                       " deadline_at, first_message, alert) SELECT ?, level, status, title, category, teams,"
                       " opened_at, level_at, deadline_at, first_message, alert FROM incidents WHERE id = ?",
                       (f"YQ-20261123-{n + 100:04d}", ids["gas"]))
    statements.clear()
    after = build_report(store, period_for("daily", D), DAY + timedelta(days=2), notify_config())
    store.db.set_trace_callback(None)
    assert (len(before.active), len(after.active)) == (3, 13)
    assert len(statements) == for_three
