"""Chinese text analysis: which rule keywords a message contains as whole words, and where.

A keyword matches a word of the text as jieba cuts it, never a substring: 上访 is not in 我马上访问一下网站
(马上/访问) but is in 村民集体上访. The pipeline follows FIELD-GUIDE §2:

1. Normalise, one character to one character, so offsets into the normalised text are offsets into
   ``Message.body``: full-width ASCII (ＰＸ，１２３) to half-width, the ideographic space to a space,
   ASCII letters to lower case, traditional to simplified Chinese (OpenCC ``t2s``, which converts
   phrase by phrase: 乾隆 stays, 乾燥 becomes 干燥; should a conversion ever change the length, the
   text is converted character by character instead).
2. Undo simple evasions: invisible characters anywhere (zero-width space, joiners, word joiner, BOM,
   soft hyphen, bidi marks, variation selectors: 燃\u200b气) and separator symbols and spaces between
   two Chinese characters (拆*迁, 拆 迁, 拆-迁) are dropped for matching, and positions are mapped back
   to the body. Words of keyword sets
   marked ``pinyin: true`` are also looked for in pinyin (拆qian, chai迁, chaiqian: ``Keywords``).
3. Prefilter with an Aho-Corasick automaton over the keywords: most messages contain none, and those
   never reach the tokenizer (27 µs against 350 µs a message with the Python backend). jieba cuts
   every block of Chinese characters and letters on its own, so only the stretches around candidates
   are cut: the same tokens for a fraction of the work. ``rjieba`` cuts a 45-character message in
   about 7 µs, while the scan costs more the more keywords there are (1 µs at 50, 3 µs at 300, 7 µs
   at 1,000, 23 µs at 50,000, where every message holds a candidate): with ``rjieba`` the prefilter
   is used below ``RJIEBA_PREFILTER_BELOW`` keywords only.
4. Confirm with jieba's default cut: a keyword is a word of the text where it is a token, or two or
   more characters inside one token (爆炸 inside 发生爆炸, 上访 inside 集体上访), never where it
   straddles two (上访 in 马上/访问). That is exactly what search mode yields (its 2- and 3-character
   words inside longer tokens), plus longer keywords inside longer tokens (a user-dictionary word
   such as 城东集体上访案 holding 集体上访); a test checks it against search mode on the corpus.
   Every keyword is a jieba word with the default frequency; a large frequency would create new
   false positives (加强拆除 → 将加/强拆/除).

Two tokenizer backends (FIELD-GUIDE §2): ``rjieba`` (the ``fast`` extra, about ten times faster)
when it is installed, else ``jieba``. They cut the same tokens (a test compares hits and verdicts on
the corpus) but for two corners: rjieba keeps Latin words joined by a dot together (qq.com), and it
counts CJK extension characters (beyond U+9FD5, such as 𠰷) as Chinese where jieba cuts them off as
symbols. Keywords already in the dictionary are not added again: that would change their frequency
and, in jieba, count them twice into the total, which shifts every cut (and the backends apart).

Not thread-safe: the tokenizer assumes one analysing thread. The daemon analyses on its evaluation
thread only.
"""

from __future__ import annotations

import bisect
import copy
import functools
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, Protocol

import ahocorasick
import opencc
import structlog

from rules.errors import ConfigError, Problem
from rules.model import Analysis, KeywordHit, Message
from rules.pinyin import spellings

log = structlog.get_logger(__name__)

Backend = Literal["jieba", "rjieba"]

# U+FF01..U+FF5E are ASCII 0x21..0x7E shifted by 0xFEE0; U+3000 is the ideographic space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_TABLE = str.maketrans(_HALF_WIDTH | {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
                       | {code + 0xFEE0: code + 32 for code in range(ord("A"), ord("Z") + 1)})
