"""Checks of a loaded rule set against the other files: teams of notify.yaml, periods of periods.yaml.

The rule files load on their own; these need the other files too, so ``yuqing check`` runs them.
"""

from __future__ import annotations

from collections.abc import Collection

from rules.errors import Problem, did_you_mean
from rules.model import RuleSet


def check_teams(ruleset: RuleSet, teams: Collection[str]) -> list[Problem]:
    """Every ``notify`` team must be a team of notify.yaml: a misspelt one would notify nobody."""
    problems = []
    for rule in ruleset.rules:
        for index, team in enumerate(rule.notify):
            if team not in teams:
                where = rule.notify_at[index] if index < len(rule.notify_at) else rule.location
                problems.append(Problem(f'unknown team "{team}" in notify of rule {rule.id}'
                                        f"{did_you_mean(team, teams)}", where))
    return problems


def check_periods(ruleset: RuleSet, names: Collection[str]) -> list[Problem]:
    """Every period a rule names must be in periods.yaml: an unknown one is never in force."""
    return [
        Problem(f'unknown period "{name}" in rule {rule.id}{did_you_mean(name, names)}', rule.location)
        for rule in ruleset.rules for name in sorted(rule.when.period or ()) if name not in names
    ]
