"""Pinyin spellings of keywords (拆qian, chai迁, chaiqian) for sets marked ``pinyin: true``."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from rules.pinyin import spellings

HAN = st.characters(min_codepoint=0x3400, max_codepoint=0x9FFF)  # rare ones have no reading


def test_one_character_at_a_time_and_the_whole_word() -> None:
    assert {"拆qian", "chai迁", "chaiqian"} <= spellings("拆迁")
    assert {"上fang", "shang访", "shangfang"} <= spellings("上访")
    assert {"集体shang访", "jitishangfang"} <= spellings("集体上访")


def test_heteronyms_phrase_readings_and_both_spellings_of_u_umlaut() -> None:
    assert {"银hang", "银xing", "yinhang"} <= spellings("银行")  # 行: both readings; the phrase reads hang
    assert "yinxing" not in spellings("银行")
    assert {"lv地", "lu地", "lvdi", "ludi"} <= spellings("绿地")


def test_only_words_of_two_to_eight_chinese_characters() -> None:
    assert spellings("拆") == frozenset()
    assert spellings("PX项目") == frozenset()
    assert spellings("拆迁户被强拆了吗还没") == frozenset()


@given(st.text(HAN, min_size=2, max_size=8))
def test_every_spelling_is_the_word_with_pinyin_in_place_of_characters(word: str) -> None:
    for spelling in spellings(word):
        assert spelling != word
        assert re.fullmatch(r"[a-z\u3400-\u9fff]+", spelling)
        han = [c for c in spelling if not c.isascii()]
        assert len(han) in (0, len(word) - 1)  # the whole word, or one character replaced
        assert all(c in word for c in han)
        assert re.fullmatch(r"[a-z]+", re.sub(r"[^\x00-\x7f]", "", spelling))
