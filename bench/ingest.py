"""``python -m bench.ingest [--files N] [--records N]``: the real daemon under a burst of files.

1. N files (default 10,000) are dropped into a running daemon's inbox at once (temp name, rename).
   Reported: files/s, seconds from the last drop to the last verdict, and whether every file was
   processed exactly once (processed/ holds each once, nothing left, the store holds each message once).
2. One JSONL file of N records (default 100,000) through ``yuqing run --once``: peak RSS of that
   process against the peak RSS of the same run on a one-record file. Streaming keeps them close.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = """\
keywords:
  聚集: [聚集, 围堵, 堵路, 上访]
rules:
  - {id: petition, title: 群众上访, category: 信访, level: blue, when: {all: [聚集]}}
"""
TEXTS = ("村民在镇政府门口聚集，要求解决补偿问题", "今天城区天气晴，适合出行", "网友反映小区物业收费不透明",
         "学校门口道路拥堵，家长希望增加交警", "夜市摊贩占道经营，居民投诉噪音")


def setup(root: Path) -> Path:
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "r.yaml").write_text(RULES, encoding="utf-8")
    (root / "notify.yaml").write_text(textwrap.dedent("""\
        channels: {local: "jsonl://./var/notifications.jsonl"}
        people: {zhang: {name: 张三, role: 值班员, phone: "13800000001"}}
        teams: {值班: [zhang]}
        policies:
          blue: [{digest: daily, notify: [值班], via: [local]}]
        """), encoding="utf-8")
    (root / "config.yaml").write_text("state_dir: ./var\ninbox: [{path: ./var/inbox, source: grid}]\n"
                                      "rules: ./rules\nnotify: ./notify.yaml\n", encoding="utf-8")
    (root / "var" / "inbox").mkdir(parents=True)
    return root / "config.yaml"


def record(i: int) -> str:
    return json.dumps({"id": f"b{i}", "source": "weibo", "text": f"{TEXTS[i % len(TEXTS)]}（{i}）"},
                      ensure_ascii=False)


def count_events(log: Path, name: str) -> int:
    try:
        return log.read_text(encoding="utf-8", errors="replace").count(f'"event": "{name}"')
    except FileNotFoundError:
        return 0


def burst(files: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = setup(root)
        inbox = root / "var" / "inbox"
        log = root / "daemon.log"
        with log.open("w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "daemon", "run", "-c", str(config)], cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=err)
        try:
            while count_events(log, "service.ready") < 1:
                if proc.poll() is not None:
                    raise SystemExit("the daemon did not start:\n" + log.read_text(encoding="utf-8"))
                time.sleep(0.1)
            first_drop = time.monotonic()
            for i in range(files):
                tmp_name = inbox / f".m{i}.json.tmp"
                tmp_name.write_text(record(i), encoding="utf-8")
                os.rename(tmp_name, inbox / f"m{i}.json")
            last_drop = time.monotonic()
            while (graded := count_events(log, "message.graded")) < files:
                if time.monotonic() - last_drop > 600:
                    break
                time.sleep(0.05)
            last_verdict = time.monotonic()
            while count_events(log, "file.processed") < files and time.monotonic() - last_verdict < 30:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        processed = [p.name for p in (inbox / "processed").rglob("*.json")]
        db = sqlite3.connect(root / "var" / "yuqing.db")
        stored = db.execute("SELECT count(*), count(DISTINCT id) FROM messages").fetchone()
        db.close()
        left = [p for p in inbox.iterdir() if p.is_file()] + list((inbox / "processing").iterdir())
        return {
            "files": files, "graded": graded, "processed": len(processed),
            "processed_once": len(processed) == len(set(processed)) == files,
            "left_in_inbox": len(left), "failed": len(list((inbox / "failed").iterdir())),
            "stored_messages": stored[0], "stored_once": stored[0] == stored[1] == files,
            "drop_s": round(last_drop - first_drop, 2),
            "files_per_s": round(files / (last_verdict - first_drop), 1),
            "last_drop_to_last_verdict_s": round(last_verdict - last_drop, 2),
        }


def once_rss(records: int) -> tuple[float, int]:
    """(seconds, peak RSS in MB) of ``yuqing run --once`` over one JSONL file of ``records`` lines."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = setup(root)
        with (root / "var" / "inbox" / "big.jsonl").open("w", encoding="utf-8") as fh:
            for i in range(records):
                fh.write(record(i) + "\n")
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "daemon", "run", "-c", str(config), "--once"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"yuqing run --once failed with {proc.returncode}")
        db = sqlite3.connect(root / "var" / "yuqing.db")
        stored = db.execute("SELECT count(DISTINCT id) FROM messages").fetchone()[0]
        db.close()
        if stored != records:
            raise SystemExit(f"{stored} of {records} records stored")
        return time.monotonic() - started, usage.ru_maxrss // 1024  # Linux reports KB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args(argv)
    result = burst(args.files)
    print(f"burst: {result['files']} files dropped in {result['drop_s']} s; {result['files_per_s']} files/s; "
          f"last drop → last verdict {result['last_drop_to_last_verdict_s']} s; "
          f"processed once: {result['processed_once']}; stored once: {result['stored_once']}; "
          f"left: {result['left_in_inbox']}; failed: {result['failed']}")
    _, base_rss = once_rss(1)
    seconds, rss = once_rss(args.records)
    result.update(jsonl_records=args.records, jsonl_s=round(seconds, 1), jsonl_peak_rss_mb=rss,
                  one_record_peak_rss_mb=base_rss)
    print(f"jsonl: {args.records} records in {seconds:.1f} s ({args.records / seconds:.0f}/s); "
          f"peak RSS {rss} MB (one record: {base_rss} MB)")
    print(json.dumps(result, ensure_ascii=False))
    ok = result["processed_once"] and result["stored_once"] and not result["left_in_inbox"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
