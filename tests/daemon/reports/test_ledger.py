"""台账 from a seeded store: one row per incident with its history, notifications, acks, deadlines and
resolution note; informants' numbers masked; CSV and XLSX hold the same rows."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook

from daemon.reports.ledger import HEADER, ledger, to_csv, to_xlsx
from tests.daemon.seed_reports import DAY, PHONE, notify_config, seed


def test_ledger_rows_tell_how_each_incident_was_handled(tmp_path: Path) -> None:
    store, ids = seed(tmp_path / "s.db")
    rows = ledger(store, date(2026, 11, 22), date(2026, 11, 23), DAY + timedelta(days=2), notify_config())
    by_id = {row.id: row for row in rows}
    assert [row.id for row in rows] == [ids["hotline"], ids["gas"], ids["wages"]]  # by time opened
    gas = by_id[ids["gas"]]
    assert (gas.level, gas.category, gas.first_source, gas.first_url) == ("红色", "燃气安全", "weibo",
                                                                         "https://weibo.com/1")
    assert gas.first_seen == "2026-11-23 10:00"
    assert gas.history == "2026-11-23 10:00 发现红色"
    assert gas.notified == "2026-11-23 10:00 email→张三（待发送）"
    assert gas.acknowledged == "2026-11-23 10:20 zhang"
    assert (gas.deadline, gas.deadline_met) == ("2026-11-23 10:30（值班）", "按时")
    assert PHONE not in gas.resolution
    assert "138****5678" in gas.resolution
    assert "燃气公司已抢修" in gas.resolution
    wages = by_id[ids["wages"]]
    assert (wages.deadline_met, wages.status, wages.resolution) == ("超时", "已确认，处置中", "")
    hotline = by_id[ids["hotline"]]
    assert hotline.history == "2026-11-22 14:00 发现蓝色；2026-11-23 15:00 回潮蓝色"
    assert hotline.deadline_met == ""  # blue has no deadline


def test_span_is_by_day_opened(tmp_path: Path) -> None:
    store, ids = seed(tmp_path / "s.db")
    only = ledger(store, date(2026, 11, 22), date(2026, 11, 22), DAY + timedelta(days=2))
    assert [row.id for row in only] == [ids["hotline"]]
    assert ledger(store, date(2026, 11, 24), date(2026, 11, 30), DAY + timedelta(days=2)) == []


def test_csv_and_xlsx_hold_the_same_rows(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    rows = ledger(store, date(2026, 11, 22), date(2026, 11, 23), DAY + timedelta(days=2), notify_config())
    parsed = list(csv.reader(io.StringIO(to_csv(rows))))
    sheet = load_workbook(io.BytesIO(to_xlsx(rows)))["台账"]
    cells = [["" if c.value is None else str(c.value) for c in row] for row in sheet.iter_rows()]
    assert parsed[0] == list(HEADER) == cells[0]
    assert parsed[1:] == cells[1:] == [row.cells() for row in rows]
    assert len(cells) == 4
    assert not any(PHONE in cell for row in cells for cell in row)


def test_numbers_written_to_slip_past_the_mask_stay_masked_in_the_ledger(tmp_path: Path) -> None:
    store, ids = seed(tmp_path / "s.db")
    with store.transaction() as db:
        db.execute("UPDATE incidents SET title = ?, category = ? WHERE id = ?",
                   ("燃气爆炸 举报人１３８.００００.０００１", "燃气安全 138\u200b0000\u200b0002", ids["gas"]))
    rows = ledger(store, date(2026, 11, 22), date(2026, 11, 23), DAY + timedelta(days=2), notify_config())
    gas = next(row for row in rows if row.id == ids["gas"])
    assert gas.title == "燃气爆炸 举报人１３８.****.０００１"
    assert gas.category == "燃气安全 138\u200b****\u200b0002"


def test_ledger_reads_each_table_once_however_many_incidents_it_holds(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    one = ledger(store, date(2026, 11, 22), date(2026, 11, 22), DAY + timedelta(days=2), notify_config())
    for_one = len(statements)
    statements.clear()
    three = ledger(store, date(2026, 11, 22), date(2026, 11, 23), DAY + timedelta(days=2), notify_config())
    store.db.set_trace_callback(None)
    assert (len(one), len(three)) == (1, 3)
    assert len(statements) == for_one
