"""Labels are well formed, the holdout split is fixed, the tally computes the three figures of the
targets, and grading goes through the example rules as `yuqing explain` does."""

from __future__ import annotations

from pathlib import Path

from bench.eval.grading import Graded, Label, Tally, grade, load_labels, split_of
from bench.eval.sources import Text
from daemon.config import load_config
from rules.model import Level

ROOT = Path(__file__).resolve().parents[3]
AREAS = {"安全生产", "自然灾害", "公共卫生与食品药品", "生态环境", "征地拆迁", "劳资纠纷", "涉法涉诉与社会治安", "教育",
         "医疗", "交通", "干部作风与廉政", "群体性事件与信访", "民生保障", "房地产", "金融风险", "网络谣言"}


def test_every_label_names_an_area_and_a_level_or_a_reason() -> None:
    labels, excluded = load_labels(ROOT / "bench" / "eval" / "labels.jsonl")
    assert len([x for x in labels.values() if x.alert_worthy]) >= 300
    assert all(x.area in AREAS and x.level in {"blue", "yellow", "red"} for x in labels.values() if x.alert_worthy)
    assert all(x.area is None for x in labels.values() if not x.alert_worthy)
    assert all(reason for reason in excluded.values())
    assert not set(labels) & set(excluded)


def test_the_holdout_is_a_fixed_fifth() -> None:
    ids = [f"tnews:unlabeled:{i}" for i in range(5000)]
    held = [i for i in ids if split_of(i) == "holdout"]
    assert 0.17 < len(held) / len(ids) < 0.23
    assert held == [i for i in ids if split_of(i) == "holdout"]


def graded(label: Label, level: Level, part: str = "alert") -> Graded:
    return Graded(Text(label.id, "news", "", ""), label, part, "dev", level, ())


def test_tally_counts_recall_red_and_false_alarms() -> None:
    tally = Tally()
    tally.add(graded(Label("a", "交通", "red"), Level.YELLOW))
    tally.add(graded(Label("b", "交通", "red"), Level.BLUE))
    tally.add(graded(Label("c", "教育", "blue"), Level.NONE))
    tally.add(graded(Label("d", None, "none"), Level.BLUE, "tnews"))
    for i in range(3):
        tally.add(graded(Label(f"e{i}", None, "none"), Level.NONE, "tnews"))
    tally.add(graded(Label("f", None, "none"), Level.RED, "corpus-news-unlabelled"))
    assert tally.found == {"交通": [2, 2], "教育": [0, 1]}
    assert tally.recall == 2 / 3
    assert tally.red_rate == 0.5
    assert [g.label.id for g in tally.red_low] == ["b"]
    assert tally.per_10k == 2500.0  # 1 of the 4 labelled ordinary texts; the unlabelled part apart
    assert tally.per_10k_all == 4000.0
    assert [g.label.id for g in tally.misses] == ["c"]
    assert [g.label.id for g in tally.false_alarms] == ["d"]


def test_grading_uses_the_example_rules_outside_periods() -> None:
    config = load_config(ROOT / "examples" / "config.yaml")
    texts = [
        (Text("t1", "news", "", "工地脚手架坍塌，一名工人当场死亡"), Label("t1", "安全生产", "red"), "alert"),
        (Text("t2", "other", "", "这家店的红烧肉很好吃，下次还来"), Label("t2", None, "none"), "tnews"),
        (Text("t3", "wechat", "", "包工头拖欠工资快半年了，年都过不好"), Label("t3", "劳资纠纷", "blue"), "alert"),
    ]
    result = {g.text.id: (g.level, g.rules) for g in grade(config, texts)}
    assert result["t1"][0] is Level.RED
    assert "work-accident-fatal" in result["t1"][1]
    assert result["t2"] == (Level.NONE, ())
    assert result["t3"][0] is Level.BLUE  # not raised: the fixed moment is outside the Spring Festival
