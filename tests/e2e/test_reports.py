"""The report as people get it: `yuqing report` writes an HTML page that a real browser renders (a
screenshot is kept as a test artifact); `--send` then `run --once` mails it to a real SMTP server with
its charts as related PNG parts and the XLSX attached; `yuqing ledger` writes the register."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import tempfile
import textwrap
import zlib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import SmtpSink
from tests.daemon.seed_reports import seed
from tests.e2e.harness import ROOT, yuqing

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("YUQING_TEST_ARTIFACTS", ROOT / ".pytest_cache" / "artifacts"))


def setup(root: Path, smtp_port: int) -> Path:
    (root / "rules").mkdir()
    (root / "rules" / "county.yaml").write_text(
        "rules:\n  - {id: gas, title: 燃气, level: red, when: {all: [燃气]}}\n", encoding="utf-8")
    (root / "notify.yaml").write_text(textwrap.dedent(f"""\
        channels:
          email: {{url: "mailto://127.0.0.1:{smtp_port}?from=yq@example.gov.cn&mode=insecure", address: email}}
        people: {{zhao: {{name: 赵六, email: zhao@example.gov.cn}}}}
        teams: {{领导小组: [zhao]}}
        policies: {{red: [{{notify: [领导小组], via: [email]}}]}}
        """), encoding="utf-8")
    (root / "config.yaml").write_text(textwrap.dedent("""\
        state_dir: ./var
        rules: ./rules
        notify: ./notify.yaml
        reports: {daily: "08:00", weekly: "fri 16:00", to: [领导小组], via: [email]}
        """), encoding="utf-8")
    seed(root / "var" / "yuqing.db")
    return root / "config.yaml"


def png_colours(data: bytes) -> int:
    """How many distinct colours an 8-bit RGB/RGBA PNG holds (filter bytes are undone only for rows
    of filter 0, enough to tell a blank page from a drawn one)."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pos, idat, width, channels = 8, b"", 0, 3
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, channels = struct.unpack(">I", body[:4])[0], {2: 3, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    colours = set()
    for row in range(0, len(raw), stride):
        line = raw[row + 1 : row + stride]
        colours.update(line[i : i + 3] for i in range(0, len(line), channels * 7))
    return len(colours)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it when it may)")
def test_daily_report_renders_in_a_browser(tmp_path: Path) -> None:
    config = setup(tmp_path, 1)
    done = yuqing("report", "daily", "--date", "2026-11-23", "-c", str(config))
    assert done.returncode == 0, done.stderr
    page = tmp_path / "var" / "reports" / "2026-11-23-daily.html"
    assert str(page) in done.stdout
    assert "舆情日报（2026-11-23）" in done.stdout
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                        f"--screenshot={shot}", "--window-size=800,1600", page.as_uri()],
                       capture_output=True, timeout=60, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report-daily.png")
    # White page, black text, and the red, yellow and blue of the charts at least.
    assert png_colours(shot.read_bytes()) > 8


def test_report_is_mailed_with_charts_and_workbook_and_ledger_is_written(tmp_path: Path,
                                                                         smtp_server: SmtpSink) -> None:
    config = setup(tmp_path, smtp_server.port)
    sent = yuqing("report", "daily", "--date", "2026-11-23", "--send", "-c", str(config))
    assert sent.returncode == 0, sent.stderr
    assert "1 notification(s) queued" in sent.stdout
    delivered = yuqing("run", "--once", "-c", str(config))
    assert delivered.returncode == 0, delivered.stderr
    assert smtp_server.wait_for(1, timeout=10)
    mail = smtp_server.messages[0]
    assert mail["Subject"] == "【舆情哨兵】舆情日报（2026-11-23）"
    parts = {part.get_content_type(): part for part in mail.walk()}
    assert parts["multipart/related"] is not None
    assert 'src="cid:chart-days@yuqing"' in parts["text/html"].get_content()
    images = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert {p["Content-ID"] for p in images} == {"<chart-days@yuqing>", "<chart-spread@yuqing>"}
    attachment = next(p for p in mail.iter_attachments())
    assert attachment.get_filename() == "2026-11-23-daily.xlsx"
    book = load_workbook(io.BytesIO(attachment.get_content()))
    assert book["事件"].max_row == 4  # header and three incidents
    again = yuqing("report", "daily", "--date", "2026-11-23", "--send", "-c", str(config))
    assert "0 notification(s) queued" in again.stdout  # the same day's report is queued once

    ledger = yuqing("ledger", "--from", "2026-11-22", "--to", "2026-11-23", "--format", "csv", "-c", str(config))
    assert ledger.returncode == 0, ledger.stderr
    path = tmp_path / "var" / "reports" / "ledger-2026-11-22-2026-11-23.csv"
    assert f"{path}: 3 incident(s)" in ledger.stdout
    assert path.read_text(encoding="utf-8-sig").count("\n") == 4
