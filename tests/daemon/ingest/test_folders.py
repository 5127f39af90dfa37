"""Inbound files: encodings, JSON / JSONL, partial failures, quarantine, claiming."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.config import InboxSpec
from daemon.ingest.folders import Event, FileRejected, Inbox, Watcher, parse_file
from daemon.ingest.formats import read_records
from rules.errors import ConfigError

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LIMIT = 1024 * 1024


def inbox(tmp_path: Path, source: str | None = "grid") -> Inbox:
    box = Inbox(InboxSpec(tmp_path / "inbox", source=source, region="青川县"))
    box.prepare()
    return box


def test_gbk_and_bom_files_decode_without_mojibake(tmp_path: Path) -> None:
    text = '{"source": "hotline", "text": "河湾村拆迁补偿款至今未发放"}'
    for name, data in (("gbk.json", text.encode("gbk")), ("gb18030.json", text.encode("gb18030")),
                       ("bom.json", b"\xef\xbb\xbf" + text.encode())):
        path = tmp_path / name
        path.write_bytes(data)
        parsed = parse_file(path, InboxSpec(tmp_path), LIMIT)
        assert parsed.messages[0].text == "河湾村拆迁补偿款至今未发放", name


def test_list_and_jsonl_with_bad_records_keep_the_good_ones(tmp_path: Path) -> None:
    spec = InboxSpec(tmp_path, source="grid", region="青川县")
    listing = tmp_path / "a.json"
    listing.write_text(json.dumps([{"text": "第一条"}, {"title": "无正文"}, {"text": "第三条", "source": "Weibo"}],
                                  ensure_ascii=False), encoding="utf-8")
    parsed = parse_file(listing, spec, LIMIT)
    assert [m.text for m in parsed.messages] == ["第一条", "第三条"]
    assert [m.source for m in parsed.messages] == ["grid", "weibo"]
    assert parsed.messages[0].region == "青川县"
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith("record 2:")

    lines = tmp_path / "b.jsonl"
    lines.write_text('{"text": "好的"}\n\n{"text": \n[1, 2]\n', encoding="utf-8")
    parsed = parse_file(lines, spec, LIMIT)
    assert [m.text for m in parsed.messages] == ["好的"]
    assert [e.split(":")[0] for e in parsed.errors] == ["line 3", "line 4"]


@pytest.mark.parametrize(("content", "reason"), [
    (b'{"text": "x"', "invalid JSON at line 1"),
    (b"\x00\x01\x02binary", "binary content"),
    (b"\xff\xfe\xfa\xfb\x80\x81", "not UTF-8 text .*nor GB18030, Big5"),
    (b"[]", "no messages in file"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
])
def test_unusable_files_are_rejected_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(FileRejected, match=reason):
        parse_file(path, InboxSpec(tmp_path, source="grid"), LIMIT)


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"text": "长" * 2000}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(FileRejected, match="over the limit of 1000"):
        parse_file(path, InboxSpec(tmp_path, source="grid"), 1000)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.one_of(st.binary(max_size=400),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                                   lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c,
                                                                                      max_size=4),
                                   max_leaves=20).map(lambda v: json.dumps(v).encode())))
def test_junk_never_escapes_as_anything_but_a_rejection(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "junk.json"
    path.write_bytes(data)
    try:
        parsed = parse_file(path, InboxSpec(tmp_path, source="grid"), LIMIT)
    except FileRejected:
        return
    assert parsed.messages or parsed.errors


def test_claim_is_exclusive_and_moves_are_atomic(tmp_path: Path) -> None:
    box = inbox(tmp_path)
    (box.path / "m.json").write_text('{"text": "x"}', encoding="utf-8")
    os.utime(box.path / "m.json", (0, 0))
    assert box.ready(time.time()) == ["m.json"]
    claimed = box.claim("m.json", AT)
    assert claimed == box.processing / "m.json"
    assert box.claim("m.json", AT) is None  # the loser of the race gets nothing
    assert box.leftovers() == [claimed]
    done = box.finish(claimed, AT)
    assert done == box.processed / "2026-11-23" / "m.json"
    (box.processing / "m.json").write_text("again", encoding="utf-8")
    assert box.finish(box.processing / "m.json", AT).name == "m.1.json"  # never overwrites


def test_young_temp_and_hidden_files_are_not_ready(tmp_path: Path) -> None:
    box = inbox(tmp_path)
    for name in ("fresh.json", ".hidden.json", "x.json.tmp", "y.part"):
        (box.path / name).write_text("{}", encoding="utf-8")
    assert box.ready(time.time()) == []
    assert box.ready(float("inf")) == ["fresh.json"]


def test_quarantine_writes_the_reason_beside_the_file(tmp_path: Path) -> None:
    box = inbox(tmp_path)
    path = box.processing / "bad.json"
    path.write_text("{", encoding="utf-8")
    target = box.quarantine(path, "invalid JSON at line 1 column 2", AT)
    assert target == box.failed / "bad.json"
    note = Path(f"{target}.error.txt").read_text(encoding="utf-8")
    assert "invalid JSON at line 1 column 2" in note
    assert "file: bad.json" in note


def test_symlinks_are_quarantined_not_followed(tmp_path: Path) -> None:
    box = inbox(tmp_path)
    secret = tmp_path / "secret.json"
    secret.write_text('{"text": "x"}', encoding="utf-8")
    (box.path / "link.json").symlink_to(secret)
    assert box.claim("link.json", AT) is None
    assert (box.failed / "link.json").is_symlink()
    note = (box.failed / "link.json.error.txt").read_text(encoding="utf-8")
    assert "symbolic links" in note
    assert "when: 2026-11-23T10:00:00+08:00" in note  # the time claim() was given, in the county's zone
    assert secret.exists()


def _events_within(watcher: Watcher, seconds: float) -> list[Event]:
    seen: list[Event] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.extend(watcher.drain(timeout=0.05))
    return seen


def test_a_file_renamed_in_from_another_folder_is_complete_at_once(tmp_path: Path) -> None:
    """The collector contract (write elsewhere, rename in) makes a file complete when it appears: it is
    reported as such (inotify IN_MOVED_TO), not left to the settle time like a file written in place."""
    inbox = Inbox(InboxSpec(path=tmp_path / "inbox", source="grid"))
    inbox.prepare()
    outside = tmp_path / "collector"
    outside.mkdir()
    watcher = Watcher([inbox])
    watcher.start()
    try:
        (outside / "a.json").write_text("{}", encoding="utf-8")
        os.rename(outside / "a.json", inbox.path / "a.json")
        assert _events_within(watcher, 1.0) == [Event(0, "a.json", complete=True)]

        with (inbox.path / "b.json").open("w", encoding="utf-8") as fh:  # written in place
            fh.write("{")
            fh.flush()
            assert _events_within(watcher, 0.5) == [Event(0, "b.json", complete=False)]
            fh.write("}")
        assert Event(0, "b.json", complete=True) in _events_within(watcher, 1.0)

        os.rename(inbox.path / "a.json", outside / "a.json")  # moved out (as a claim does): nothing to take
        assert _events_within(watcher, 1.0) == []
    finally:
        watcher.stop()


def test_a_claim_moving_a_file_out_does_not_hold_back_the_next_arrival(tmp_path: Path) -> None:
    """Claiming renames a file out of the inbox (IN_MOVED_FROM). watchdog holds such an event 0.5 s to
    pair it with a rename back in, and every later event waited behind it: at 20 messages a second each
    arrival was taken half a second late. Five claim-then-arrive rounds, each waiting for its arrival,
    took 2.5 s that way; they must take a fraction of it."""
    inbox = Inbox(InboxSpec(path=tmp_path / "inbox", source="grid"))
    inbox.prepare()
    outside = tmp_path / "collector"
    outside.mkdir()
    (inbox.path / "m0.json").write_text("{}", encoding="utf-8")
    watcher = Watcher([inbox])
    watcher.start()
    try:
        start = time.monotonic()
        for i in range(5):
            os.rename(inbox.path / f"m{i}.json", inbox.processing / f"m{i}.json")  # the claim
            (outside / f"m{i + 1}.json").write_text("{}", encoding="utf-8")
            os.rename(outside / f"m{i + 1}.json", inbox.path / f"m{i + 1}.json")
            seen: list[Event] = []
            deadline = time.monotonic() + 2.0
            while Event(0, f"m{i + 1}.json", complete=True) not in seen and time.monotonic() < deadline:
                seen.extend(watcher.drain(timeout=0.02))
            assert Event(0, f"m{i + 1}.json", complete=True) in seen
        assert time.monotonic() - start < 1.5
    finally:
        watcher.stop()


def state_dir_with_secrets(tmp_path: Path) -> Path:
    """What a link in the inbox would point at: the daemon's own state."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "yuqing.db").write_bytes(b"SQLite format 3\x00")
    (state / "ack.key").write_bytes(b"k" * 32)
    return state


