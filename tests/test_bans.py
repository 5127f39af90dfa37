"""The lint bans pyproject.toml and rules/ruff.toml, channels/ruff.toml declare hold where they should:
the wall clock is read only in daemon/clock.py, and rules/ and channels/ never import daemon/.

Each probe is checked by ruff as if it were a file at the given path (``--stdin-filename``), so the
per-folder configuration and the per-file exemptions are what is tested, not a copy of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CLOCK_READS = [
    "from datetime import datetime\n\nx = datetime.now()\n",
    "from datetime import UTC, datetime\n\nx = datetime.now(UTC)\n",
    "import datetime as dt\n\nx = dt.datetime.now(dt.UTC)\n",
    "from datetime import datetime\n\nx = datetime.utcnow()\n",
    "from datetime import date\n\nx = date.today()\n",
    "import time\n\nx = time.time()\n",
    "import time\n\nx = time.time_ns()\n",
    "import time\n\nx = time.localtime()\n",
    "from time import time\n\nx = time()\n",
    # a default that reads the clock when nobody passes the time
    "from collections.abc import Callable\nimport time\n\n\ndef f(now: Callable[[], float] = time.time) -> float:\n"
    "    return now()\n",
    "from email.utils import formatdate\n\nx = formatdate(localtime=True)\n",
]
DAEMON_IMPORTS = ["import daemon.clock\n", "from daemon.clock import Clock\n", "from daemon import clock\n"]


def banned(source: str, path: str) -> list[str]:
    """The TID251 findings of ruff for ``source`` checked as the file ``path`` of this project."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251", "--output-format", "concise",
         "--stdin-filename", path, "-"],
        input=source, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert result.returncode in (0, 1), result.stderr
    return [line for line in result.stdout.splitlines() if "TID251" in line]


@pytest.mark.parametrize("source", CLOCK_READS)
@pytest.mark.parametrize("path", ["daemon/ingest/probe.py", "daemon/app/service.py", "rules/probe.py",
                                  "channels/probe.py"])
def test_a_clock_read_outside_daemon_clock_is_caught(source: str, path: str) -> None:
    assert banned(source, path)


@pytest.mark.parametrize("path", ["daemon/clock.py", "tests/daemon/probe.py", "bench/probe.py"])
def test_daemon_clock_tests_and_bench_may_read_the_clock(path: str) -> None:
    assert banned("".join(CLOCK_READS[:2]), path) == []


@pytest.mark.parametrize("path", ["daemon/app/probe.py", "rules/probe.py", "channels/probe.py"])
def test_measuring_durations_stays_allowed(path: str) -> None:
    source = "import time\n\na = time.monotonic()\nb = time.perf_counter()\ntime.sleep(0)\n"
    assert banned(source, path) == []


@pytest.mark.parametrize("source", DAEMON_IMPORTS)
@pytest.mark.parametrize("path", ["rules/probe.py", "channels/probe.py"])
def test_rules_and_channels_may_not_import_daemon(source: str, path: str) -> None:
    assert banned(source, path)


@pytest.mark.parametrize("path", ["daemon/app/probe.py", "tests/rules/probe.py"])
def test_daemon_and_tests_import_daemon(path: str) -> None:
    assert banned("".join(DAEMON_IMPORTS), path) == []


def test_the_code_keeps_both_bans() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251", "--output-format", "concise",
         "daemon", "rules", "channels"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
