"""待研判 in the daemon: which messages the net flags, how they are kept and listed, and the report's
section. The daemon end to end is tests/e2e/test_review.py."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook

from daemon.config.review import ReviewSpec
from daemon.reports.figures import build_report, period_for
from daemon.reports.render import render
from daemon.store import Store
from daemon.triage.review import ReviewNet, build_review_net, explain_fields, items, labelled, record_review
from rules.model import Level, Location, Message, RuleMatch, Verdict
from rules.reviewnet import DEFAULT_THRESHOLD, LexiconScorer, ReviewScore
from tests.daemon.seed_reports import DAY, message, notify_config, seed

NET = ReviewNet(LexiconScorer(), DEFAULT_THRESHOLD)
COLLAPSE = Message(id="m1", source="weibo", text="城南工地脚手架坍塌，好几个工人被压在下面，消防正在救援")
ORDINARY = Message(id="m2", source="weibo", text="今天天气不错，带孩子去公园放风筝了")
NONE = Verdict(Level.NONE)
BLUE = Verdict(Level.BLUE, (RuleMatch("r", "规则", "类", Level.BLUE, Level.BLUE, (), Location("r.yaml", 1, 1)),))


class Broken:
    """A scorer that fails on some text."""

    name = "broken"

    def score(self, text: str) -> ReviewScore:
        raise ValueError(f"cannot read {text[:5]}")


def test_only_messages_graded_none_and_scoring_at_the_threshold_are_flagged() -> None:
    flagged = NET.assess(COLLAPSE, NONE)
    assert flagged is not None
    assert flagged.score >= 0.55
    assert NET.assess(COLLAPSE, BLUE) is None  # the rules decided: it alerts as an incident
    assert NET.assess(ORDINARY, NONE) is None
    assert ReviewNet(LexiconScorer(), 0.999).assess(COLLAPSE, NONE) is None


def test_a_scorer_failing_on_a_message_loses_nothing() -> None:
    assert ReviewNet(Broken(), 0.5).assess(COLLAPSE, NONE) is None


def test_enabled_false_means_no_net_and_the_default_is_the_lexicon() -> None:
    assert build_review_net(ReviewSpec(enabled=False)) is None
    net = build_review_net(ReviewSpec())
    assert net is not None
    assert net.scorer.name == "lexicon"
    assert net.threshold == DEFAULT_THRESHOLD == 0.55


def test_explain_says_review_and_score_for_messages_graded_none_only() -> None:
    fields = explain_fields(NET, COLLAPSE, NONE)
    assert fields["review"] is True
    assert isinstance(fields["review_score"], float)
    assert "坍塌" in fields["review_features"]  # type: ignore[operator]
    assert explain_fields(NET, ORDINARY, NONE)["review"] is False
    assert explain_fields(NET, COLLAPSE, BLUE) == {}
    assert explain_fields(None, COLLAPSE, NONE) == {}


def test_reviews_are_kept_and_listed_newest_first_within_a_span(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    for hour, mid in ((9, "early"), (11, "late"), (30, "next-day")):
        at = DAY + timedelta(hours=hour)
        message(store, mid, "weibo", at, None)
        with store.transaction() as db:
            record_review(db, mid, ReviewScore(0.7, (("坍塌", 3.0), ("工人", 1.0))), "lexicon", at)
    listed = items(store, DAY, DAY + timedelta(days=1))
    assert [item.message_id for item in listed] == ["late", "early"]
    assert listed[0].features == ("坍塌", "工人")
    assert listed[0].text == "text late"
    assert [item.message_id for item in items(store, limit=1)] == ["next-day"]


def test_the_daily_report_has_a_review_section_text_and_sheet(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    at = DAY + timedelta(hours=15)
    message(store, "flagged", "douyin", at, None, url="https://www.douyin.com/video/1")
    with store.transaction() as db:
        record_review(db, "flagged", ReviewScore(0.81, (("坍塌", 3.0),)), "lexicon", at)
    report = build_report(store, period_for("daily", DAY.date() + timedelta(days=1)), at + timedelta(days=1),
                          notify_config())
    assert [item.message_id for item in report.reviews] == ["flagged"]
    rendered = render(report)
    assert "六、待研判信息" in rendered.html
    assert "https://www.douyin.com/video/1" in rendered.html
    assert "待研判：1条" in rendered.text
    assert "text flagged（douyin，坍塌）" in rendered.text
    sheet = load_workbook(io.BytesIO(rendered.xlsx))["待研判"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][1:3] == ("douyin", "flagged")
    assert rows[1][-2:] == ("坍塌", 0.81)
    # No review: the section says so, and nothing about it reaches the text.
    empty = render(build_report(store, period_for("daily", DAY.date() - timedelta(days=3)), at, notify_config()))
    assert "本期无待研判信息" in empty.html
    assert "待研判" not in empty.text


def test_the_export_labels_stories_people_acted_on_1_and_plain_posts_0(tmp_path: Path) -> None:
    store, _ = seed(tmp_path / "s.db")
    at = DAY + timedelta(hours=16)
    for mid in ("plain1", "plain2", "plain3", "flagged"):
        message(store, mid, "weibo", at, None)
    with store.transaction() as db:
        record_review(db, "flagged", ReviewScore(0.7), "lexicon", at)
    rows = labelled(store, DAY - timedelta(days=2), ordinary=2)
    # gas was acknowledged and resolved, wages acknowledged; the hotline story came back (回潮) and is open.
    assert {row["id"] for row in rows if row["label"] == 1} == {"w1", "d1", "w2", "k1"}
    plain = [row["id"] for row in rows if row["label"] == 0]
    assert len(plain) == 2
    assert set(plain) <= {"plain1", "plain2", "plain3"}  # never a review-list post: only a person knows
    assert plain == [row["id"] for row in labelled(store, DAY - timedelta(days=2), ordinary=2) if not row["label"]]
    assert rows[0] == {"id": "w1", "text": "text w1", "label": 1}
    assert [row["id"] for row in labelled(store, DAY + timedelta(hours=10, minutes=6), ordinary=0)] == ["w2", "k1"]


def test_an_informants_number_in_a_review_item_is_masked_wherever_it_is_shown(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    mid = "举报人电话１３８ 1234 5678"  # written to slip past a plain mask: full-width digits and spaces
    message(store, mid, "weibo", DAY, None)
    with store.transaction() as db:
        record_review(db, mid, ReviewScore(0.7, (("坍塌", 3.0),)), "lexicon", DAY)
    [item] = items(store)
    assert "1234" not in item.text
    assert "1234" not in item.headline