@pytest.mark.parametrize("folder", ["processing", "processed", "failed"])
def test_a_symlinked_working_folder_is_refused_and_nothing_behind_it_is_touched(tmp_path: Path, folder: str) -> None:
    state = state_dir_with_secrets(tmp_path)
    box = Inbox(InboxSpec(tmp_path / "inbox", source="grid"))
    box.path.mkdir()
    (box.path / folder).symlink_to(state)
    with pytest.raises(ConfigError, match=f"{folder}.*symbolic link"):
        box.prepare()
    assert sorted(p.name for p in state.iterdir()) == ["ack.key", "yuqing.db"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_working_folder_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    box = Inbox(InboxSpec(tmp_path / "inbox", source="grid"))
    (box.path / "failed").mkdir(parents=True)
    os.chown(box.path / "failed", 65534, -1)
    with pytest.raises(ConfigError, match=r"failed.*owned by uid 65534"):
        box.prepare()


def test_a_working_folder_swapped_for_a_link_while_running_is_not_followed(tmp_path: Path) -> None:
    state = state_dir_with_secrets(tmp_path)
    box = inbox(tmp_path)
    for folder in ("processing", "processed", "failed"):  # a member of the inbox group swaps all three
        os.rename(box.path / folder, box.path / f"{folder}.old")
        (box.path / folder).symlink_to(state)
    (box.path / "m.json").write_text('{"text": "x"}', encoding="utf-8")
    (box.path / "bad.json").write_text("{", encoding="utf-8")
    claimed = box.claim("m.json", AT)
    assert claimed is not None
    assert (box.path / "processing.old" / "m.json").exists()
    assert box.leftovers() == [claimed]
    box.finish(claimed, AT)
    assert (box.path / "processed.old" / "2026-11-23" / "m.json").exists()
    bad = box.claim("bad.json", AT)
    assert bad is not None
    box.quarantine(bad, "invalid JSON", AT)
    assert (box.path / "failed.old" / "bad.json.error.txt").exists()
    assert sorted(p.name for p in state.iterdir()) == ["ack.key", "yuqing.db"]


def test_a_leftover_that_is_a_link_is_quarantined_without_reading_its_target(tmp_path: Path) -> None:
    state = state_dir_with_secrets(tmp_path)
    box = inbox(tmp_path)
    (box.processing / "key.json").symlink_to(state / "ack.key")
    [leftover] = box.leftovers()
    with pytest.raises(FileRejected, match="symbolic links"):
        list(read_records(leftover, box.spec, LIMIT, dir_fd=box.fd_of(leftover)))
    box.quarantine(leftover, "symbolic links are not followed", AT)
    assert (box.failed / "key.json").is_symlink()
    assert (state / "ack.key").read_bytes() == b"k" * 32


def test_a_planted_link_in_failed_or_processed_is_never_written_through(tmp_path: Path) -> None:
    state = state_dir_with_secrets(tmp_path)
    box = inbox(tmp_path)
    # failed/ and processed/ are the daemon's (0700 under systemd), but a link planted before a restart
    # or by a careless admin must still never be written through.
    (box.failed / "bad.json.error.txt").symlink_to(state / "ack.key")
    (box.processed / "2026-11-23").symlink_to(state)
    (box.processing / "bad.json").write_text("{", encoding="utf-8")
    target = box.quarantine(box.processing / "bad.json", "invalid JSON", AT)
    assert target.name == "bad.1.json"
    assert (state / "ack.key").read_bytes() == b"k" * 32
    (box.processing / "ok.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"2026-11-23.*symbolic link"):
        box.finish(box.processing / "ok.json", AT)
    assert sorted(p.name for p in state.iterdir()) == ["ack.key", "yuqing.db"]


def test_resumes_are_counted_durably_and_forgotten_once_a_file_is_done(tmp_path: Path) -> None:
    box = inbox(tmp_path)
    for name in ("a.json", "b.json"):
        (box.processing / name).write_text('{"text": "x"}', encoding="utf-8")
    assert box.begin("a.json") == 0  # not found by leftovers(): taken from the inbox just now
    for expected in (1, 2, 3):
        again = inbox(tmp_path)  # a restart: the count is read back from processing/
        assert [p.name for p in again.leftovers()] == ["a.json", "b.json"]
        assert again.begin("a.json") == expected
        assert again.begin("a.json") == 0  # once per scan
    again.not_its_fault("a.json")
    assert json.loads((box.processing / ".resumes.json").read_text(encoding="utf-8")) == {"a.json": 2}
    again.finish(again.processing / "a.json", AT)
    assert not (box.processing / ".resumes.json").exists()
    assert again.begin("b.json") == 1
    os.unlink(box.processing / "b.json")  # taken out by hand
    assert inbox(tmp_path).leftovers() == []
    assert not (box.processing / ".resumes.json").exists()
