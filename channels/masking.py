"""Masking of personal data (informants' phone, ID and bank numbers) in notification text.

What is masked, and what stays visible:

- mobile: ``1[3-9]`` and 9 more digits, optionally ``+86``/``86`` and ``-``/space groups
  → ``138****0001`` (first 3 and last 4 shown);
- landline: ``0`` and a 2–3 digit area code, then 7–8 digits (``010-12345678``, ``(0571)88886666``)
  → ``010-****5678`` (area code and last 4);
- ID card (居民身份证): 17 digits and a digit or ``X`` → ``110*************34`` (first 3 and last 2);
- bank card: 16–19 digits, optionally in groups of 4 → ``************1234`` (last 4).

ID numbers keep only 3 leading digits, not the 6 of the region code: in a county bulletin the full region
code plus the last digits narrows a person down too far. Masking keeps the text's length (one ``*`` per
digit, separators kept) so SMS length budgets computed before masking still hold.

Ordinary figures are left alone: dates and times, money, counts (1200, 200000), anything under 11 digits
that is not a landline. Links are never touched: a masked digit would break the way to the original post.
"""

from __future__ import annotations

import re

# ASCII only: Chinese text written right after a link (链接https://…电话138…) is not part of the link.
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)

# One pass with alternatives in priority order; every alternative starts and ends at a digit-run boundary,
# so a long number is never masked piecewise by a shorter pattern. ASCII digits only: \d would also match
# full-width digits and other scripts, which the mask functions below count differently.
_D = "[0-9]"
_PATTERN = re.compile(
    rf"(?<![0-9A-Za-z])(?P<id>{_D}{{17}}[0-9Xx])(?![0-9A-Za-z])"
    rf"|(?<![0-9])(?P<bank>[1-9]{_D}{{3}}(?:[ -]?{_D}{{4}}){{3}}(?:[ -]?{_D}{{1,3}})?)(?![0-9])"
    rf"|(?<![0-9+])(?P<cc>(?:\+|00)?86[ -]?)?(?P<mobile>1[3-9]{_D}[ -]?{_D}{{4}}[ -]?{_D}{{4}})(?![0-9])"
    rf"|(?<![0-9])(?P<area>[(（]?0{_D}{{2,3}}[)）]?[ -]?)(?P<local>[1-9]{_D}{{2,3}}[ -]?{_D}{{4}})(?![0-9])"
)


def mask(text: str) -> str:
    """``text`` with personal numbers masked; links and ordinary figures unchanged. Idempotent."""
    out: list[str] = []
    last = 0
    for link in _URL.finditer(text):
        out.append(_PATTERN.sub(_replace, text[last : link.start()]))
        out.append(link.group(0))
        last = link.end()
    out.append(_PATTERN.sub(_replace, text[last:]))
    return "".join(out)


def _replace(match: re.Match[str]) -> str:
    if match.group("id") is not None:
        return _mask_digits(match.group("id"), head=3, tail=2)
    if match.group("bank") is not None:
        return _mask_digits(match.group("bank"), head=0, tail=4)
    if match.group("mobile") is not None:
        return (match.group("cc") or "") + _mask_digits(match.group("mobile"), head=3, tail=4)
    return match.group("area") + _mask_digits(match.group("local"), head=0, tail=4)


def _mask_digits(text: str, *, head: int, tail: int) -> str:
    """Replace the digits (and an ID card's X) between the first ``head`` and last ``tail`` with ``*``."""
    positions = [i for i, ch in enumerate(text) if ch.isdigit() or ch in "Xx"]
    hidden = set(positions[head : len(positions) - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))
