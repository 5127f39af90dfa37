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

import re

from rules.model import Analysis, KeywordHit
from rules.text import clean

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
# Every cue starts with one of these (traditional forms too: the body is read before normalising).
_CUE_START = re.compile("[没沒从從并並不绝絕未无無毫杜谣謠]")
_RUMOUR = re.compile(r"(?P<cue>谣传|谣言称|谣言说)")


def negation_cue(body: str, start: int) -> str | None:
    """The cue that negates the keyword occurrence at ``start`` of ``body`` (a ``Message.body``
    offset), or None when it is not negated."""
    before = clean(body[max(0, start - LOOK_BACK):start])
    ends = list(CLAUSE_END.finditer(before))
    clause = before[ends[-1].end():] if ends else before
    found = _NEGATED.search(clause)
    if found is not None and len(found["bridge"]) <= WINDOW:
        return found["cue"]
    rumours = list(_RUMOUR.finditer(clause))
    if rumours and len(clause) - rumours[-1].end() <= RUMOUR_WINDOW:
        return rumours[-1]["cue"]
    return None


def negated_occurrences(analysis: Analysis) -> dict[str, dict[int, str]]:
    """For every hit word with negated occurrences: their starts and cues. Empty at once for a text
    without a character any cue starts with."""
    body = analysis.message.body
    if _CUE_START.search(body) is None:
        return {}
    found: dict[str, dict[int, str]] = {}
    cues: dict[int, str | None] = {}  # by start: a longer and a shorter keyword may start together
    for hit in analysis.hits:
        for start in hit.positions:
            if start not in cues:
                cues[start] = negation_cue(body, start)
            if (cue := cues[start]) is not None:
                found.setdefault(hit.word, {})[start] = cue
    return found


def without_negated(analysis: Analysis, words: frozenset[str],
                    negated: dict[str, dict[int, str]] | None = None) -> tuple[Analysis, list[str]]:
    """``analysis`` without the negated occurrences of ``words``, and "cue keyword" for each one dropped.
    The same analysis comes back when nothing is negated. ``negated`` is ``negated_occurrences(analysis)``
    when already known."""
    negated = negated_occurrences(analysis) if negated is None else negated
    dropped = words.intersection(negated)
    if not dropped:
        return analysis, []
    hits: list[KeywordHit] = []
    for hit in analysis.hits:
        if hit.word in dropped:
            kept = tuple(start for start in hit.positions if start not in negated[hit.word])
            if kept:
                hits.append(KeywordHit(hit.word, kept))
        else:
            hits.append(hit)
    reasons = sorted({f"{cue} {word}" for word in dropped for cue in negated[word].values()})
    return Analysis(analysis.message, tuple(hits), analysis.spelled), reasons
