"""Masking of personal data (informants' phone, ID and bank numbers) in text that leaves the process.

What is masked, and what stays visible:

- mobile: ``1[3-9]`` and 9 more digits, optionally ``+86``/``86`` → ``138****0001`` (first 3 and last 4);
- landline: ``0`` and a 2–3 digit area code, then 7–8 digits (``010-12345678``, ``(0571)88886666``)
  → ``010-****5678`` (area code and last 4);
- ID card (居民身份证): 17 digits and a digit or ``X`` → ``110*************34`` (first 3 and last 2);
- bank card: 16–19 digits → ``************1234`` (last 4).

Numbers are found on a normalised view of the text (``channels.textview``): NFKC, so full-width
digits count (１３８…), invisible characters (zero-width space, joiners, BOM, soft hyphen, variation
selectors) dropped, and up to three separators — spaces of any width, dashes, dots, middle dots,
underscores — allowed between any two digits (``138 0000 0001``, ``138.0000.0001``, ``1 3 8…``).
The digits found are masked in the original text, one ``*`` per character, so the text keeps its look
and its length (SMS length budgets computed before masking still hold).

ID numbers keep only 3 leading digits, not the 6 of the region code: in a county bulletin the full region
code plus the last digits narrows a person down too far.

Ordinary figures are left alone: dates and times, money, counts (1200, 200000), anything under 11 digits
that is not a landline. Links are never touched: a masked digit would break the way to the original post.
"""

from __future__ import annotations

import re

from channels.textview import view_of

# ASCII only: Chinese text written right after a link (链接https://…电话138…) is not part of the link.
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)

# Between two digits of one number: up to three separators (after NFKC: ideographic and no-break
# spaces are " ", full-width dash and dot are "-" and ".").
_SEP = "[ \t\\-._·・\u2010-\u2015\u2212]"
_G = f"{_SEP}{{0,3}}"
_D = f"{_G}[0-9]"  # a further digit of the same number

# One pass with alternatives in priority order; every alternative starts and ends at a digit-run boundary,
# so a long number is never masked piecewise by a shorter pattern.
_PATTERN = re.compile(
    rf"(?<![0-9A-Za-z])(?P<id>[0-9](?:{_D}){{16}}{_G}[0-9Xx])(?![0-9A-Za-z])"
    rf"|(?<![0-9])(?P<bank>[1-9](?:{_D}){{15,18}})(?![0-9])"
    rf"|(?<![0-9+])(?P<cc>(?:\+|00)?86{_G})?(?P<mobile>1{_G}[3-9](?:{_D}){{9}})(?![0-9])"
    rf"|(?<![0-9])(?P<area>[(（]?0[0-9]{{2,3}}[)）]?{_G})(?P<local>[1-9](?:{_D}){{6,7}})(?![0-9])"
)
# (group, digits shown at the start, digits shown at the end)
_SHOWN = {"id": (3, 2), "bank": (0, 4), "mobile": (3, 4), "local": (0, 4)}


# Characters that may stand for a digit in the view: decimal digits of any script and width (\d),
# superscripts, subscripts, circled and parenthesised digits (NFKC makes digits of them).
_DIGITISH = re.compile(r"\d|[\u00b2\u00b3\u00b9\u2070-\u2089\u2460-\u249b\u24ea-\u24ff\u2776-\u2793]")
_FEWEST_DIGITS = 7  # a landline's local number; every pattern has at least this many


def mask(text: str) -> str:
    """``text`` with personal numbers masked; links and ordinary figures unchanged. Idempotent; the
    result has the length of ``text``."""
    if len(_DIGITISH.findall(text)) < _FEWEST_DIGITS:
        return text  # most log fields and titles: nothing that could be a number worth hiding
    view = view_of(text)
    hidden: set[int] = set()
    last = 0
    for link in _URL.finditer(view.text):
        hidden |= _hidden_in(view.text, last, link.start())
        last = link.end()
    hidden |= _hidden_in(view.text, last, len(view.text))
    if not hidden:
        return text
    masked = {view.origin[i] for i in hidden}
    return "".join("*" if i in masked else ch for i, ch in enumerate(text))


def _hidden_in(view: str, start: int, end: int) -> set[int]:
    """View positions of the digits to hide in ``view[start:end]``."""
    hidden: set[int] = set()
    for match in _PATTERN.finditer(view[start:end]):
        group = next(g for g in _SHOWN if match.group(g) is not None)
        head, tail = _SHOWN[group]
        digits = [start + match.start(group) + i for i, ch in enumerate(match.group(group))
                  if ch.isdigit() or ch in "Xx"]
        hidden.update(digits[head : len(digits) - tail])
    return hidden
