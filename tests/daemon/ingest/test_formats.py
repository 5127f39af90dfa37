"""Every inbound format: CSV with a column mapping, EML, TXT, JSONL streaming, encodings and junk."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.config import CsvSpec, InboxSpec
from daemon.ingest.folders import Inbox, name_problem, parse_file, safe_name
from daemon.ingest.formats import FileRejected, ReaderFailed, Record, read_records, records_from_bytes

LIMIT = 1024 * 1024
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
HOTLINE = CsvSpec(columns=(("id", ("工单编号",)), ("title", ("标题",)), ("text", ("诉求内容", "补充说明")),
                           ("author", ("来电人",)), ("published_at", ("受理时间",)), ("region", ("所属乡镇",))))


def records(path: Path, spec: InboxSpec) -> list[Record]:
    return list(read_records(path, spec, LIMIT))


def test_hotline_csv_in_gbk_with_a_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "12345-20261122.csv"
    path.write_bytes(("工单编号,标题,诉求内容,补充说明,来电人,受理时间,所属乡镇\r\n"
                      "GD-001,讨薪,工地拖欠农民工工资,已三个月,李先生,2026/11/22 9:05,河湾镇\r\n"
                      'GD-002,噪音,"夜间施工\r\n扰民",,王女士,2026年11月22日,城关镇\r\n'
                      "GD-003,空,,,赵,2026-11-22,城关镇\r\n").encode("gbk"))
    got = records(path, InboxSpec(tmp_path, source="hotline", csv=HOTLINE))
    first, second, third = got
    assert first.message is not None
    assert first.message.id == "GD-001"
    assert first.message.text == "工地拖欠农民工工资\n已三个月"  # both mapped columns, joined
    assert first.message.author is not None
    assert first.message.author.name == "李先生"
    assert first.message.published_at is not None
    assert first.message.published_at.isoformat() == "2026-11-22T09:05:00+08:00"
    assert (first.message.source, first.message.region) == ("hotline", "河湾镇")
    assert second.message is not None
    assert second.message.text == "夜间施工\r\n扰民"  # a quoted cell across lines stays one row
    assert third.message is None
    assert third.where == "row 3 (line 5)"
    assert third.error == '"text": required'


def test_csv_without_mapping_uses_field_names_and_tab_from_excel_utf16(tmp_path: Path) -> None:
    path = tmp_path / "grid.txt"
    path.write_bytes("text\tsource\tmetrics.reposts\n村口道路塌陷\tgrid\t12\n".encode("utf-16"))
    [record] = records(path, InboxSpec(tmp_path, format="csv"))
    assert record.message is not None
    assert (record.message.text, record.message.source, record.message.metrics.reposts) == ("村口道路塌陷", "grid", 12)


def test_csv_cells_longer_than_the_csv_module_default_are_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    long_text = "燃气泄漏" + "长" * 200_000  # over the csv module's default field limit of 131,072
    path.write_text(f'text,source\n"{long_text}",grid\n', encoding="utf-8")
    [record] = list(read_records(path, InboxSpec(tmp_path), 4 * LIMIT))
    assert record.message is not None, record.error
    assert record.message.text == long_text


def test_gbk_from_windows_with_a_euro_sign_is_read(tmp_path: Path) -> None:
    path = tmp_path / "price.csv"  # Windows' code page 936 writes € as the single byte 0x80
    path.write_bytes("text,source\n燃气价格上涨".encode("gbk") + b"5\x80" + "每方,grid\n".encode("gbk"))
    [record] = records(path, InboxSpec(tmp_path))
    assert record.message is not None, record.error
    assert record.message.text == "燃气价格上涨5€每方"


def test_csv_mapping_naming_a_missing_column_rejects_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("编号,内容\n1,有人上访\n", encoding="utf-8")
    with pytest.raises(FileRejected, match='column "工单编号" \\(for id\\) is not in the header: 编号, 内容'):
        records(path, InboxSpec(tmp_path, source="hotline", csv=HOTLINE))
    with pytest.raises(FileRejected, match='no "text" column'):
        records(path, InboxSpec(tmp_path, source="hotline"))


def test_forwarded_mail_subject_body_and_sender(tmp_path: Path) -> None:
    mail = EmailMessage()
    mail["From"] = "网格员 张三 <zhangsan@example.gov.cn>"
    mail["Subject"] = "转发：河湾村拆迁户聚集"
    mail["Message-ID"] = "<abc@example.gov.cn>"
    mail["Date"] = "Mon, 23 Nov 2026 09:30:00 +0800"
    mail.set_content("今天上午河湾村拆迁户在村委会门口聚集。")
    mail.add_alternative("<p>今天上午河湾村<b>拆迁户</b>在村委会门口聚集。</p>", subtype="html")
    path = tmp_path / "fwd.eml"
    path.write_bytes(bytes(mail))
    [record] = records(path, InboxSpec(tmp_path, source="grid"))
    message = record.message
    assert message is not None
    assert message.title == "转发：河湾村拆迁户聚集"
    assert message.text == "今天上午河湾村拆迁户在村委会门口聚集。"
    assert message.author is not None
    assert (message.author.name, message.author.id) == ("网格员 张三", "zhangsan@example.gov.cn")
    assert message.id == "mail-abc@example.gov.cn"
    assert message.published_at is not None
    assert message.published_at.isoformat() == "2026-11-23T09:30:00+08:00"


def test_html_only_mail_is_stripped_and_garbage_is_rejected(tmp_path: Path) -> None:
    mail = EmailMessage()
    mail["Subject"] = "通报"
    mail.set_content("<div>燃气泄漏&amp;疏散</div>", subtype="html")
    path = tmp_path / "h.eml"
    path.write_bytes(bytes(mail))
    [record] = records(path, InboxSpec(tmp_path))
    assert record.message is not None
    assert record.message.text == "燃气泄漏&疏散"
    assert record.message.source == "other"
    path.write_bytes(b"just some words\nand more")
    with pytest.raises(FileRejected, match="not an e-mail message"):
        records(path, InboxSpec(tmp_path))


@pytest.mark.parametrize("message_id", ["<>", "<@>", "<a@>", "no brackets at all", "<\u71c3\u6c14@x>"])
def test_mail_with_a_broken_message_id_is_still_read(tmp_path: Path, message_id: str) -> None:
    path = tmp_path / "id.eml"
    path.write_bytes(("From: grid@example.gov.cn\r\nSubject: gas\r\nMessage-ID: " + message_id
                      + "\r\nDate: Mon, 23 Nov 2026 09:30:00 +0800\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "\r\n\u71c3\u6c14\u6cc4\u6f0f\r\n").encode())
    [record] = records(path, InboxSpec(tmp_path, source="grid"))
    assert record.message is not None, record.error
    assert record.message.text == "燃气泄漏"
    expected = message_id.strip().strip("<>").strip()
    assert record.message.id == (f"mail-{expected}" if expected else record.message.id)
    assert not record.message.id.startswith("mail-") or expected


def test_mail_with_unreadable_headers_is_a_rejection_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "h.eml"
    path.write_bytes(b"From: <>\r\nSubject: =?x-unknown?q?abc?=\r\nDate: 99 Foo 99999 99:99\r\n\r\nbody\r\n")
    got: list[Record] | FileRejected
    try:
        got = records(path, InboxSpec(tmp_path, source="grid"))
    except FileRejected as exc:
        got = exc
    assert not isinstance(got, ReaderFailed), got
    if not isinstance(got, FileRejected):
        assert [r.message.text for r in got if r.message] == ["body"]


def test_txt_is_one_message_from_the_inbox_source(tmp_path: Path) -> None:
    path = tmp_path / "duty.txt"
    path.write_bytes("值班记录：城东菜市场有商户聚集\n\n请关注".encode("gb18030"))
    [record] = records(path, InboxSpec(tmp_path, source="grid", region="青川县"))
    assert record.message is not None
    assert record.message.text == "值班记录：城东菜市场有商户聚集\n\n请关注"
    assert (record.message.source, record.message.region) == ("grid", "青川县")


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("a.doc", b"{}", "unknown file type"),
    ("a.txt", b"   \n", "no text in file"),
    ("a.txt", "文本\x01\x02\x03\x04\x05\x06".encode(), "binary content"),
    ("a.csv", b"", "no header line"),
    ("a.csv", b"text,source\n", "no rows"),
    ("a.jsonl", b"\n\n", "no messages in file"),
    ("a.json", b"\xef\xbb\xbf\xff", "not UTF-8 text"),
])
def test_unusable_files(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileRejected, match=reason):
        records(path, InboxSpec(tmp_path, source="grid"))


def test_symlinks_fifos_and_oversize_are_refused_when_opened(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text('{"text": "x"}', encoding="utf-8")
    (tmp_path / "link.json").symlink_to(target)
    with pytest.raises(FileRejected, match="symbolic links"):
        records(tmp_path / "link.json", InboxSpec(tmp_path, source="grid"))
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(FileRejected, match="not a regular file"):
        records(tmp_path / "pipe.json", InboxSpec(tmp_path, source="grid"))
    with pytest.raises(FileRejected, match="over the limit of 5"):
        list(read_records(target, InboxSpec(tmp_path, source="grid"), 5))


def test_jsonl_streams_with_line_numbers_and_json_stays_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(1, 2001):
            fh.write(json.dumps({"id": f"m{i}", "text": "正文\u2028续"} if i != 1500 else {"title": "无正文"},
                                ensure_ascii=False) + "\n")
    it = read_records(path, InboxSpec(tmp_path, source="grid"), LIMIT)
    first = next(it)  # a generator: nothing more than a line at a time is held
    assert first.message is not None
    assert first.message.text == "正文\u2028续"  # U+2028 inside a JSON string is not a line break
    rest = list(it)
    bad = [r for r in rest if r.message is None]
    assert [(r.where, r.error) for r in bad] == [("line 1500", '"text": required')]


def test_http_bodies_use_the_same_readers() -> None:
    spec = InboxSpec(Path("/nonexistent"))
    body = '{"source": "weibo", "text": "好"}\n{"text": "缺来源"}\n'.encode("gbk")
    got = list(records_from_bytes(body, "jsonl", spec))
    assert got[0].message is not None
    assert got[1].error == '"source": required'


def test_names_with_path_tricks_are_quarantined_under_a_safe_name(tmp_path: Path) -> None:
    box = Inbox(InboxSpec(tmp_path / "inbox", source="grid"))
    box.prepare()
    evil = "x\n..\\..\\etc\\passwd.json"
    assert name_problem(evil) is not None
    assert name_problem("正常-文件.json") is None
    (box.path / evil).write_text('{"text": "x"}', encoding="utf-8")
    assert box.claim(evil, NOW) is None
    [moved] = [p for p in box.failed.iterdir() if not p.name.endswith(".error.txt")]
    assert moved.name == safe_name(evil) == "x_.._.._etc_passwd.json"
    note = Path(f"{moved}.error.txt").read_text(encoding="utf-8")
    assert "unsafe file name" in note
    assert repr(evil) in note


FORMATS = ("json", "jsonl", "csv", "eml", "txt")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(fmt=st.sampled_from(FORMATS),
       data=st.one_of(st.binary(max_size=300),
                      st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace")),
                      st.lists(st.text(max_size=10), max_size=5).map(
                          lambda c: ("text,source\n" + ",".join(c)).encode("utf-8", "replace"))))
def test_junk_in_any_format_is_a_rejection_or_record_errors(tmp_path: Path, fmt: str, data: bytes) -> None:
    path = tmp_path / f"junk.{fmt}"
    path.write_bytes(data)
    try:
        parsed = parse_file(path, InboxSpec(tmp_path, source="grid"), LIMIT)
    except FileRejected:
        return
    assert parsed.messages or parsed.errors


def test_inbox_format_and_csv_mapping_load_from_config(tmp_path: Path) -> None:
    from daemon.config import load_config
    from rules.errors import ConfigError

    path = tmp_path / "config.yaml"
    path.write_text("rules: r\nnotify: n\ninbox:\n  - path: ./in\n    source: hotline\n    format: CSV\n"
                    "    max_file_size: 1MB\n    csv: {delimiter: tab, columns: {text: [诉求, 说明], id: 工单编号}}\n",
                    encoding="utf-8")
    spec = load_config(path).inboxes[0]
    assert (spec.format, spec.max_file_bytes, spec.csv.delimiter) == ("csv", 1024 * 1024, "\t")
    assert spec.csv.columns == (("text", ("诉求", "说明")), ("id", ("工单编号",)))
    path.write_text("rules: r\nnotify: n\ninbox: [{path: ./in, format: xls, csv: {columns: {txt: a}}}]\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = [str(p) for p in caught.value.problems]
    assert any('unknown format "xls"' in p for p in problems), problems
    assert any('unknown field "txt" in csv columns (did you mean "text"?)' in p for p in problems), problems
