"""Pinyin spellings of a keyword, for keyword sets marked ``pinyin: true`` (拆qian, chai迁, chaiqian).

Posters write one character of a watched word in pinyin, or the whole word, to slip past keyword
filters. The readings come from pypinyin (the two commonest readings of a character, so 行 gives
xing and hang; the whole word is read as a phrase, so 银行 is yinhang). Tones are left out, as people type
them, and ü is written both v and u (lv, lu).

Not generated: initials (zf for 政府: far too ambiguous), pinyin for more than one but not all
characters, spaces inside the pinyin. Each keyword gets about ``len(word) * 1.3 + 1`` spellings, so
the option is per keyword set: a set of 20 words adds about 70 words to the tokenizer.
"""

from __future__ import annotations

import functools
import re

from pypinyin import Style, lazy_pinyin, pinyin

_HAN_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]{2,8}$")
MAX_READINGS = 2  # per character: 行 xing/hang, 长 chang/zhang; the rarer ones are literary or dialect


def spellings(word: str) -> frozenset[str]:
    """``word`` with one character at a time written in pinyin (each of its readings), and the whole
    word in pinyin. Empty unless ``word`` is 2 to 8 Chinese characters."""
    if not _HAN_WORD.match(word):
        return frozenset()
    found: set[str] = set()
    for index, char in enumerate(word):
        for reading in _readings(char):
            found.add(word[:index] + reading + word[index + 1:])
    whole = "".join(lazy_pinyin(word, style=Style.NORMAL))
    if whole.isascii() and whole.isalpha():  # a character without a known reading stays as it is
        found.update(_u_too(whole))
    return frozenset(found)


@functools.lru_cache(maxsize=8192)
def _readings(char: str) -> tuple[str, ...]:
    readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0][:MAX_READINGS]
    if readings == [char]:  # no known reading
        return ()
    return tuple(dict.fromkeys(r for reading in readings for r in _u_too(reading) if r.isascii() and r.isalpha()))


def _u_too(reading: str) -> tuple[str, ...]:
    """pypinyin writes ü as v (lv); people also type u (lu)."""
    return (reading, reading.replace("v", "u")) if "v" in reading else (reading,)
