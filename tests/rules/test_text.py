"""Keyword hits with real jieba: whole words only, offsets into the body, the prefilter, reloads."""

from __future__ import annotations

import itertools
import json
import logging
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import jieba
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.errors import ConfigError
from rules.model import Level, Message, RuleSet, Spread
from rules.text import (
    PREFILTER_ALWAYS,
    RJIEBA_PREFILTER_BELOW,
    Analyzer,
    Backend,
    Keywords,
    _Jieba,
    available_backend,
    compact,
    normalize,
)
from tests.rules.conftest import message, rule, term

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "bench.jsonl"

# Every keyword of these tests at once, as a county's rule set would load them together.
KEYWORDS = frozenset({
    "上访", "游行", "示威", "集会", "毒品", "政变", "维权", "暴动", "强拆", "跳楼", "爆炸", "集体上访",
    "拆迁", "聚集", "补偿款", "PX", "ＰＸ项目",
})


BACKENDS = ["jieba", pytest.param("rjieba", marks=pytest.mark.skipif(
    available_backend() != "rjieba", reason="the fast extra (rjieba) is not installed"))]


@pytest.fixture(scope="module", params=BACKENDS)
def analyzer(request: pytest.FixtureRequest, jieba_cache: Path) -> Analyzer:
    """Every test of this module runs on both tokenizer backends."""
    found = Analyzer(cache_dir=jieba_cache, backend=request.param)
    found.use_words(KEYWORDS)
    return found


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


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_message_without_candidates_never_reaches_jieba(jieba_cache: Path, backend: Backend,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    analyzer = Analyzer(cache_dir=jieba_cache, backend=backend)
    analyzer.use_words(KEYWORDS)
    calls: list[str] = []
    real = analyzer._tokenizer.pieces

    def counting(text: str, *args: Any, **kwargs: Any) -> list[tuple[int, list[str]]]:
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(analyzer._tokenizer, "pieces", counting)
    assert analyzer.analyze(message("今天天气很好，适合出游")).hits == ()
    assert calls == []
    assert analyzer.analyze(message("我马上访问一下网站")).hits == ()  # candidate 上访: jieba says no
    assert calls == ["我马上访问一下网站"]


@pytest.mark.skipif(available_backend() != "rjieba", reason="the fast extra (rjieba) is not installed")
def test_rjieba_cuts_at_once_when_scanning_many_keywords_costs_more(monkeypatch: pytest.MonkeyPatch) -> None:
    analyzer = Analyzer(backend="rjieba")
    many = frozenset(f"关键词{i}" for i in range(RJIEBA_PREFILTER_BELOW)) | {"上访"}
    analyzer.use_words(many)
    scans: list[str] = []
    real = Keywords.candidates
    monkeypatch.setattr(Keywords, "candidates", lambda self, text: scans.append(text) or real(self, text))
    long = "村民集体上访，" + "今天天气晴朗，适合出门散步，公园里人很多，大家都在锻炼身体。" * 2
    assert len(long) > PREFILTER_ALWAYS
    assert analyzer.analyze(message(long)).words == {"上访"}
    assert scans == []
    # A short post is scanned first whatever the keyword count: most hold no keyword, and skip the cut.
    assert analyzer.analyze(message("村民集体上访")).words == {"上访"}
    assert analyzer.analyze(message("今天天气不错")).words == frozenset()
    assert scans == ["村民集体上访", "今天天气不错"]
    analyzer.use_words(frozenset({"上访"}))
    assert analyzer.analyze(message(long)).words == {"上访"}
    assert len(scans) == 3  # few keywords: every text is scanned first


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
    analyzer = Analyzer(cache_dir=jieba_cache, backend="jieba")
    assert analyzer.analyze(message("村民上访")).hits == ()
    assert isinstance(analyzer._tokenizer, _Jieba)
    assert not analyzer._tokenizer.tokenizer.initialized


@pytest.mark.parametrize("backend", BACKENDS)
def test_user_dictionary_words_are_whole_words(tmp_path: Path, jieba_cache: Path, backend: Backend) -> None:
    # Without the dictionary 城东集体上访案 is cut so that 集体上访 is a token; with it, the long word
    # swallows the keyword, which must still hit (as search mode does for short keywords).
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("城东集体上访案 5 n\n河湾村 10 ns\n", encoding="utf-8")
    analyzer = Analyzer(dictionary=dictionary, cache_dir=jieba_cache, backend=backend)
    analyzer.initialize()
    analyzer.use_words(frozenset({"集体上访", "上访", "湾村"}))
    assert analyzer._tokenizer.pieces("城东集体上访案今天开庭", [(0, 7)]) == [(0, ["城东集体上访案", "今天", "开庭"])]
    hits = {h.word: h.positions for h in analyzer.analyze(message("城东集体上访案今天开庭")).hits}
    assert hits == {"集体上访": (2,), "上访": (4,)}
    assert analyzer.analyze(message("河湾村的村民")).words == {"湾村"}  # a 2-character word inside


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("content", [None, b"\xff\xfe not utf-8\n"])
def test_an_unusable_dictionary_is_a_config_error(tmp_path: Path, jieba_cache: Path,
                                                  content: bytes | None, backend: Backend) -> None:
    dictionary = tmp_path / "dict.txt"
    if content is not None:
        dictionary.write_bytes(content)
    analyzer = Analyzer(dictionary=dictionary, cache_dir=jieba_cache, backend=backend)
    with pytest.raises(ConfigError) as caught:
        analyzer.initialize()
    assert str(caught.value).startswith(f"{dictionary}: error: cannot load the jieba dictionary")


def test_the_cache_goes_to_cache_dir_and_jieba_logs_once(tmp_path: Path) -> None:
    analyzer = Analyzer(cache_dir=tmp_path, backend="jieba")
    analyzer.initialize()
    assert (tmp_path / "jieba.cache").stat().st_size > 1_000_000
    jieba_logger = logging.getLogger("jieba")
    assert jieba_logger.handlers == []
    assert jieba_logger.getEffectiveLevel() == logging.WARNING


def test_title_and_text_are_both_read(analyzer: Analyzer) -> None:
    msg = Message(id="x", source="news", title="化工厂发生爆炸", text="多人受伤")
    assert analyzer.analyze(msg).hits[0].positions == (5,)


# ---------------------------------------------------------------- traditional Chinese and evasions


def test_traditional_text_matches_simplified_keywords(analyzer: Analyzer) -> None:
    text = "城東拆遷戶在縣政府門口聚集，村民集體上訪，要求補償款"
    assert len(normalize(text)) == len(text)
    hits = {h.word: h.positions for h in analyzer.analyze(message(text)).hits}
    assert hits == {"拆迁": (2,), "聚集": (11,), "集体上访": (16,), "上访": (18,), "补偿款": (23,)}


def test_a_keyword_written_in_traditional_matches_both_scripts(jieba_cache: Path) -> None:
    analyzer = Analyzer(cache_dir=jieba_cache)
    analyzer.use_words(frozenset({"強拆"}))
    assert analyzer.analyze(message("半夜強拆民房")).words == {"強拆"}
    assert analyzer.analyze(message("半夜强拆民房")).words == {"強拆"}
    assert analyzer.analyze(message("加強拆除違建的宣傳")).hits == ()  # still whole words only


def test_conversion_goes_phrase_by_phrase() -> None:
    # Character by character 乾 would always become 干 and 著 always 着, breaking words such as 著名.
    assert normalize("乾隆年間的著名學者") == "乾隆年间的著名学者"
    assert normalize("天氣乾燥，頭髮") == "天气干燥,头发"
    assert normalize("ＰＸ項目") == "px项目"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_normalize_keeps_every_offset(text: str) -> None:
    assert len(normalize(text)) == len(text)


@given(st.text(alphabet="拆迁上访 *-·,\n。ab", max_size=40))
def test_compact_maps_every_kept_character_back(text: str) -> None:
    compacted, kept = compact(text)
    if kept is None:
        assert compacted == text
    else:
        assert len(kept) == len(compacted) < len(text)
        assert all(text[k] == ch for k, ch in zip(kept, compacted, strict=True))


@pytest.mark.parametrize(("text", "expected"), [
    ("今天有人拆*迁，还有人上 访", {"拆迁": (4,), "上访": (11,)}),
    ("半夜强-拆民房", {"强拆": (2,)}),
    ("村民集·体·上·访", {"集体上访": (2,), "上访": (6,)}),
    ("強　拆了", {"强拆": (0,)}),  # ideographic space, traditional
])
def test_separators_inside_a_word_do_not_hide_it(analyzer: Analyzer, text: str,
                                                  expected: dict[str, tuple[int, ...]]) -> None:
    assert {h.word: h.positions for h in analyzer.analyze(message(text)).hits} == expected


@pytest.mark.parametrize("text", [
    "我马上 访问一下网站",  # dropping the space changes nothing: still 马上/访问
    "先拆，迁走的人再说",  # a comma separates clauses, not the characters of a word
    "加强 拆除违建",
])
def test_dropping_separators_creates_no_match(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze(message(text)).hits == ()


def test_title_and_text_are_not_joined_into_a_word(analyzer: Analyzer) -> None:
    assert analyzer.analyze(Message(id="x", source="news", title="关于拆", text="迁的通知")).hits == ()


# ---------------------------------------------------------------- the two backends agree


def _corpus(count: int) -> list[str]:
    """Real texts from the shared corpus when it is beside the checkout, else made-up ones (so that
    these comparisons also run on a bare clone)."""
    if not CORPUS.exists():
        return _made_up(count)
    texts: list[str] = []
    with CORPUS.open(encoding="utf-8") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
            if len(texts) == count:
                break
    return texts


def _made_up(count: int) -> list[str]:
    """``count`` texts of words from jieba's own dictionary, with punctuation, digits and now and then
    a Latin word between them: what jieba cuts in real posts, without the corpus."""
    with jieba.get_dict_file() as fh:
        words = [line.split()[0] for line in fh.read().decode("utf-8").splitlines() if line.strip()]
    # Only jieba's own Chinese range: the backends differ on characters beyond U+9FD5 (rjieba counts
    # CJK extensions as Chinese, jieba cuts them off as symbols), and traditional characters normalise
    # to simplified ones, some of them there (嚧 → 𠰷).
    words = [w for w in words if all("\u4e00" <= c <= "\u9fd5" for c in w) and normalize(w) == w]
    rng = random.Random(20261123)
    vocabulary = rng.sample(words, 6000)
    extras = ["，", "。", "！", "？", "、", "2026", "12345", "app", "wifi", " ", "（", "）", "的", "了", "在"]
    return ["".join(rng.choice(extras) if rng.random() < 0.25 else rng.choice(vocabulary)
                    for _ in range(rng.randint(3, 40))) for _ in range(count)]


@pytest.mark.skipif(available_backend() != "rjieba", reason="the fast extra (rjieba) is not installed")
def test_both_backends_find_the_same_keywords_and_give_the_same_verdicts(jieba_cache: Path) -> None:
    from rules.engine import Engine  # here: the engine is only needed for this test

    texts = _corpus(3000)
    slow, fast = Analyzer(cache_dir=jieba_cache, backend="jieba"), Analyzer(backend="rjieba")
    # Keywords that really occur: every 7th distinct two- to four-character token of the corpus,
    # plus words that jieba's own dictionary swallows into longer ones.
    tokens = sorted({t for text in texts[:1500] for t in slow_tokens(slow, text) if 2 <= len(t) <= 4})
    words = frozenset(tokens[::7]) | {"上访", "爆炸", "跳楼", "集体上访"}
    sets = [sorted(words)[i::40] for i in range(40)]
    ruleset = RuleSet(tuple(
        rule(f"r{i}", Level.BLUE if i % 3 else Level.YELLOW, all=[term(f"a{i}", *s[:30])],
             none=[term(f"n{i}", *s[30:33])] if i % 2 else ())
        for i, s in enumerate(sets)), version="bench")
    slow.use_words(words)
    fast.use_words(words)
    differing = []
    with Engine(ruleset) as engine:
        for i, text in enumerate(texts):
            msg = message(text, id=f"c{i}")
            a, b = slow.analyze(msg), fast.analyze(msg)
            verdicts = [engine.evaluate(x, Spread.of_message(msg), (), datetime(2026, 11, 20)) for x in (a, b)]
            if a.hits != b.hits or verdicts[0] != verdicts[1]:
                differing.append(text)
    assert sum(bool(slow.analyze(message(t)).hits) for t in texts[:300]) > 100  # the test has teeth
    assert differing == []


def slow_tokens(analyzer: Analyzer, text: str) -> list[str]:
    return [t for _, tokens in analyzer._tokenizer.pieces(text, [(0, len(text))]) for t in tokens]


# ---------------------------------------------------------------- pinyin spellings


@pytest.mark.parametrize("backend", BACKENDS)
def test_pinyin_spellings_of_marked_words_hit_as_the_word(jieba_cache: Path, backend: Backend) -> None:
    analyzer = Analyzer(cache_dir=jieba_cache, backend=backend)
    analyzer.use_words(frozenset({"拆迁", "补偿款", "上访"}), pinyin=frozenset({"拆迁", "补偿款"}))
    found = analyzer.analyze(message("村里强行拆qian了，拆迁补偿kuan没给"))
    assert {h.word: h.positions for h in found.hits} == {"拆迁": (4, 11), "补偿款": (13,)}
    assert found.spelled == (("拆迁", "拆qian"), ("补偿款", "补偿kuan"))
    for text in ("CHAIQIAN补偿", "chai迁了", "拆ｑｉａｎ了"):  # upper case and full width normalise first
        assert analyzer.analyze(message(text)).words >= {"拆迁"}, text
    assert analyzer.analyze(message("集体上访")).words == {"上访"}
    assert analyzer.analyze(message("集体shangfang")).hits == ()  # 上访 is not marked


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("text", ["abcchaiqian的事", "拆qianbu", "chaiqian2号", "上访xchai迁"])
def test_a_spelling_glued_to_other_letters_is_not_the_word(jieba_cache: Path, backend: Backend, text: str) -> None:
    analyzer = Analyzer(cache_dir=jieba_cache, backend=backend)
    analyzer.use_words(frozenset({"拆迁", "上访"}), pinyin=frozenset({"拆迁"}))
    assert "拆迁" not in analyzer.analyze(message(text)).words


def test_spellings_change_nothing_in_ordinary_chinese_text(jieba_cache: Path) -> None:
    # The spellings become tokenizer words too: on text without Latin letters the hits must stay the
    # same. (Texts with letters may rightly differ: the corpus writes 当当 as dangdang.)
    texts = [t for t in _corpus(2000) if not any("a" <= c <= "z" for c in t.lower())]
    plain = Analyzer(cache_dir=jieba_cache)
    plain.use_words(frozenset())
    words = frozenset(sorted({t for text in texts[:400] for t in slow_tokens(plain, text)
                              if 2 <= len(t) <= 4 and not t.isascii()})[::5])
    plain, marked = Analyzer(cache_dir=jieba_cache), Analyzer(cache_dir=jieba_cache)
    plain.use_words(words)
    marked.use_words(words, pinyin=words)
    changed = [t for t in texts if plain.analyze(message(t)).hits != marked.analyze(message(t)).hits]
    assert sum(bool(plain.analyze(message(t)).hits) for t in texts) > 200  # the test has teeth
    assert changed == []


def search_mode_hits(tokenizer: Any, text: str, keys: frozenset[str]) -> set[tuple[str, int]]:
    """The definition the analyzer implements, spelled out: the keywords among jieba's search-mode
    tokens, and keywords of four or more characters inside a longer token."""
    found = set()
    long = [k for k in keys if len(k) > 3]
    for token, start, end in tokenizer.tokenize(text, mode="search"):
        if token in keys:
            found.add((token, start))
        for key in long if end - start > 4 else ():
            at = token.find(key)
            while at >= 0 and len(key) < end - start:
                found.add((key, start + at))
                at = token.find(key, at + 1)
    return found


@pytest.mark.parametrize("backend", BACKENDS)
def test_hits_are_the_keywords_search_mode_yields(jieba_cache: Path, backend: Backend) -> None:
    # The analyzer cuts in default mode and keeps the keywords inside one token; this is the same as
    # the keywords among search-mode tokens (plus longer ones inside longer tokens), checked with the
    # backend's own tokenizer after the same words were added.
    analyzer = Analyzer(cache_dir=jieba_cache, backend=backend)
    analyzer.use_words(frozenset())
    texts = [t for t in _corpus(3000) if compact(normalize(t))[1] is None]
    tokens = [slow_tokens(analyzer, text) for text in texts[:1500]]
    # Single tokens of one to six characters, and pairs of neighbours (some then cut as one word,
    # some straddling a cut: both kinds must come out as search mode says).
    singles = sorted({t for cut in tokens for t in cut if not t.isspace()})
    pairs = sorted({a + b for cut in tokens for a, b in itertools.pairwise(cut) if len(a + b) <= 6})
    keys = frozenset(k for k in singles[::9] + pairs[::40] if normalize(k) == k)  # 嗎 would hit as 吗
    analyzer.use_words(keys)
    wrong = []
    for text in texts:
        got = {(h.word, p) for h in analyzer.analyze(message(text)).hits for p in h.positions}
        if got != search_mode_hits(analyzer._tokenizer.tokenizer, normalize(text), keys):
            wrong.append(text)
    assert sum(bool(analyzer.analyze(message(t)).hits) for t in texts[:300]) > 200  # the test has teeth
    assert wrong == []


def test_words_of_the_dictionary_keep_their_frequency(jieba_cache: Path) -> None:
    # Adding a known word again would raise its frequency and count it into jieba's total twice,
    # shifting every later cut; only new words are added.
    analyzer = Analyzer(cache_dir=jieba_cache, backend="jieba")
    analyzer.initialize()
    assert isinstance(analyzer._tokenizer, _Jieba)
    tokenizer = analyzer._tokenizer.tokenizer
    known, total = tokenizer.FREQ["上访"], tokenizer.total
    analyzer.use_words(frozenset({"上访", "的", "河湾村征地款"}))
    assert (tokenizer.FREQ["上访"], tokenizer.FREQ["的"] > 0) == (known, True)
    assert tokenizer.FREQ["河湾村征地款"] > 0
    assert tokenizer.total == total + tokenizer.FREQ["河湾村征地款"]


# ---------------------------------------------------------------- invisible characters

# Characters that show as nothing (or as a hair of space) yet make two words out of one: zero-width
# space, non-joiner and joiner, word joiner, BOM, soft hyphen, bidi marks, variation selectors.
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202e", "\u2063",
             "\ufe0f", "\ufe00", "\U000e0100", "\U000e01ef", "\u034f", "\U000e0041"]
# Texts where every keyword of KEYWORDS they hold is found (test_keywords_inside_dictionary_words_hit).
HITTING = ["化工厂发生爆炸", "村民集体上访", "今天上访的人很多", "城东拆迁户今天在县政府门口聚集，要求补偿款",
           "半夜强拆民房", "反对PX项目"]


def _sprinkle(text: str, where: list[int], marks: list[str]) -> tuple[str, list[int]]:
    """``text`` with ``marks`` inserted before the given offsets, and where each original character went."""
    inserted = dict(zip(where, marks, strict=False))
    out: list[str] = []
    moved: list[int] = []
    for at, ch in enumerate(text):
        out.append(inserted.get(at, ""))
        moved.append(len("".join(out)))
        out.append(ch)
    return "".join(out), moved


def test_an_invisible_character_inside_a_keyword_does_not_hide_it(analyzer: Analyzer) -> None:
    text = "小区燃\u200b气爆\u2060炸，村民集\ufeff体上\u00ad访"
    found = {h.word: h.positions for h in analyzer.analyze(message(text)).hits}
    assert found == {"爆炸": (5,), "集体上访": (11,), "上访": (14,)}
    for word, positions in found.items():  # offsets are into the text as written
        assert all(text[p] == word[0] for p in positions)


@given(st.sampled_from(HITTING), st.lists(st.integers(0, 40), max_size=6),
       st.lists(st.sampled_from(INVISIBLE), min_size=6, max_size=6))
def test_invisible_characters_anywhere_keep_every_hit(analyzer: Analyzer, text: str, where: list[int],
                                                      marks: list[str]) -> None:
    plain = {h.word: h.positions for h in analyzer.analyze(message(text)).hits}
    sprinkled, moved = _sprinkle(text, where, marks)
    found = {h.word: h.positions for h in analyzer.analyze(message(sprinkled)).hits}
    assert found == {word: tuple(moved[p] for p in positions) for word, positions in plain.items()}


@given(st.sampled_from([
    "我马上访问一下网站", "这次旅游行程安排得很满", "他在会上表示威胁论站不住脚", "加强拆除违建的宣传",
    "关注风暴动态", "先拆，迁走的人再说", "今天天气不错",
]), st.lists(st.integers(0, 20), max_size=6), st.lists(st.sampled_from(INVISIBLE), min_size=6, max_size=6))
def test_invisible_characters_never_create_a_hit(analyzer: Analyzer, text: str, where: list[int],
                                                 marks: list[str]) -> None:
    sprinkled, _ = _sprinkle(text, where, marks)
    assert words_in(analyzer, sprinkled) == words_in(analyzer, text) == set()


def test_every_format_character_and_variation_selector_is_invisible() -> None:
    import sys
    import unicodedata

    from rules.text import INVISIBLE
    wanted = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) == "Cf" or 0xFE00 <= c <= 0xFE0F or 0xE0100 <= c <= 0xE01EF]
    assert [ch for ch in wanted if not INVISIBLE.fullmatch(ch)] == []
    assert not any(INVISIBLE.search(ch) for ch in "燃气 ,。a1\n\t·*")
