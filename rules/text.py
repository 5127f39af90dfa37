"""Chinese text analysis: which rule keywords a message contains as whole words, and where.

A keyword matches a word of the text as jieba cuts it, never a substring: 上访 is not in 我马上访问一下网站
(马上/访问) but is in 村民集体上访. The pipeline follows FIELD-GUIDE §2:

1. Normalise: full-width ASCII (ＰＸ，１２３) to half-width, the ideographic space to a space, ASCII
   letters to lower case. Every mapping is one character to one character, so offsets into the
   normalised text are offsets into ``Message.body``.
2. Prefilter with an Aho-Corasick automaton over the keywords: most messages contain none, and those
   never reach jieba (27 µs against 350 µs a message).
3. Confirm with jieba in search mode, which also yields the dictionary words inside longer tokens
   (爆炸 inside 发生爆炸, 跳楼 inside 欲跳楼, 上访 inside 集体上访). Every keyword is a jieba word with
   the default frequency; a large frequency would create new false positives (加强拆除 → 将加/强拆/除).

Not thread-safe: jieba's tokenizer and the keyword swap assume one analysing thread. The daemon
analyses on its evaluation thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import ahocorasick  # type: ignore[import-not-found,unused-ignore]  # no stubs
import jieba
import structlog

from rules.errors import ConfigError, Problem
from rules.model import Analysis, KeywordHit, Message

log = structlog.get_logger(__name__)

# U+FF01..U+FF5E are ASCII 0x21..0x7E shifted by 0xFEE0; U+3000 is the ideographic space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_TABLE = str.maketrans(_HALF_WIDTH | {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
                       | {code + 0xFEE0: code + 32 for code in range(ord("A"), ord("Z") + 1)})


def normalize(text: str) -> str:
    """Full-width ASCII to half-width, ASCII to lower case; same length, same offsets.

    Chinese punctuation outside the full-width ASCII block (。、《》「」) is left as it is.
    """
    return text.translate(_TABLE)


class _Keywords:
    """The automaton and the keywords it was built from; replaced whole on reload."""

    def __init__(self, words: frozenset[str]) -> None:
        self.originals: dict[str, tuple[str, ...]] = {}
        for word in sorted(words):
            key = normalize(word)
            if key.strip():
                self.originals[key] = (*self.originals.get(key, ()), word)
        self.long = tuple(k for k in self.originals if len(k) > 3)
        self.automaton: ahocorasick.Automaton | None = None
        if self.originals:
            automaton = ahocorasick.Automaton()
            for key in self.originals:
                automaton.add_word(key, key)
            automaton.make_automaton()
            self.automaton = automaton

    def candidates(self, text: str) -> set[str]:
        if self.automaton is None:
            return set()
        return {key for _end, key in self.automaton.iter(text)}


class Analyzer:
    """Finds rule keywords in messages with its own jieba tokenizer (not jieba's global one)."""

    def __init__(self, *, dictionary: Path | None = None, cache_dir: Path | None = None) -> None:
        self.dictionary = dictionary
        self._tokenizer = jieba.Tokenizer()
        if cache_dir is not None:
            # Under systemd's ProtectSystem=strict there is no writable /tmp: initialize() would raise.
            self._tokenizer.tmp_dir = str(cache_dir)
        self._initialized = False
        self._jieba_words: set[str] = set()
        self._keywords = _Keywords(frozenset())

    def initialize(self) -> None:
        """Load jieba's dictionary (about 0.7 s) and the user dictionary. Call once at startup so the
        first message does not pay for it. Raises ConfigError when the user dictionary is unusable."""
        if self._initialized:
            return
        quiet_jieba()
        self._tokenizer.initialize()
        if self.dictionary is not None:
            try:
                self._tokenizer.load_userdict(str(self.dictionary))
            except (OSError, ValueError) as exc:
                raise ConfigError([Problem(f"cannot load the jieba dictionary: {exc}",
                                           path=str(self.dictionary))]) from exc
        self._initialized = True
        log.info("analyzer.ready", dictionary=str(self.dictionary) if self.dictionary else None)

    def use_words(self, words: frozenset[str]) -> None:
        """Look for ``words`` from now on (a reload passes the new rule set's words).

        Words stay in jieba's dictionary once added (jieba cannot forget them safely); only the set
        looked for is replaced, in one assignment.
        """
        self.initialize()
        keywords = _Keywords(words)
        for key in keywords.originals:
            if key not in self._jieba_words:
                self._tokenizer.add_word(key)  # default frequency: never a large one
                self._jieba_words.add(key)
        self._keywords = keywords
        log.info("analyzer.words", words=len(keywords.originals), in_jieba=len(self._jieba_words))

    def analyze(self, message: Message) -> Analysis:
        """The keywords ``message.body`` contains as whole words, with character offsets."""
        keywords = self._keywords  # one reference for the whole call: a reload may swap it
        text = normalize(message.body)
        candidates = keywords.candidates(text)
        if not candidates:
            return Analysis(message)
        self.initialize()
        positions: dict[str, set[int]] = {}
        for key, start in self._confirmed(text, candidates, keywords):
            positions.setdefault(key, set()).add(start)
        hits = [KeywordHit(word, tuple(sorted(starts)))
                for key, starts in positions.items() for word in keywords.originals[key]]
        hits.sort(key=lambda h: (h.positions[0], h.word))
        return Analysis(message, tuple(hits))

    def _confirmed(self, text: str, candidates: set[str], keywords: _Keywords) -> Iterator[tuple[str, int]]:
        """(keyword, start) for every candidate jieba confirms as a word of ``text``."""
        long = [k for k in keywords.long if k in candidates]
        for token, start, end in self._tokenizer.tokenize(text, mode="search"):
            if token in candidates:
                yield token, start
            # Search mode yields only the 2- and 3-character words inside a longer token; a longer
            # keyword inside a longer token (a user-dictionary word) counts the same way.
            for key in long:
                if len(key) < end - start:
                    found = token.find(key)
                    while found >= 0:
                        yield key, start + found
                        found = token.find(key, found + 1)


def quiet_jieba() -> None:
    """jieba adds its own stderr handler and also propagates: every line would be logged twice.
    Keep its warnings (such as a failed cache dump) and drop its debug chatter."""
    logger = logging.getLogger("jieba")
    logger.handlers.clear()
    logger.setLevel(logging.WARNING)
