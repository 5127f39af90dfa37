"""``ladder:``: one rule grading in steps by spread."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.errors import ConfigError
from rules.loader import load_rules

RULE = """\
rules:
  - id: land
    title: 拆迁
    level: blue
    when: {{all: [拆迁]}}
    ladder:
{steps}
"""


def load(tmp_path: Path, steps: str) -> list[tuple[str, str, list[str]]]:
    (tmp_path / "a.yaml").write_text(RULE.format(steps=steps), encoding="utf-8")
    ruleset, _ = load_rules(tmp_path)
    return [(r.id, str(r.level), [str(c) for c in r.when.spread]) for r in ruleset.rules]


def test_each_step_is_the_rule_with_more_spread(tmp_path: Path) -> None:
    steps = '      - {level: yellow, spread: {platforms: ">= 3", reposts: 1000}}\n' \
            '      - {level: red, spread: {platforms: ">= 6"}}'
    assert load(tmp_path, steps) == [
        ("land", "blue", []),
        ("land.yellow", "yellow", ["platforms >= 3", "reposts >= 1000"]),
        ("land.red", "red", ["platforms >= 6"]),
    ]


@pytest.mark.parametrize(("steps", "message"), [
    ('      - {level: blue, spread: {platforms: 2}}', "7:17: error: ladder levels must rise: blue is not above blue"),
    ('      - {level: red, spread: {platforms: 3}}\n      - {level: yellow, spread: {platforms: 2}}',
     "8:17: error: ladder levels must rise: yellow is not above red"),
    ('      - {level: yellow, sprad: {platforms: 2}}',
     '7:25: error: unknown field "sprad" in ladder step (did you mean "spread"?)'),
    ('      - {level: yellow, spread: {platfroms: 2}}',
     '7:34: error: unknown spread field "platfroms" (did you mean "platforms"?)'),
])
def test_ladder_errors_name_their_place(tmp_path: Path, steps: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, steps)
    assert f"{tmp_path / 'a.yaml'}:{message}" in [str(p) for p in caught.value.problems]