_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Separators an evasion puts inside a word. Not "," (the full-width comma normalises to it) and no
# line break (title and text are joined by one): those separate real sentences.
_SEPARATED = re.compile(rf"(?<=[{_HAN}])[ \t\u00a0*#@&^~|/\\\-_+=.·•・'\"`♥♡★☆]{{1,3}}(?=[{_HAN}])")
# Characters that show as nothing: every format character (Unicode category Cf: soft hyphen, zero-width
# space/non-joiner/joiner, bidi marks, word joiner, invisible operators, BOM, tags), the combining
# grapheme joiner, variation selectors (standard, Mongolian and supplementary) and the Hangul fillers.
# A test checks the list against the category of every code point.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]")
RJIEBA_PREFILTER_BELOW = 600  # keywords (spellings included); see step 3 above
_JOIN = 16  # candidate stretches closer than this are cut in one call by the Python backend
# A text this short is scanned for candidates first whatever the keyword count: the scan costs a
# microsecond or two, and most short posts hold no keyword at all, so the cut is skipped for them.
PREFILTER_ALWAYS = 40
_SCAN = 12  # tokens longer than this are searched with the automaton rather than slice by slice
_USERDICT_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")


@functools.cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@functools.cache
def _char_table() -> dict[int, str]:
    """Traditional → simplified one character at a time: the fallback that always keeps offsets."""
    chars = [chr(code) for low, high in _CJK_RANGES for code in range(low, high)]
    converted = _converter().convert("\n".join(chars)).split("\n")
    return {ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def normalize(text: str) -> str:
    """Full-width ASCII to half-width, ASCII to lower case, traditional to simplified; same length.

    Chinese punctuation outside the full-width ASCII block (。、《》「」) is left as it is.
    """
    text = text.translate(_TABLE)
    if text.isascii():
        return text
    simplified: str = _converter().convert(text)
    if len(simplified) == len(text):
        return simplified
    return text.translate(_char_table())


def compact(text: str) -> tuple[str, list[int] | None]:
    """``text`` without invisible characters and without separators between Chinese characters, and
    for every character kept its offset in ``text`` (None when nothing was dropped: offsets are the same)."""
    visible, shown = _drop(text, INVISIBLE)
    joined, kept = _drop(visible, _SEPARATED)
    if shown is None or kept is None:
        return joined, shown or kept
    return joined, [shown[k] for k in kept]


def _drop(text: str, pattern: re.Pattern[str]) -> tuple[str, list[int] | None]:
    """``text`` without what ``pattern`` finds, and the offset in ``text`` of every character kept."""
    if pattern.search(text) is None:
        return text, None
    kept: list[int] = []
    parts: list[str] = []
    last = 0
    for found in pattern.finditer(text):
        parts.append(text[last:found.start()])
        kept.extend(range(last, found.start()))
        last = found.end()
    parts.append(text[last:])
    kept.extend(range(last, len(text)))
    return "".join(parts), kept


def clean(text: str) -> str:
    """What the analysis reads of ``text``: normalised, without invisible characters and separators."""
    return compact(normalize(text))[0]


# ---------------------------------------------------------------- tokenizers


class _Tokenizer(Protocol):
    name: Backend
    prefilter_below: float  # up to how many keywords scanning for candidates first costs less than cutting

    def initialize(self) -> None: ...

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None: ...

    def has_word(self, word: str) -> bool:
        """Whether ``word`` is a word of the dictionary (not just the start of one)."""
        ...

    def pieces(self, text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, list[str]]]:
        """jieba's default cut (HMM on) of ``text``, at least of the blocks holding ``spans``: for each
        part cut, its offset in ``text`` and its tokens (which together are that part)."""
        ...


