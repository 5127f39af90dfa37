"""rules.negation: which keyword occurrences are negated (没有地沟油) and which are news (辟谣, 否认)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.model import Analysis, KeywordHit, Message
from rules.negation import WINDOW, Negations, negation_cue, without_negated


@pytest.mark.parametrize(("text", "keyword", "cue"), [
    ("没有地沟油", "地沟油", "没有"),
    ("这家店从来没有使用过地沟油", "地沟油", "从来没有"),
    ("厂区没有发生爆炸", "爆炸", "没有"),
    ("事故无人员伤亡", "伤亡", "无"),
    ("事故未造成人员伤亡", "伤亡", "未造成"),
    ("并非强拆，是自愿搬迁", "强拆", "并非"),
    ("公司不存在拖欠工资的情况", "拖欠", "不存在"),
    ("工资没有拖欠", "拖欠", "没有"),
    ("並無爆炸", "爆炸", "并无"),  # traditional
    ("没\u200b有爆炸", "爆炸", "没有"),  # an invisible character inside the cue
    ("网上谣传化工厂爆炸", "爆炸", "谣传"),
    ("这不是什么爆炸，是放鞭炮", "爆炸", "不是"),
])
def test_negated(text: str, keyword: str, cue: str) -> None:
    assert negation_cue(text, text.index(keyword)) == cue


@pytest.mark.parametrize(("text", "keyword"), [
    ("饭店被查出使用地沟油", "地沟油"),
    ("官方辟谣：网传某地爆炸系谣言", "爆炸"),  # a denial is news
    ("警方否认发生爆炸", "爆炸"),
    ("官方澄清爆炸原因", "爆炸"),
    ("至今没有拿到工资", "工资"),  # the cue negates the verb: a wage complaint
    ("老板一直没发工资", "工资"),
    ("这已经不是第一次发生爆炸了", "爆炸"),
    ("有没有地沟油谁知道", "地沟油"),
    ("没有人管，工厂又爆炸了", "爆炸"),  # another clause
    ("无良商家使用地沟油", "地沟油"),
    ("无人机拍到爆炸现场", "爆炸"),
    ("可不是嘛，又爆炸了", "爆炸"),
    ("没想到会发生爆炸", "爆炸"),
])
def test_not_negated(text: str, keyword: str) -> None:
    assert negation_cue(text, text.index(keyword)) is None


def test_only_negated_occurrences_are_dropped() -> None:
    text = "说没有地沟油？饭店被查出使用地沟油"
    hit = KeywordHit("地沟油", (text.index("地沟油"), text.rindex("地沟油")))
    analysis = Analysis(Message("m", "weibo", text), (hit,))
    kept, negated = without_negated(analysis, frozenset({"地沟油"}))
    assert kept.hits == (KeywordHit("地沟油", (text.rindex("地沟油"),)),)
    assert negated == ["没有 地沟油"]
    assert without_negated(Analysis(Message("m", "weibo", "使用地沟油"), (KeywordHit("地沟油", (2,)),)),
                           frozenset({"地沟油"}))[1] == []


CUES = ["没有", "没", "并非", "并未", "不存在", "未发生", "无", "不是", "从未", "并无"]
KEYWORDS = ["地沟油", "爆炸", "强拆", "伤亡", "拖欠"]
BRIDGES = ["发生", "出现", "任何", "使用", "人员", "过", "的"]
FILLERS = "小区老板工厂今天村里大家看到据说群众商户街上"
PREFIXES = st.text(alphabet="据说今天村里的人，。看到了", max_size=12)


@given(PREFIXES, st.sampled_from(CUES), st.lists(st.sampled_from(BRIDGES), max_size=2), st.sampled_from(KEYWORDS))
def test_a_cue_with_only_bridges_before_the_keyword_negates_it(prefix: str, cue: str, bridges: list[str],
                                                                keyword: str) -> None:
    text = f"{prefix}{cue}{''.join(bridges)}{keyword}"
    assert len("".join(bridges)) <= WINDOW
    assert negation_cue(text, len(text) - len(keyword)) is not None


@given(PREFIXES, st.sampled_from(CUES), st.text(alphabet=FILLERS, min_size=2, max_size=30),
       st.sampled_from(KEYWORDS))
def test_a_cue_far_away_does_not_negate(prefix: str, cue: str, filler: str, keyword: str) -> None:
    """Any word other than a bridge between the cue and the keyword ends the negation."""
    text = f"{prefix}{cue}{filler}{keyword}"
    assert negation_cue(text, len(text) - len(keyword)) is None


@given(PREFIXES, st.sampled_from(CUES), st.lists(st.sampled_from(BRIDGES), max_size=2),
       st.sampled_from(["。", "！", "？", "，", "\n", "；", "：", ". ", "!"]), st.sampled_from(KEYWORDS))
def test_a_cue_in_another_clause_does_not_negate(prefix: str, cue: str, bridges: list[str], stop: str,
                                                 keyword: str) -> None:
    text = f"{prefix}{cue}{''.join(bridges)}{stop}{keyword}"
    assert negation_cue(text, len(text) - len(keyword)) is None


@given(st.text(alphabet=FILLERS + "，。", max_size=30), st.sampled_from(KEYWORDS),
       st.text(alphabet=FILLERS + "没有并非无不是", max_size=20))
def test_nothing_after_the_keyword_negates_it(before: str, keyword: str, after: str) -> None:
    text = f"{before}{keyword}"
    assert negation_cue(text + after, len(text) - len(keyword)) == negation_cue(text, len(text) - len(keyword))


@given(st.lists(st.tuples(st.text(alphabet=FILLERS + "，。的发生", max_size=6),
                          st.sampled_from([*CUES, "有没有", "是不是", "没\u200b有", "並無", ""]),
                          st.sampled_from(KEYWORDS)), min_size=1, max_size=4))
def test_the_whole_message_pass_agrees_with_each_occurrence(parts: list[tuple[str, str, str]]) -> None:
    """``Negations`` finds cues once per message; it must say what ``negation_cue`` says."""
    text, starts = "", {}
    for filler, cue, keyword in parts:
        text += filler + cue
        starts.setdefault(keyword, []).append(len(text))
        text += keyword
    hits = tuple(KeywordHit(word, tuple(at)) for word, at in starts.items())
    expected = {word: {at: cue for at in positions if (cue := negation_cue(text, at)) is not None}
                for word, positions in starts.items()}
    negations = Negations(Analysis(Message("m", "weibo", text), hits))
    assert {word: negations.of(word) for word in starts} == expected
