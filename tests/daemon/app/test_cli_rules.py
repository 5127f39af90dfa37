"""`yuqing periods`, `yuqing explain --verbose` near misses and `yuqing check` on notify teams, run through
the CLI entry point against a copy of the example configuration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from daemon.app.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def county(tmp_path: Path) -> Path:
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("var", "inbox-samples"))
    return target


def test_periods_prints_the_resolved_dates(county: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["periods", "-c", str(county / "config.yaml"), "--year", "2027"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "春节      2027-01-30 .. 2027-02-20  raise 1",
        "全国两会  2027-03-03 .. 2027-03-15  raise 1",
        "清明      2027-04-03 .. 2027-04-06  raise 1",
        "国庆      2027-10-01 .. 2027-10-07  raise 1",
    ]
    assert main(["periods", "-c", str(county / "config.yaml"), "--year", "2026", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["year"] == 2026
    assert found["periods"][-1] == {"name": "县人代会", "start": "2026-12-20", "end": "2026-12-23", "raise": 2,
                                    "written": "2026-12-20..2026-12-23"}


def test_explain_verbose_lists_near_misses(county: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (county / "periods.yaml").write_text("periods: []\n", encoding="utf-8")
    sample = tmp_path / "m.json"
    sample.write_text(json.dumps({"id": "m1", "source": "weibo", "text": "河湾村拆迁户在县政府门口聚集，要求补偿款",
                                  "metrics": {"reposts": 20}}, ensure_ascii=False), encoding="utf-8")
    assert main(["explain", "-c", str(county / "config.yaml"), str(sample)]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "near_misses" not in plain
    assert main(["explain", "--verbose", "-c", str(county / "config.yaml"), str(sample)]) == 0
    verbose = json.loads(capsys.readouterr().out.splitlines()[-1])
    missed = {m["rule"]: m["failed"] for m in verbose["near_misses"]}
    assert missed["land-mass-gathering"] == ["spread: reposts 20 is not >= 100"]
    assert missed["land-gathering-onsite"] == ["sources: weibo not in news, hotline, grid"]
    assert "gas-leak" not in missed  # no keyword of it was found: not a near miss
    assert set(missed).isdisjoint(verbose["rules"])


def test_check_names_an_unknown_notify_team(county: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = county / "rules" / "land.yaml"
    text = rules.read_text(encoding="utf-8").replace("notify: [政法委]", "notify: [政法为]")
    rules.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    notify: [政法为]") + 1
    assert main(["check", "-c", str(county / "config.yaml")]) == 1
    out = capsys.readouterr().out
    assert f'{rules}:{line}:14: error: unknown team "政法为" in notify of rule land-forced-demolition ' \
           '(did you mean "政法委"?)' in out.splitlines()


def test_check_names_unknown_report_teams_and_channels(county: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = county / "config.yaml"
    text = config.read_text(encoding="utf-8").replace("to: [领导小组], via: [email]", "to: [领导小祖], via: [emial]")
    config.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("reports:"))
    assert main(["check", "-c", str(config)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f'{config}:{line}:53: error: unknown team "领导小祖" in reports.to (did you mean "领导小组"?)' in out
    assert f'{config}:{line}:66: error: unknown channel "emial" in reports.via (did you mean "email"?)' in out


def test_explain_shows_suppressed_rules_and_the_place(county: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (county / "periods.yaml").write_text("periods: []\n", encoding="utf-8")
    shutil.rmtree(county / "rules")  # one rule of our own: the example library changes more often
    (county / "rules").mkdir()
    (county / "rules" / "blast.yaml").write_text(
        "rules:\n  - {id: blast, level: red, when: {all: [爆炸]}}\n", encoding="utf-8")
    sample = tmp_path / "m.jsonl"
    sample.write_text("\n".join(json.dumps({"id": f"m{i}", "source": "weibo", "text": text}, ensure_ascii=False)
                                for i, text in enumerate([
                                    "桃源镇化工厂发生爆炸，有人员伤亡",
                                    "桃源镇化工厂并未发生爆炸，网传消息不实",
                                    "河南省郑州市化工厂发生爆炸，有人员伤亡",
                                    "今天天气不错"])), encoding="utf-8")
    assert main(["explain", "-c", str(county / "config.yaml"), str(sample)]) == 0
    local, negated, elsewhere, plain = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (local["place"], local["suppressed"], local["level"]) == ("local", [], "red")
    assert negated["level"] == "none"
    assert negated["suppressed"] == [{"rule": "blast", "reason": "negated: 并未 爆炸"}]
    assert (elsewhere["place"], elsewhere["level"]) == ("elsewhere", "yellow")
    assert "place: elsewhere (河南省, 郑州市): red → yellow" in elsewhere["reasons"]
    assert (plain["place"], plain["suppressed"], plain["level"]) == ("unknown", [], "none")


def test_check_rules_checks_a_copy_of_the_rules_folder(county: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    edited = tmp_path / "rules.new"
    shutil.copytree(county / "rules", edited)
    broken = edited / "land.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("notify: [政法委]", "notify: [政法为]"),
                      encoding="utf-8")
    assert main(["check", "-c", str(county / "config.yaml"), "--rules", str(edited)]) == 1
    assert f"{broken}:" in capsys.readouterr().out  # the copy is checked …
    assert main(["check", "-c", str(county / "config.yaml")]) == 0  # … and the config's own folder is untouched