class _Jieba:
    name: Backend = "jieba"
    prefilter_below: float = float("inf")

    def __init__(self, cache_dir: Path | None) -> None:
        import jieba  # here, not at the top: with rjieba it is never loaded (a tenth of the start-up)

        self.tokenizer = jieba.Tokenizer()
        self._han = jieba.re_han_default
        if cache_dir is not None:
            # Under systemd's ProtectSystem=strict there is no writable /tmp: initialize() would raise.
            self.tokenizer.tmp_dir = str(cache_dir)

    def initialize(self) -> None:
        self.tokenizer.initialize()

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        self.tokenizer.add_word(word, freq, tag)

    def has_word(self, word: str) -> bool:
        return bool(self.tokenizer.FREQ.get(word))  # the prefixes of words are in FREQ with 0

    def pieces(self, text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, list[str]]]:
        # jieba cuts each run of its "han" characters (a block) on its own and every other character
        # alone, so a cut of a stretch that starts and ends at block edges (or outside blocks) gives
        # exactly the tokens a cut of the whole text has there. Each candidate is widened to its
        # blocks; stretches less than _JOIN characters apart are cut in one call (a call costs several
        # µs before any cutting), others apart (the rest of a long text is never cut).
        blocks = [found.span() for found in self._han.finditer(text)]
        starts = [start for start, _ in blocks]
        stretches: list[list[int]] = []
        for start, end in sorted(spans):
            first = bisect.bisect_right(starts, start) - 1
            if first >= 0 and blocks[first][1] > start:
                start = blocks[first][0]
            last = bisect.bisect_left(starts, end) - 1
            if last >= 0 and blocks[last][1] > end:
                end = blocks[last][1]
            if stretches and start - stretches[-1][1] < _JOIN:
                stretches[-1][1] = max(stretches[-1][1], end)
            else:
                stretches.append([start, end])
        return [(start, self.tokenizer.lcut(text[start:end])) for start, end in stretches]


class _RJieba:
    name: Backend = "rjieba"
    prefilter_below: float = RJIEBA_PREFILTER_BELOW

    def __init__(self) -> None:
        import rjieba  # the optional `fast` extra

        self.tokenizer = rjieba.Jieba()

    def initialize(self) -> None:
        pass  # the dictionary is compiled in

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        self.tokenizer.add_word(word, freq, tag)

    def has_word(self, word: str) -> bool:
        found: bool = self.tokenizer.has_word(word)
        return found

    def pieces(self, text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, list[str]]]:
        return [(0, self.tokenizer.cut(text, True))]


def available_backend() -> Backend:
    """``rjieba`` when the ``fast`` extra is installed, else ``jieba``."""
    try:
        import rjieba  # noqa: F401
    except ImportError:
        return "jieba"
    return "rjieba"


