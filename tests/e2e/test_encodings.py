"""A Big5 post from Hong Kong is graded like any other; a file whose encoding is in doubt is quarantined
with the reason and graded as nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.harness import yuqing
from tests.e2e.test_crash_loop import write_config


def test_big5_is_graded_and_an_unsure_file_is_quarantined(tmp_path: Path) -> None:
    config = write_config(tmp_path)  # one rule: 燃气 → yellow
    inbox = tmp_path / "var" / "inbox"
    post = {"id": "hk-1", "source": "forum", "text": "城東社區發生燃氣外洩，消防隊已疏散附近居民。"}
    (inbox / "hk.json").write_bytes(json.dumps(post, ensure_ascii=False).encode("big5"))
    doubt = ('{"id": "doubt-1", "text": "城東社區發生燃氣外洩').encode("big5") + "們".encode("gbk") + b'"}'
    (inbox / "doubt.json").write_bytes(doubt)  # only GB18030 decodes it all, and that reading is mojibake
    done = yuqing("run", "--once", "-c", str(config))
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    graded = {e["message"]: e["level"] for e in events if e.get("event") == "message.graded"}
    assert graded == {"hk-1": "yellow"}, done.stderr
    note = (inbox / "failed" / "doubt.json.error.txt").read_text(encoding="utf-8")
    assert "unsure of the encoding" in note
