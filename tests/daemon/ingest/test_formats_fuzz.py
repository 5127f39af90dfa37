"""Fuzzing every inbound format from real samples (examples/inbox-samples), mutated the way files get
damaged in transit: cut short, bytes flipped, pieces repeated or dropped, syntax and header fragments
spliced in. The real readers run on real files; each input is read or refused with a reason (a
FileRejected that is not a ReaderFailed), never anything else."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.app.httpapi import IngestEndpoint, Request
from daemon.config import CsvSpec, FeedSpec, InboxSpec
from daemon.ingest.feeds import entry_record
from daemon.ingest.formats import FileRejected, ReaderFailed, Record, read_records, records_from_bytes

SAMPLES = Path(__file__).resolve().parents[3] / "examples" / "inbox-samples"
LIMIT = 1024 * 1024
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def _sample_objects() -> list[dict[str, object]]:
    objects: list[dict[str, object]] = []
    for path in sorted(SAMPLES.glob("*.json*")):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            objects += [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
            objects += data if isinstance(data, list) else [data]
    return objects


OBJECTS = _sample_objects()


def _csv(objects: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["工单编号", "标题", "诉求内容", "来电人", "受理时间", "所属乡镇", "metrics.reposts"])
    for o in objects:
        author = o.get("author")
        writer.writerow([o.get("id", ""), o.get("title", ""), o.get("text", ""),
                         author.get("name", "") if isinstance(author, dict) else "",
                         str(o.get("published_at", ""))[:16].replace("-", "/").replace("T", " "),
                         o.get("region", ""), "1.2万"])
    return out.getvalue()


def _mail(o: dict[str, object], html: bool) -> bytes:
    mail = EmailMessage()
    mail["From"] = "网格员 张三 <zhangsan@example.gov.cn>"
    mail["Subject"] = str(o.get("title") or "转发")
    mail["Message-ID"] = f"<{o.get('id', 'x')}@example.gov.cn>"
    mail["Date"] = "Mon, 23 Nov 2026 09:30:00 +0800"
    mail.set_content(str(o["text"]))
    if html:
        mail.add_alternative(f"<p>{o['text']}</p>", subtype="html")
    return bytes(mail)


SEEDS: dict[str, list[bytes]] = {
    "json": [p.read_bytes() for p in sorted(SAMPLES.glob("*.json"))]
            + [p.read_text(encoding="utf-8").encode("gb18030") for p in sorted(SAMPLES.glob("*.json"))[:2]],
    "jsonl": [p.read_bytes() for p in sorted(SAMPLES.glob("*.jsonl"))],
    "csv": [_csv(OBJECTS[:6]).encode("utf-8"), _csv(OBJECTS[6:12]).encode("gb18030"),
            _csv(OBJECTS[12:16]).replace(",", "\t").encode("utf-16")],
    "eml": [_mail(o, html=i % 2 == 1) for i, o in enumerate(OBJECTS[:6])],
    "txt": [str(o["text"]).encode(enc) for o, enc in zip(OBJECTS[:6], ("utf-8", "gb18030", "utf-16") * 2,
                                                            strict=True)],
}
FRAGMENTS = [b"", b"\x00", b"\xff", b"\x80", b"\xa1", b"\r\n", b"\n\n", b'"', b",", b"\t", b"{", b"}", b"[", b"]",
             b":", b"\\", b"\\u", b"\\ud800", b"1e999", b"-1", b"99999999999999999999999", b"null", b"true",
             b"<>", b"<@>", b"=?utf-8?b?", b"=?x-unknown?q?", b"?=", b"Message-ID: <>\r\n", b"From: <>\r\n",
             b"Date: 31 Feb 99999 99:99\r\n", b"Content-Type: multipart/mixed; boundary=\r\n",
             b"Content-Type: text/plain; charset=x-unknown\r\n", b"Content-Transfer-Encoding: base64\r\n",
             "燃气爆炸".encode(), "燃气".encode("gb18030"), b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\xff\xfe",
             b'"published_at": "0001-01-01T00:00:00"', b'"metrics": {"views": "1.2\xe4\xb8\x87"}',
             b"<![CDATA[", b"&#0;", b"&#xffffff;"]


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS[fmt])))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("insert", "flip", "delete", "repeat", "truncate")))
        if op == "insert":
            data[where:where] = draw(st.sampled_from(FRAGMENTS))
        elif op == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[where:where + draw(st.integers(1, 40))]
        elif op == "repeat":
            data[where:where] = data[where:where + draw(st.integers(1, 200))]
        elif op == "truncate":
            del data[where:]
    return bytes(data)


def attempt(read: Callable[[], Iterator[Record]]) -> list[Record] | FileRejected:
    """The records, or the refusal; any other exception fails the test."""
    try:
        return list(read())
    except FileRejected as exc:
        return exc


def assert_clean(got: list[Record] | FileRejected) -> None:
    if isinstance(got, FileRejected):
        assert not isinstance(got, ReaderFailed), f"{got} ← {got.__cause__!r}"
        assert str(got)
    else:
        assert got
        assert all((r.message is None) != (r.error is None) for r in got)


def read_file(tmp_path: Path, fmt: str, data: bytes, spec: InboxSpec) -> None:
    path = tmp_path / f"fuzz.{fmt}"
    path.write_bytes(data)
    assert_clean(attempt(lambda: read_records(path, spec, LIMIT)))


HOTLINE = CsvSpec(columns=(("id", ("工单编号",)), ("title", ("标题",)), ("text", ("诉求内容",)),
                           ("author", ("来电人",)), ("published_at", ("受理时间",)), ("region", ("所属乡镇",)),
                           ("metrics.reposts", ("metrics.reposts",))))


@FUZZ
@given(data=mutated("json"))
def test_json(tmp_path: Path, data: bytes) -> None:
    read_file(tmp_path, "json", data, InboxSpec(tmp_path, source="grid"))


@FUZZ
@given(data=mutated("jsonl"))
def test_jsonl(tmp_path: Path, data: bytes) -> None:
    read_file(tmp_path, "jsonl", data, InboxSpec(tmp_path, source="grid"))


@FUZZ
@given(data=mutated("csv"))
def test_csv(tmp_path: Path, data: bytes) -> None:
    read_file(tmp_path, "csv", data, InboxSpec(tmp_path, source="hotline", format="csv", csv=HOTLINE))


@FUZZ
@given(data=mutated("eml"))
def test_eml(tmp_path: Path, data: bytes) -> None:
    read_file(tmp_path, "eml", data, InboxSpec(tmp_path, source="grid"))


@FUZZ
@given(data=mutated("txt"))
def test_txt(tmp_path: Path, data: bytes) -> None:
    read_file(tmp_path, "txt", data, InboxSpec(tmp_path, source="grid"))


@FUZZ
@given(fmt=st.sampled_from(("json", "jsonl")), data=st.data())
def test_http_bodies_are_accepted_or_refused_with_a_reason(tmp_path: Path, fmt: str, data: st.DataObject) -> None:
    body = data.draw(mutated(fmt))
    assert_clean(attempt(lambda: records_from_bytes(body, fmt, InboxSpec(tmp_path))))
    kind = "application/x-ndjson" if fmt == "jsonl" else "application/json"
    response = IngestEndpoint(tmp_path / "spool")(Request("POST", "/api/v1/messages", {}, {"Content-Type": kind},
                                                          body, "127.0.0.1"))
    assert response.status in (202, 400), response
    assert json.loads(response.body)


FEED_ENTRY = st.fixed_dictionaries({}, optional={
    "title": st.one_of(st.text(max_size=30), st.integers(), st.none()),
    "id": st.one_of(st.text(max_size=10), st.integers(), st.none()),
    "link": st.one_of(st.text(max_size=10), st.none()),
    "summary": st.one_of(st.text(max_size=60), st.sampled_from([s.decode("utf-8", "replace") for s in FRAGMENTS])),
    "content": st.lists(st.fixed_dictionaries({"value": st.text(max_size=40)}), max_size=2),
    "author": st.one_of(st.text(max_size=10), st.none()),
    "published_parsed": st.one_of(st.none(), st.tuples(*[st.integers(-5, 10000)] * 9)),
})


@FUZZ
@given(entry=FEED_ENTRY)
def test_feed_entries_are_records_or_skipped(entry: dict[str, object]) -> None:
    spec = FeedSpec(url="http://127.0.0.1:1/rss.xml", source="news", every=timedelta(minutes=5))
    found = entry_record(spec, entry)
    if found is not None:
        guid, obj = found
        assert guid
        assert obj["text"]
