"""A normalised view of a text for finding personal numbers, mapped back to the text's positions.

People (and evasive posters) write numbers in many ways: full-width digits (１３８…), ideographic or
no-break spaces, full-width dashes and dots, zero-width characters between the digits. The view is
the text in NFKC, character by character, with invisible characters dropped and decimal digits of
any script made ASCII; ``origin[i]`` is the index in the original text of view character ``i``, so a
match in the view can be masked in the original, which keeps its look and its length.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Invisible characters that are not Unicode format characters (category Cf: zero-width space and
# joiners, word joiner, BOM, soft hyphen, bidi marks, Mongolian vowel separator are).
_ALSO_INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0")  # grapheme joiner, Hangul fillers


def invisible(ch: str) -> bool:
    """Zero-width and format characters, variation selectors, fillers: nothing a reader sees."""
    code = ord(ch)
    return (unicodedata.category(ch) == "Cf" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF
            or ch in _ALSO_INVISIBLE)


@dataclass(frozen=True)
class View:
    text: str
    origin: tuple[int, ...]  # index in the original text of each character of ``text``


def view_of(text: str) -> View:
    if text.isascii():
        return View(text, tuple(range(len(text))))
    parts: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        if ch.isascii():
            parts.append(ch)
            origin.append(index)
            continue
        if invisible(ch):
            continue
        normal = "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c
                         for c in unicodedata.normalize("NFKC", ch))
        parts.append(normal)
        origin.extend([index] * len(normal))
    return View("".join(parts), tuple(origin))
