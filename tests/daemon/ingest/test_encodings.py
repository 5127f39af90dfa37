"""Legacy CJK encodings: Big5 from Taiwan and Hong Kong, Shift_JIS, EUC-KR and GBK are each read as
themselves, and a file whose encoding is in doubt is refused with the reason, never read as mojibake."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.config import InboxSpec
from daemon.ingest.encodings import FileRejected
from daemon.ingest.formats import Record, read_records

DATA = Path(__file__).resolve().parents[1] / "data" / "encodings"
SAMPLES = Path(__file__).resolve().parents[3] / "examples" / "inbox-samples"
LIMIT = 1024 * 1024


def _lines(name: str) -> list[str]:
    return [line.strip() for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


SIMPLIFIED = [json.loads(line)["text"] for name in ("wechat-groups.jsonl", "douyin-20261124.jsonl")
              for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines()] + [
    "燃气爆炸", "有人上访", "学校霸凌", "县医院排队三小时", "城东小区发生燃气爆炸，多人受伤"]
CORPUS = {"gbk": SIMPLIFIED, "big5": _lines("traditional.txt"), "shift_jis": _lines("japanese.txt"),
          "euc_kr": _lines("korean.txt")}
CASES = [(encoding, text) for encoding, texts in CORPUS.items() for text in texts]


def read(tmp_path: Path, data: bytes, name: str = "post.json") -> list[Record]:
    path = tmp_path / name
    path.write_bytes(data)
    return list(read_records(path, InboxSpec(tmp_path, source="forum"), LIMIT))


@pytest.mark.parametrize(("encoding", "text"), CASES)
def test_each_legacy_encoding_is_read_as_itself(tmp_path: Path, encoding: str, text: str) -> None:
    data = json.dumps({"title": text[:6], "text": text}, ensure_ascii=False).encode(encoding)
    [record] = read(tmp_path, data)
    assert record.message is not None, record.error
    assert record.message.text == text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(encoding=st.sampled_from(sorted(CORPUS)), picks=st.lists(st.integers(0, 1000), min_size=1, max_size=3),
       separator=st.sampled_from(["", "\n", "。", " "]))
def test_text_is_read_exactly_or_refused_never_as_mojibake(tmp_path: Path, encoding: str, picks: list[int],
                                                           separator: str) -> None:
    texts = CORPUS[encoding]
    text = separator.join(texts[i % len(texts)] for i in picks)
    data = json.dumps({"text": text}, ensure_ascii=False).encode(encoding)
    got: list[Record] | FileRejected
    try:
        got = read(tmp_path, data)
    except FileRejected as exc:
        got = exc
    if isinstance(got, FileRejected):
        assert "unsure of the encoding" in str(got)
    else:
        assert [r.message.text if r.message else r.error for r in got] == [text]


def test_a_file_that_decodes_only_as_mojibake_is_refused_with_the_scores(tmp_path: Path) -> None:
    # Big5 text with one GBK-only character: only GB18030 decodes it all, and that reading is mojibake.
    data = ('{"text": "' + _lines("traditional.txt")[0]).encode("big5") + "們".encode("gbk") + b'"}'
    with pytest.raises(FileRejected, match=r"unsure of the encoding: .* reads as mojibake .*GB18030 \d+%"):
        read(tmp_path, data)


def test_mail_bodies_in_legacy_or_undeclared_charsets(tmp_path: Path) -> None:
    traditional = _lines("traditional.txt")[5]
    for charset, body, declared in (("big5", traditional, True), ("utf-8", "燃气泄漏，请疏散", False),
                                    ("gbk", "燃气泄漏，请疏散", False), ("gb2312", "价格5€", True),
                                    ("iso-8859-1", "Café au lait", True)):
        mail = EmailMessage()
        mail["From"] = "grid@example.gov.cn"
        mail["Subject"] = "report"
        encoded = body.encode("gb18030" if charset == "gb2312" else charset)
        mail.set_payload(encoded.replace("€".encode("gb18030"), b"\x80"))
        mail["Content-Type"] = f"text/plain; charset={charset}" if declared else "text/plain"
        if charset == "iso-8859-1":  # and the same label on UTF-8 Chinese, as some mail programs send it
            mislabelled = EmailMessage()
            mislabelled["From"], mislabelled["Subject"] = "grid@example.gov.cn", "report"
            mislabelled.set_payload("城东燃气泄漏".encode())
            mislabelled["Content-Type"] = "text/plain; charset=iso-8859-1"
            mislabelled["Content-Transfer-Encoding"] = "8bit"
            [got] = read(tmp_path, mislabelled.as_bytes(), "l.eml")
            assert got.message is not None
            assert got.message.text == "城东燃气泄漏"
        mail["Content-Transfer-Encoding"] = "8bit"
        [record] = read(tmp_path, mail.as_bytes(), "m.eml")
        assert record.message is not None, (charset, record.error)
        assert record.message.text == body, charset
