"""Keyword hits with real jieba: whole words only, offsets into the body, the prefilter, reloads."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rules.errors import ConfigError
from rules.model import Message
from rules.text import Analyzer, normalize
from tests.rules.conftest import message

# Every keyword of these tests at once, as a county's rule set would load them together.
KEYWORDS = frozenset({
    "上访", "游行", "示威", "集会", "毒品", "政变", "维权", "暴动", "强拆", "跳楼", "爆炸", "集体上访",
    "拆迁", "聚集", "补偿款", "PX", "ＰＸ项目",
})


@pytest.fixture(scope="module", autouse=True)
def _words(analyzer: Analyzer) -> None:
    analyzer.use_words(KEYWORDS)


def words_in(analyzer: Analyzer, text: str) -> set[str]:
    return set(analyzer.analyze(message(text)).words)


# FIELD-GUIDE §2: a substring search would find the keyword in every one of these texts.
@pytest.mark.parametrize(("keyword", "text"), [
    ("上访", "我马上访问一下网站"),
    ("游行", "这次旅游行程安排得很满"),
    ("示威", "他在会上表示威胁论站不住脚"),
    ("集会", "请大家配合收集会员信息"),
    ("毒品", "分析这种病毒品种"),
    ("政变", "这是一次行政变革"),
    ("维权", "要学会思维权衡利弊"),
    ("暴动", "关注风暴动态"),
    ("强拆", "加强拆除违建的宣传"),
])
def test_a_keyword_inside_other_words_does_not_hit(analyzer: Analyzer, keyword: str, text: str) -> None:
    assert keyword in text
    assert words_in(analyzer, text) == set()


@pytest.mark.parametrize(("text", "expected"), [
    ("有人欲跳楼", {"跳楼"}),  # 欲跳楼 is a dictionary word
    ("化工厂发生爆炸", {"爆炸"}),  # so is 发生爆炸
    ("村民集体上访", {"集体上访", "上访"}),  # the longer keyword must not hide the shorter one
    ("今天上访的人很多", {"上访"}),
    ("城东拆迁户今天在县政府门口聚集，要求补偿款", {"拆迁", "聚集", "补偿款"}),
])
def test_keywords_inside_dictionary_words_hit(analyzer: Analyzer, text: str, expected: set[str]) -> None:
    assert words_in(analyzer, text) == expected


def test_positions_are_character_offsets_into_the_body(analyzer: Analyzer) -> None:
    msg = message("村民集体上访，上访三次", title="拆迁纠纷")
    hits = {h.word: h.positions for h in analyzer.analyze(msg).hits}
    assert hits == {"拆迁": (0,), "集体上访": (7,), "上访": (9, 12)}
    for word, positions in hits.items():
        assert all(msg.body[p:p + len(word)] == word for p in positions)


def test_hits_come_in_order_of_first_occurrence(analyzer: Analyzer) -> None:
    hits = analyzer.analyze(message("补偿款没到，拆迁户聚集")).hits
    assert [h.word for h in hits] == ["补偿款", "拆迁", "聚集"]


def test_full_width_text_keeps_its_offsets(analyzer: Analyzer) -> None:
    text = "反对\u3000ＰＸ项目，村民集体上访"
    assert len(normalize(text)) == len(text)
    assert normalize("ＰＸ，１２３\u3000Ａｂ。") == "px,123 ab。"  # 。 is not full-width ASCII: kept
    hits = {h.word: h.positions for h in analyzer.analyze(message(text)).hits}
    # Both spellings of the keyword are reported, each as the rule wrote it.
    assert hits == {"PX": (3,), "ＰＸ项目": (3,), "集体上访": (10,), "上访": (12,)}


def test_a_message_without_candidates_never_reaches_jieba(analyzer: Analyzer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = analyzer._tokenizer.tokenize

    def counting(text: str, *args: Any, **kwargs: Any) -> Iterator[tuple[str, int, int]]:
        calls.append(text)
        return real(text, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(analyzer._tokenizer, "tokenize", counting)
    assert analyzer.analyze(message("今天天气很好，适合出游")).hits == ()
    assert calls == []
    assert analyzer.analyze(message("我马上访问一下网站")).hits == ()  # candidate 上访: jieba says no
    assert calls == ["我马上访问一下网站"]


def test_reload_replaces_the_keywords_looked_for(jieba_cache: Path) -> None:
    analyzer = Analyzer(cache_dir=jieba_cache)
    analyzer.initialize()
    analyzer.use_words(frozenset({"上访"}))
    assert analyzer.analyze(message("村民上访，发生爆炸")).words == {"上访"}
    analyzer.use_words(frozenset({"爆炸"}))
    assert analyzer.analyze(message("村民上访，发生爆炸")).words == {"爆炸"}
    analyzer.use_words(frozenset())
    assert analyzer.analyze(message("村民上访，发生爆炸")).hits == ()


def test_analyze_before_any_words_finds_nothing_and_loads_nothing(jieba_cache: Path) -> None:
    analyzer = Analyzer(cache_dir=jieba_cache)
    assert analyzer.analyze(message("村民上访")).hits == ()
    assert not analyzer._tokenizer.initialized


def test_user_dictionary_words_are_whole_words(tmp_path: Path, jieba_cache: Path) -> None:
    # Without the dictionary 城东集体上访案 is cut so that 集体上访 is a token; with it, the long word
    # swallows the keyword, which must still hit (as search mode does for short keywords).
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("城东集体上访案 5 n\n河湾村 10 ns\n", encoding="utf-8")
    analyzer = Analyzer(dictionary=dictionary, cache_dir=jieba_cache)
    analyzer.initialize()
    analyzer.use_words(frozenset({"集体上访", "上访", "湾村"}))
    assert "城东集体上访案" in analyzer._tokenizer.lcut("城东集体上访案今天开庭")
    hits = {h.word: h.positions for h in analyzer.analyze(message("城东集体上访案今天开庭")).hits}
    assert hits == {"集体上访": (2,), "上访": (4,)}
    assert analyzer.analyze(message("河湾村的村民")).words == {"湾村"}  # a 2-character word inside


@pytest.mark.parametrize("content", [None, b"\xff\xfe not utf-8\n"])
def test_an_unusable_dictionary_is_a_config_error(tmp_path: Path, jieba_cache: Path,
                                                  content: bytes | None) -> None:
    dictionary = tmp_path / "dict.txt"
    if content is not None:
        dictionary.write_bytes(content)
    analyzer = Analyzer(dictionary=dictionary, cache_dir=jieba_cache)
    with pytest.raises(ConfigError) as caught:
        analyzer.initialize()
    assert str(caught.value).startswith(f"{dictionary}: error: cannot load the jieba dictionary")


def test_the_cache_goes_to_cache_dir_and_jieba_logs_once(tmp_path: Path) -> None:
    analyzer = Analyzer(cache_dir=tmp_path)
    analyzer.initialize()
    assert (tmp_path / "jieba.cache").stat().st_size > 1_000_000
    jieba_logger = logging.getLogger("jieba")
    assert jieba_logger.handlers == []
    assert jieba_logger.getEffectiveLevel() == logging.WARNING


def test_title_and_text_are_both_read(analyzer: Analyzer) -> None:
    msg = Message(id="x", source="news", title="化工厂发生爆炸", text="多人受伤")
    assert analyzer.analyze(msg).hits[0].positions == (5,)