def _load_userdict(tokenizer: _Tokenizer, path: Path) -> int:
    """jieba's user dictionary format (``word [freq] [tag]`` a line, UTF-8), for either backend."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ValueError(f"dictionary file {path} must be utf-8") from exc
    count = 0
    for line in text.splitlines():
        found = _USERDICT_LINE.match(line.strip())
        if found is None:
            continue
        word, freq, tag = found.groups()
        tokenizer.add_word(word, int(freq) if freq else None, tag.strip() if tag else None)
        count += 1
    return count


# ---------------------------------------------------------------- keywords


class Keywords:
    """The automaton over a rule set's keywords and the spellings the rules used; replaced whole on
    reload. Build one with ``Analyzer.prepare``.

    ``pinyin`` words (of sets marked ``pinyin: true``) are also looked for in their pinyin spellings
    (``rules.pinyin``): a spelling is one more key whose originals are the word's. A spelling that
    starts or ends with a letter counts only where the text has no letter or digit next to it
    (chaiqian in abcchaiqian is not 拆迁)."""

    def __init__(self, words: frozenset[str], pinyin: frozenset[str] = frozenset()) -> None:
        self.originals: dict[str, tuple[str, ...]] = {}
        for word in sorted(words):
            key = compact(normalize(word))[0]
            if key.strip():
                self.originals[key] = (*self.originals.get(key, ()), word)
        self.spelled: dict[str, str] = {}  # pinyin spelling → the key it stands for
        for word in sorted(pinyin & words):
            key = compact(normalize(word))[0]
            for spelling in sorted(spellings(key)):
                if spelling not in self.originals:  # a keyword written so by a rule stays itself
                    self.spelled.setdefault(spelling, key)
        for spelling, key in self.spelled.items():
            self.originals[spelling] = self.originals[key]
        self.longest = max(map(len, self.originals), default=0)
        self.automaton: ahocorasick.Automaton | None = None
        if self.originals:
            automaton = ahocorasick.Automaton()
            for key in self.originals:
                automaton.add_word(key, key)
            automaton.make_automaton()
            self.automaton = automaton

    def glued(self, text: str, key: str, start: int) -> bool:
        """Whether the pinyin spelling ``key`` at ``start`` runs into other letters or digits."""
        end = start + len(key)
        return ((key[0].isascii() and start > 0 and text[start - 1].isascii() and text[start - 1].isalnum())
                or (key[-1].isascii() and end < len(text) and text[end].isascii() and text[end].isalnum()))

    def candidates(self, text: str) -> dict[str, list[tuple[int, int]]]:
        """Every keyword occurring as a substring, with the spans where it occurs."""
        found: dict[str, list[tuple[int, int]]] = {}
        if self.automaton is not None:
            for end, key in self.automaton.iter(text):
                found.setdefault(key, []).append((end + 1 - len(key), end + 1))
        return found


class Analyzer:
    """Finds rule keywords in messages with its own tokenizer (not jieba's global one)."""

    def __init__(self, *, dictionary: Path | None = None, cache_dir: Path | None = None,
                 backend: Backend | None = None) -> None:
        self.dictionary = dictionary
        self.backend: Backend = backend or available_backend()
        self._tokenizer: _Tokenizer = _RJieba() if self.backend == "rjieba" else _Jieba(cache_dir)
        self._initialized = False
        self._jieba_words: set[str] = set()
        self._keywords = Keywords(frozenset())

    def initialize(self) -> None:
        """Load jieba's dictionary (about 0.7 s) and the user dictionary. Call once at startup so the
        first message does not pay for it. Raises ConfigError when the user dictionary is unusable."""
        if self._initialized:
            return
        quiet_jieba()
        self._tokenizer.initialize()
        self._initialized = True
        words = self.load_dictionary()
        log.info("analyzer.ready", backend=self.backend, dictionary_words=words,
                 dictionary=str(self.dictionary) if self.dictionary else None)

    def load_dictionary(self) -> int:
        """(Re)load the user dictionary: words are added, never removed (jieba cannot forget them).
        Returns how many lines it held. Raises ConfigError."""
        if self.dictionary is None:
            return 0
        self.initialize()
        try:
            return _load_userdict(self._tokenizer, self.dictionary)
        except (OSError, ValueError) as exc:
            raise ConfigError([Problem(f"cannot load the jieba dictionary: {exc}",
                                       path=str(self.dictionary))]) from exc

    def prepare(self, words: frozenset[str], pinyin: frozenset[str] = frozenset()) -> Keywords:
        """The keywords of a new rule set (``pinyin``: those also looked for in pinyin), ready to use;
        the words and spellings become tokenizer words now (a rule set being loaded off to the side
        does not change what the current one finds)."""
        self.initialize()
        keywords = Keywords(words, pinyin)
        for key in keywords.originals:
            if key not in self._jieba_words:
                # A word of the dictionary keeps its frequency: adding it again would raise it a little
                # and, in jieba, count it into the total twice, which shifts every cut (and the two
                # backends apart). A new word gets the default frequency: never a large one.
                if not self._tokenizer.has_word(key):
                    self._tokenizer.add_word(key)
                self._jieba_words.add(key)
        return keywords

    def use(self, keywords: Keywords) -> None:
        """Look for ``keywords`` from now on, in one assignment."""
        self._keywords = keywords
        log.info("analyzer.words", words=len(keywords.originals), in_jieba=len(self._jieba_words))

    def use_words(self, words: frozenset[str], pinyin: frozenset[str] = frozenset()) -> None:
        """Look for ``words`` from now on (``prepare`` then ``use``)."""
        self.use(self.prepare(words, pinyin))

    def view(self, keywords: Keywords) -> Analyzer:
        """An analyzer sharing this one's tokenizer that looks for ``keywords``: runs a new rule set's
        tests before it is swapped in."""
        other = copy.copy(self)
        other._keywords = keywords
        return other

    def analyze(self, message: Message, keywords: Keywords | None = None) -> Analysis:
        """The keywords (``keywords``, else the ones in use) ``message.body`` contains as whole words,
        with character offsets into the body."""
        keywords = keywords or self._keywords  # one reference for the whole call: a reload may swap it
        if keywords.automaton is None:
            return Analysis(message)
        text, kept = compact(normalize(message.body))
        spans: Iterable[tuple[int, int]] = ((0, len(text)),)
        if len(text) <= PREFILTER_ALWAYS or len(keywords.originals) < self._tokenizer.prefilter_below:
            candidates = keywords.candidates(text)
            if not candidates:
                return Analysis(message)
            spans = (span for found in candidates.values() for span in found)
        self.initialize()
        positions = self._confirmed(text, spans, keywords)
        spelled: list[tuple[str, str]] = []
        if keywords.spelled:
            positions, spelled = _fold_spellings(text, positions, keywords)
        if not positions:
            return Analysis(message)
        if kept is not None:  # offsets only grow along the text: the starts stay in order
            positions = {key: [kept[start] for start in starts] for key, starts in positions.items()}
        hits = [KeywordHit(word, tuple(starts))
                for key, starts in positions.items() for word in keywords.originals[key]]
        hits.sort(key=_first_then_word)
        return Analysis(message, tuple(hits), tuple(spelled))

    def _confirmed(self, text: str, spans: Iterable[tuple[int, int]], keywords: Keywords) -> dict[str, list[int]]:
        """Every keyword that is a word of ``text``, with its starts in ``text`` in order: a token of
        jieba's cut, or two or more characters inside one (what search mode yields: 上访 inside
        集体上访). A keyword that straddles two tokens (上访 in 马上/访问) is not a word of the text."""
        originals, automaton, longest = keywords.originals, keywords.automaton, keywords.longest
        found: dict[str, list[int]] = {}
        for at, tokens in self._tokenizer.pieces(text, spans):
            for token in tokens:
                size = len(token)
                if token in originals:
                    found.setdefault(token, []).append(at)
                if size > _SCAN and automaton is not None:  # a long run of letters or digits
                    for last, key in automaton.iter(token):
                        if 1 < len(key) < size:
                            found.setdefault(key, []).append(at + last + 1 - len(key))
                elif size > 2:
                    for width in range(2, min(size, longest + 1)):
                        for start in range(size - width + 1):
                            if token[start:start + width] in originals:
                                found.setdefault(token[start:start + width], []).append(at + start)
                at += size
        return found


def _fold_spellings(text: str, positions: dict[str, list[int]],
                    keywords: Keywords) -> tuple[dict[str, list[int]], list[tuple[str, str]]]:
    """Pinyin spellings counted as the keywords they stand for (where not glued to other letters),
    and (keyword, spelling) for each one found."""
    folded: dict[str, list[int]] = {}
    spelled: list[tuple[str, str]] = []
    for key, starts in positions.items():
        base = keywords.spelled.get(key)
        if base is None:
            folded[key] = sorted({*folded.get(key, ()), *starts})
            continue
        clear = [start for start in starts if not keywords.glued(text, key, start)]
        if clear:
            folded[base] = sorted({*folded.get(base, ()), *clear})
            spelled += [(word, key) for word in keywords.originals[base]]
    return folded, sorted(spelled)


def _first_then_word(hit: KeywordHit) -> tuple[int, str]:
    return hit.positions[0], hit.word


def quiet_jieba() -> None:
    """jieba adds its own stderr handler and also propagates: every line would be logged twice.
    Keep its warnings (such as a failed cache dump) and drop its debug chatter."""
    logger = logging.getLogger("jieba")
    logger.handlers.clear()
    logger.setLevel(logging.WARNING)
