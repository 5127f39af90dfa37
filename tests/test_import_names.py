"""``daemon``, ``rules`` and ``channels`` are also PyPI projects' import names (python-daemon, django-rules,
Django Channels): a namesake earlier on sys.path, or installed over ours, stops ``yuqing`` with a message
naming it, before any of its code runs (yuqing_sentinel.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yuqing_sentinel

ROOT = Path(__file__).resolve().parent.parent
FOREIGN = 'raise SystemExit("foreign code ran")  # a namesake: never imported by the check\n'
# What pip's generated `yuqing` script does.
CONSOLE_SCRIPT = "import sys; from yuqing_sentinel import main; sys.exit(main(['--help']))"


def fake_package(parent: Path, name: str) -> Path:
    (parent / name).mkdir(parents=True)
    (parent / name / "__init__.py").write_text(FOREIGN, encoding="utf-8")
    return parent / name


def run(args: list[str], cwd: Path, pythonpath: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_this_checkout_is_all_its_own() -> None:
    assert yuqing_sentinel.foreign_packages() == []


def test_a_rules_package_earlier_on_the_path_is_named_and_never_run(tmp_path: Path) -> None:
    fake = fake_package(tmp_path / "elsewhere", "rules")
    done = run(["-m", "daemon", "check", "-c", str(tmp_path / "config.yaml")], tmp_path,
               [tmp_path / "elsewhere", ROOT])
    assert done.returncode == 1
    assert f"error: `rules` is imported from {fake}, not from {ROOT / 'rules'}" in done.stderr
    assert done.stderr.count("error:") == 1  # daemon and channels are this checkout's
    assert "foreign code ran" not in done.stderr
    assert "Traceback" not in done.stderr


def test_python_daemon_earlier_on_the_path_is_named_by_the_console_script(tmp_path: Path) -> None:
    fake = fake_package(tmp_path / "elsewhere", "daemon")
    done = run(["-c", CONSOLE_SCRIPT], tmp_path, [tmp_path / "elsewhere", ROOT])
    assert done.returncode == 1
    assert f"error: `daemon` is imported from {fake}, not from {ROOT / 'daemon'}" in done.stderr
    assert "foreign code ran" not in done.stderr
    assert "Traceback" not in done.stderr


def test_a_namesake_installed_over_ours_in_the_same_folder_is_named(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    shutil.copy(ROOT / "yuqing_sentinel.py", site)
    for name in ("daemon", "rules"):
        (site / name).symlink_to(ROOT / name)
    fake_package(site, "channels")  # Django Channels' __init__.py over ours
    done = run(["-c", CONSOLE_SCRIPT], tmp_path, [site])
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {site / 'channels' / '__init__.py'} is another project's file")
    assert "foreign code ran" not in done.stderr


def test_the_console_script_runs_the_cli_when_all_is_well(tmp_path: Path) -> None:
    done = run(["-c", CONSOLE_SCRIPT], tmp_path, [ROOT])
    assert done.returncode == 0, done.stderr
    assert "yuqing-sentinel" in done.stdout
