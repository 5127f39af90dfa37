"""Grade labelled texts with a configuration's rules and sum up recall and false alarms.

Grading goes through the daemon's own rulebook (``Rulebook.evaluate``, what ``yuqing explain`` runs),
at a fixed moment outside every sensitive period, with no store and no notification: a batch with no
side effects besides jieba's dictionary cache in a temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.eval.sources import Text
from daemon.config import Config
from daemon.triage.rulebook import build_rulebook
from rules.model import Level, Message
from rules.text import Analyzer

# 2026-11-20 09:00 Beijing time: no period of examples/periods.yaml is in force, so levels are the
# rules' own, not raised.
AT = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ORDINARY = "none"


@dataclass(frozen=True)
class Label:
    id: str
    area: str | None  # risk area of an alert-worthy text; None for ordinary text
    level: str  # none, blue, yellow or red, by the county's definitions

    @property
    def alert_worthy(self) -> bool:
        return self.level != ORDINARY


def load_labels(path: Path) -> tuple[dict[str, Label], dict[str, str]]:
    """Labels by id, and the ids left out of the set with the reason (abroad, unclear …)."""
    labels: dict[str, Label] = {}
    excluded: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if "exclude" in row:
                excluded[row["id"]] = row["exclude"]
            else:
                labels[row["id"]] = Label(row["id"], row.get("area"), row["level"])
    return labels, excluded


def split_of(text_id: str, holdout_share: float = 0.2) -> str:
    """``holdout`` for a fixed fifth of the ids (by hash), else ``dev``: the same split every run."""
    digest = int(hashlib.sha256(text_id.encode()).hexdigest()[:8], 16)
    return "holdout" if digest / 0xFFFFFFFF < holdout_share else "dev"


@dataclass(frozen=True)
class Graded:
    text: Text
    label: Label
    part: str  # which ordinary corpus, or "alert" for the alert-worthy texts
    split: str
    level: Level
    rules: tuple[str, ...]


def grade(config: Config, items: Iterable[tuple[Text, Label, str]]) -> Iterator[Graded]:
    """Every item through the rules of ``config``; yields as it goes."""
    with tempfile.TemporaryDirectory(prefix="yuqing-eval-") as cache:
        analyzer = Analyzer(dictionary=config.dictionary, cache_dir=Path(cache))
        analyzer.initialize()
        rulebook = build_rulebook(config, analyzer)
        try:
            for text, label, part in items:
                message = Message(id=text.id, source=text.source, text=text.text, title=text.title)
                _analysis, verdict = rulebook.evaluate(analyzer, message, AT)
                yield Graded(text, label, part, split_of(text.id), verdict.level,
                             tuple(m.rule_id for m in verdict.matches))
        finally:
            rulebook.close()


@dataclass
class Tally:
    """Counts for one split."""

    found: dict[str, list[int]] = field(default_factory=dict)  # area -> [graded, total]
    red: list[int] = field(default_factory=lambda: [0, 0])  # red labels graded red or yellow, total
    alarms: dict[str, list[int]] = field(default_factory=dict)  # ordinary part -> [graded, total]
    misses: list[Graded] = field(default_factory=list)
    false_alarms: list[Graded] = field(default_factory=list)
    red_low: list[Graded] = field(default_factory=list)

    def add(self, item: Graded) -> None:
        raised = item.level is not Level.NONE
        if item.label.alert_worthy:
            area = self.found.setdefault(item.label.area or "?", [0, 0])
            area[0] += raised
            area[1] += 1
            if not raised:
                self.misses.append(item)
            if item.label.level == "red":
                high = item.level in (Level.RED, Level.YELLOW)
                self.red[0] += high
                self.red[1] += 1
                if not high:
                    self.red_low.append(item)
        else:
            part = self.alarms.setdefault(item.part, [0, 0])
            part[0] += raised
            part[1] += 1
            if raised and not item.part.endswith("-unlabelled"):
                self.false_alarms.append(item)

    @property
    def recall(self) -> float:
        graded, total = (sum(v[i] for v in self.found.values()) for i in (0, 1))
        return graded / total if total else 0.0

    @property
    def red_rate(self) -> float:
        return self.red[0] / self.red[1] if self.red[1] else 0.0

    def per_10k_of(self, parts: Iterable[str]) -> float:
        chosen = [self.alarms[p] for p in parts if p in self.alarms]
        graded, total = (sum(v[i] for v in chosen) for i in (0, 1))
        return 10_000 * graded / total if total else 0.0

    @property
    def per_10k(self) -> float:
        """False alarms per 10,000 texts labelled ordinary (parts named ``*-unlabelled`` left out)."""
        return self.per_10k_of(p for p in self.alarms if not p.endswith("-unlabelled"))

    @property
    def per_10k_all(self) -> float:
        """The same with the unlabelled parts counted as ordinary: an upper bound."""
        return self.per_10k_of(self.alarms)
