"""config.yaml ``review``: the recall net (待研判) for messages no rule matched.

```yaml
review: {model: ./review-model.json, threshold: 0.55}  # both optional; without `model` the built-in lexicon
review: {enabled: false}                              # no review list at all
```
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rules.errors import ConfigError, Problem
from rules.reviewnet import DEFAULT_THRESHOLD, load_model
from rules.yamlsrc import Node, check_keys

REVIEW_KEYS = ("enabled", "model", "threshold")


@dataclass(frozen=True)
class ReviewSpec:
    enabled: bool = True
    model: Path | None = None  # None: the built-in lexicon scorer
    threshold: float = DEFAULT_THRESHOLD


def parse_review(node: Node | None, path: Callable[[Node | None], Path | None],
                 problems: list[Problem]) -> ReviewSpec:
    """The settings (defaults when ``review`` is absent). A model file that cannot be used is a problem
    here, so `yuqing check` reports it before a restart does. Problems are appended, not raised."""
    if node is None or node.is_null:
        return ReviewSpec()
    try:
        problems.extend(check_keys(node, REVIEW_KEYS, "review"))
        entries = node.mapping("review settings")
        enabled = entries["enabled"].bool() if "enabled" in entries else True
        model = path(entries.get("model"))
        threshold = _threshold(entries.get("threshold"), problems)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return ReviewSpec()
    if enabled and model is not None:
        try:
            load_model(model)
        except ConfigError as exc:
            problems.extend(exc.problems)
    return ReviewSpec(enabled, model, threshold)


def _threshold(node: Node | None, problems: list[Problem]) -> float:
    if node is None or node.is_null:
        return DEFAULT_THRESHOLD
    value = node.scalar()
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        problems.append(node.problem(f"review.threshold must be a number above 0 and at most 1, got {value!r}"))
        return DEFAULT_THRESHOLD
    return float(value)
