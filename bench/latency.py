"""``python -m bench.latency [--rate R] [--seconds S]``: from a file renamed into the inbox to the alert.

A real daemon (``yuqing run``) with ``group_wait: 0`` delivers every red alert to an SMTP server
(aiosmtpd) and a webhook, both on 127.0.0.1 in this process. Messages are dropped into its inbox the way
collectors must (written in a folder of their own, then renamed in) at a steady rate; each is a story
of its own (another village, another kind of accident), so each opens its own incident and gets its own
notification. For each
message the time from its rename to the moment the webhook server and the SMTP server accepted the
notification naming it is taken; printed: p50/p95/p99/max per channel, the rate asked for and the rate
held, and how many alerts arrived. Goal: p99 <= 1 s at 20 messages a second.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
RULES = """\
keywords:
  事故: [爆炸, 坍塌, 起火, 透水, 泄漏]
  伤亡: [死亡, 身亡, 遇难]
rules:
  - id: deadly-accident
    title: 事故致人死亡
    category: 安全生产
    level: red
    when: {all: [事故, 伤亡]}
"""
TOWNS = "桃河青柳松白梅龙石金云凤"
SECOND = "源湾石林岗沙岭潭门溪台鸣山川田坪岩塘桥口湖坝峪洲庄营寨堡店铺集"
KINDS = ("燃气爆炸", "厂房坍塌", "仓库起火", "矿井透水", "化工厂泄漏")
TAG = re.compile(r"L(\d{6})")  # each message carries its number; the alert's excerpt repeats it


def village(i: int) -> str:
    """A village of its own for every message (the county dictionary names them all): a site that no
    other message names keeps stories apart, however alike the wording (daemon/incidents/clustering.py)."""
    return f"{TOWNS[i % len(TOWNS)]}{SECOND[(i // len(TOWNS)) % len(SECOND)]}{'上下东西'[i // 360 % 4]}村"


def text(i: int) -> str:
    kind = KINDS[i % len(KINDS)]
    return f"{village(i)}今天发生{kind}，已有{i % 7 + 2}人死亡，编号L{i:06d}"


class Arrivals:
    """Monotonic arrival times of each tagged alert, per channel."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at: dict[str, dict[int, float]] = {"webhook": {}, "smtp": {}}

    def seen(self, channel: str, body: str) -> None:
        now = time.monotonic()
        with self.lock:
            for number in TAG.findall(body):
                self.at[channel].setdefault(int(number), now)


def start_webhook(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrivals.seen("webhook", json.loads(body).get("message", ""))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class SmtpHandler:
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        parts = [mail.get("Subject", "")]
        for part in mail.walk():
            if part.get_content_type() == "text/plain":
                parts.append(part.get_content())
        self.arrivals.seen("smtp", "\n".join(parts))
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def county(root: Path, smtp_port: int, hook_port: int, count: int) -> Path:
    (root / "dict.txt").write_text("".join(f"{village(i)} ns\n" for i in range(count)), encoding="utf-8")
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "r.yaml").write_text(RULES, encoding="utf-8")
    (root / "notify.yaml").write_text(textwrap.dedent(f"""\
        channels:
          email: "mailto://127.0.0.1:{smtp_port}?from=alerts@example.gov.cn&mode=insecure&cto=5&rto=5"
          hook: "json://127.0.0.1:{hook_port}/hook?rto=5"
        people: {{zhang: {{name: 张三, role: 值班员, phone: "13800000001", email: zhang@example.gov.cn}}}}
        teams: {{值班: [zhang]}}
        group_wait: 0
        policies:
          red: [{{notify: [值班], via: [hook, email], deadline: 30m}}]
        """), encoding="utf-8")
    (root / "config.yaml").write_text("state_dir: ./var\ninbox: [{path: ./var/inbox, source: weibo}]\n"
                                      "rules: ./rules\nnotify: ./notify.yaml\ndictionary: ./dict.txt\n",
                                      encoding="utf-8")
    (root / "var" / "inbox").mkdir(parents=True)
    (root / "var" / "staging").mkdir()
    return root / "config.yaml"


def wait_ready(proc: subprocess.Popen[str], keep: Path | None, timeout: float = 60) -> None:
    """Block until the daemon logs ``service.ready``; its log is drained on a thread from then on (and
    written to ``keep``)."""
    ready = threading.Event()

    def follow() -> None:
        with open(keep or os.devnull, "w", encoding="utf-8") as out:
            for line in proc.stderr or ():
                out.write(line)
                if "service.ready" in line:
                    ready.set()

    threading.Thread(target=follow, daemon=True).start()
    if not ready.wait(timeout):
        raise SystemExit("the daemon did not become ready")


def drop_at_rate(inbox: Path, count: int, rate: float) -> tuple[dict[int, float], float]:
    """Rename ``count`` messages into the inbox, one every 1/rate s; their rename times, and the rate held."""
    dropped: dict[int, float] = {}
    start = time.monotonic()
    for i in range(count):
        due = start + i / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        tmp = inbox.parent / "staging" / f"m{i:06d}.json"  # a collector's own folder, as docs/ingest.md asks
        tmp.write_text(json.dumps({"id": f"lat-{i}", "text": text(i)}, ensure_ascii=False), encoding="utf-8")
        os.rename(tmp, inbox / f"m{i:06d}.json")
        dropped[i] = time.monotonic()
    elapsed = time.monotonic() - start
    return dropped, (count - 1) / elapsed if elapsed > 0 else float("inf")


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "no data"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return (f"p50 {cuts[49]:.3f} s  p95 {cuts[94]:.3f} s  p99 {cuts[98]:.3f} s  max {max(values):.3f} s"
            f"  ({len(values)} alerts)")


def run(rate: float, seconds: float, keep: Path | None = None, root_dir: Path = ROOT) -> None:
    arrivals = Arrivals()
    webhook = start_webhook(arrivals)
    smtp_port = free_port()
    controller = Controller(SmtpHandler(arrivals), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    count = max(2, int(rate * seconds))
    with tempfile.TemporaryDirectory(prefix="yuqing-latency-") as tmp:
        root = Path(tmp)
        config = county(root, smtp_port, webhook.server_address[1], count)
        proc = subprocess.Popen([sys.executable, "-m", "daemon", "run", "-c", str(config)], cwd=root_dir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_ready(proc, keep)
            dropped, held = drop_at_rate(root / "var" / "inbox", count, rate)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and min(len(a) for a in arrivals.at.values()) < count:
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            controller.stop()
            webhook.shutdown()
    print(f"rate asked {rate:.1f} msg/s, held {held:.1f} msg/s, {count} messages, group_wait 0")
    for channel, seen in arrivals.at.items():
        latencies = [seen[i] - dropped[i] for i in dropped if i in seen]
        print(f"  {channel:8} {percentiles(latencies)}; missing {count - len(latencies)}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, action="append", help="messages a second (repeatable; 1, 5, 20)")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long each rate is held")
    parser.add_argument("--log", type=Path, help="keep the daemon's log of the last rate in this file")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="also run the daemon of another checkout (e.g. a git worktree of an older commit) "
                             "at each rate, right after this one, for a side-by-side comparison")
    args = parser.parse_args()
    for rate in args.rate or [1.0, 5.0, 20.0]:
        print("this checkout:", end=" ")
        run(rate, args.seconds, args.log)
        if args.against:
            print(f"{args.against}:", end=" ")
            run(rate, args.seconds, None, args.against.resolve())


if __name__ == "__main__":
    main()
