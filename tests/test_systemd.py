"""The unit file holds what docs/deploy.md promises: hardened (exposure <= 2.0) and valid."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "yuqing.service"

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


def test_exposure_is_at_most_2() -> None:
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(UNIT)],
                         capture_output=True, text=True, timeout=60, check=False).stdout
    match = re.search(r"Overall exposure level for yuqing.service: (\d+\.\d+)", out)
    assert match, out[-2000:]
    assert float(match.group(1)) <= 2.0


def test_verify_reports_only_the_missing_executable() -> None:
    result = subprocess.run(["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True,
                            timeout=60, check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert all("/opt/yuqing/bin/yuqing" in line for line in lines), lines


def test_unit_is_type_notify_with_watchdog_and_reload() -> None:
    text = UNIT.read_text(encoding="utf-8")
    for setting in ("Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "User=yuqing",
                    "StateDirectory=yuqing", "CacheDirectory=yuqing", "ConfigurationDirectory=yuqing",
                    "Environment=YUQING_CACHE_DIR=%C/yuqing"):
        assert setting in text, setting
