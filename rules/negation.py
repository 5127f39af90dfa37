"""Negated mentions: 没有地沟油 is not a food-safety report, 饭店被查出使用地沟油 is.

A keyword occurrence is *negated* when, in the same clause, a negation cue stands right before it,
with at most a few "bridge" words between (没有 | 发生 | 爆炸, 无 | 人员 | 伤亡, 并非 | 强拆). Any other
word between the cue and the keyword ends the negation: 没有拿到工资 and 至今没有发工资 are wage
complaints (the cue negates the verb, not the thing), 不是第一次发生爆炸 is an explosion. Rumour cues
(谣传) negate anything after them in their clause. 辟谣, 否认 and 澄清 are not cues: a denial is news.

The check reads the text as the analysis does (``rules.text.clean``: full-width folded, traditional
to simplified, invisible characters and separators dropped) and only ever runs for the keyword hits of
a rule whose condition already held: ordinary messages never pay for it.
"""

from __future__ import annotations

import bisect
import re

from rules.model import Analysis, KeywordHit
from rules.text import compact, normalize

# A clause ends at sentence punctuation, a comma, a colon or a line break (after ``normalize`` the
# full-width ，：；！？ are their ASCII forms).
CLAUSE_END = re.compile(r"[。！？!?；;，,、：:\n…]")
LOOK_BACK = 24  # characters of the body read before a keyword (before cleaning)
WINDOW = 6  # bridge characters allowed between a cue and the keyword
RUMOUR_WINDOW = 12  # characters a rumour cue reaches forward in its clause

# Cues that negate what directly follows (bridges aside). The look-behinds keep questions and idioms
# out: 有没有 (is there), 是不是 / 要不是 / 可不是 (isn't it, if not for, indeed), 有无 (whether).
_CUES = (r"(?<!有)没有?", r"从来没有?", r"从没有?", r"并没有?", r"(?<![是要可倒还])不是", r"并不是", r"并非",
         r"绝非", r"不存在", r"并不存在", r"并未", r"未发生", r"未曾", r"从未", r"未出现", r"未发现",
         r"未造成", r"未见", r"未有", r"(?<!有)无", r"并无", r"毫无", r"绝无", r"不曾", r"杜绝了")
# Words that may stand between a cue and the keyword without ending the negation.
_BRIDGES = ("发生过", "发生", "出现", "存在", "任何", "什么", "所谓的", "所谓", "有关", "相关", "此类", "这类",
            "这种", "这样的", "那种", "一起", "一例", "一名", "一人", "一个", "人员", "人", "使用", "发现",
            "造成", "涉及", "再次", "再", "过", "有", "的", "了", "被")
_NEGATED = re.compile(rf"(?P<cue>{'|'.join(_CUES)})(?P<bridge>(?:{'|'.join(_BRIDGES)})*)\Z")
# Every cue starts with one of these, in simplified or traditional writing.
_CUE_START_WRITTEN = re.compile("[没沒从從并並不绝絕未无無毫杜谣謠]")
_RUMOUR = re.compile(r"(?P<cue>谣传|谣言称|谣言说)")
_ANY_CUE = re.compile(f"{'|'.join(_CUES)}|谣传|谣言称|谣言说")


def negation_cue(body: str, start: int) -> str | None:
    """The cue that negates the keyword occurrence at ``start`` of ``body`` (a ``Message.body``
    offset), or None when it is not negated."""
    window = normalize(body[max(0, start - LOOK_BACK):start])
    return _cue_before(window, len(window))


def _cue_before(normalized: str, start: int) -> str | None:
    """``negation_cue`` on a normalised body (``rules.text.normalize`` keeps every offset)."""
    low = max(0, start - LOOK_BACK)
    before = compact(normalized[low:start])[0]
    ends = list(CLAUSE_END.finditer(before))
    clause = before[ends[-1].end():] if ends else before
    found = _NEGATED.search(clause)
    if found is not None and len(found["bridge"]) <= WINDOW:
        return found["cue"]
    rumours = list(_RUMOUR.finditer(clause))
    if rumours and len(clause) - rumours[-1].end() <= RUMOUR_WINDOW:
        return rumours[-1]["cue"]
    return None


class Negations:
    """The negated keyword occurrences of one message, found when first asked for, word by word: the
    body is normalised and its cues located once, and only the words of rules that fired are checked."""

    def __init__(self, analysis: Analysis, normalized: str | None = None) -> None:
        self.analysis = analysis
        self._normalized = normalized  # ``normalize(body)`` when the caller already has it
        self._ends: list[int] | None = None
        self._cues: dict[int, str | None] = {}  # by start: a longer and a shorter keyword may start together
        self._words: dict[str, dict[int, str]] = {}
        self._positions = {hit.word: hit.positions for hit in analysis.hits}

    def possible(self) -> bool:
        """Whether the body holds any cue at all: most bodies do not, and then nothing is negated."""
        return bool(self._cue_ends())

    def of(self, word: str) -> dict[int, str]:
        """The negated occurrences of ``word`` (a hit word): start → cue."""
        if word not in self._words:
            self._words[word] = {start: cue for start in self._positions.get(word, ())
                                 if (cue := self._cue_at(start)) is not None}
        return self._words[word]

    def _cue_at(self, start: int) -> str | None:
        if start not in self._cues:
            ends = self._cue_ends()
            after = bisect.bisect_right(ends, start)  # does a cue end before the keyword, close enough?
            near = after > 0 and ends[after - 1] >= start - LOOK_BACK
            self._cues[start] = _cue_before(self.normalized, start) if near else None
        return self._cues[start]

    @property
    def normalized(self) -> str:
        if self._normalized is None:
            self._normalized = normalize(self.analysis.message.body)
        return self._normalized

    def _cue_ends(self) -> list[int]:
        """Where every cue of the body ends, in order; invisible characters and separators inside a cue
        (没\u200b有) do not hide it. Nothing to look for in a body without a character a cue starts with."""
        if self._ends is None:
            self._ends = []
            if _CUE_START_WRITTEN.search(self.analysis.message.body) is not None:
                text, kept = compact(self.normalized)
                ends = [found.end() for found in _ANY_CUE.finditer(text)]
                self._ends = [kept[end - 1] + 1 for end in ends] if kept is not None else ends
        return self._ends


def without_negated(analysis: Analysis, words: frozenset[str],
                    negations: Negations | None = None) -> tuple[Analysis, list[str]]:
    """``analysis`` without the negated occurrences of ``words``, and "cue keyword" for each one dropped.
    The same analysis comes back when nothing is negated. ``negations`` is the message's, when known."""
    negations = negations or Negations(analysis)
    negated = {word: found for word in sorted(words & analysis.words) if (found := negations.of(word))}
    if not negated:
        return analysis, []
    hits: list[KeywordHit] = []
    for hit in analysis.hits:
        if hit.word in negated:
            kept = tuple(start for start in hit.positions if start not in negated[hit.word])
            if kept:
                hits.append(KeywordHit(hit.word, kept))
        else:
            hits.append(hit)
    reasons = sorted({f"{cue} {word}" for word, found in negated.items() for cue in found.values()})
    return Analysis(analysis.message, tuple(hits), analysis.spelled), reasons
