"""Which encoding an inbound file is in, checked over the whole file before a record is read.

UTF-8 (with or without BOM) first. Otherwise the legacy CJK encodings a county meets are tried: GB18030
(the national standard, a superset of GBK and GB2312), Big5 (Taiwan and Hong Kong posts, read as
Big5-HKSCS), Shift_JIS and EUC-KR. Most Big5 and EUC-KR byte sequences are also valid GB18030, so
decoding without error proves little: each encoding that decodes the whole file is scored on how much
of its text is what that language is written with (common hanzi, kana, hangul, punctuation), and only
a clear winner is used. Ties go to charset-normalizer; a file still in doubt is refused with the scores
as the reason, so mojibake is never graded.

GB18030 is read the Windows way too: code page 936 writes the euro sign as the single byte 0x80, which
strict GB18030 refuses, so ``gb18030-windows`` reads that byte as € and everything else as GB18030.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from typing import IO, TYPE_CHECKING

from charset_normalizer import from_bytes

if TYPE_CHECKING:
    from typing_extensions import Buffer

CHUNK = 1 << 20
MAX_CONTROL_SHARE = 0.01  # more control characters than this and it is not text a person wrote
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
GB18030 = "gb18030-windows"
_EURO_ERRORS = "yuqing-cp936-euro"
LEGACY = {GB18030: "zh", "big5hkscs": "zh", "cp932": "ja", "euc_kr": "ko"}  # encoding: language, in order
SHOWN = {GB18030: "GB18030", "big5hkscs": "Big5", "cp932": "Shift_JIS", "euc_kr": "EUC-KR"}
PLAUSIBLE = 0.9  # the share of a text's non-ASCII characters that must be usual in its language
SAMPLE = 256 * 1024  # bytes scored; the whole file is still checked to decode


class FileRejected(Exception):
    """The whole file is unusable; the reason goes into ``<name>.error.txt``."""


def _euro(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeDecodeError) and exc.object[exc.start:exc.start + 1] == b"\x80":
        return "€", exc.start + 1
    raise exc


codecs.register_error(_EURO_ERRORS, _euro)
_BASE = codecs.lookup("gb18030")


class _WindowsDecoder(_BASE.incrementaldecoder):  # type: ignore[misc, name-defined]
    # A C type: the error handler is fixed when the object is made, in __new__.
    def __new__(cls, errors: str = "strict") -> _WindowsDecoder:
        decoder: _WindowsDecoder = super().__new__(cls, _EURO_ERRORS if errors == "strict" else errors)
        return decoder


def _decode(data: Buffer, errors: str = "strict", /) -> tuple[str, int]:
    return _BASE.decode(data, _EURO_ERRORS if errors == "strict" else errors)


_WINDOWS = codecs.CodecInfo(_BASE.encode, _decode, incrementalencoder=_BASE.incrementalencoder,
                            incrementaldecoder=_WindowsDecoder, streamreader=_BASE.streamreader,
                            streamwriter=_BASE.streamwriter, name=GB18030)
codecs.register(lambda name: _WINDOWS if name.replace("_", "-") == GB18030 else None)


def sniff_encoding(fh: IO[bytes], *, allow_utf16: bool = False) -> str:
    """UTF-8 (BOM or not), else the one legacy CJK encoding the text plausibly is in; UTF-16 with a BOM
    for CSV and TXT, as Excel's "Unicode text" export writes it. Reads the whole file in chunks, and
    rejects binary junk (NUL bytes, many control characters) on the way."""
    head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif allow_utf16 and head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        candidates = ["utf-16"]
    else:
        fh.seek(0)
        offset = _scan(fh, "utf-8")
        return "utf-8" if offset < 0 else _legacy(fh, offset)
    fh.seek(0)
    offset = _scan(fh, candidates[0])
    if offset < 0:
        return candidates[0]
    raise FileRejected(f"not {_shown(candidates[0])} text (undecodable byte at offset {offset})")


def _legacy(fh: IO[bytes], utf8_offset: int) -> str:
    fits = []
    for encoding in LEGACY:
        fh.seek(0)
        if _scan(fh, encoding) < 0:
            fits.append(encoding)
    if not fits:
        raise FileRejected(f"not UTF-8 text (undecodable byte at offset {utf8_offset}), nor"
                           f" {', '.join(SHOWN.values())}")
    fh.seek(0)
    sample = fh.read(SAMPLE)
    scores = {encoding: plausibility(_decoded(sample, encoding), LEGACY[encoding]) for encoding in fits}
    likely = _tie_break(sample, [e for e in fits if scores[e] >= PLAUSIBLE])
    if len(likely) == 1:
        return likely[0]
    shown = ", ".join(f"{SHOWN[e]} {scores[e]:.0%}" for e in sorted(fits, key=lambda e: -scores[e]))
    doubt = "could be any of " + " or ".join(SHOWN[e] for e in likely) if likely else "reads as mojibake"
    raise FileRejected(f"unsure of the encoding: not UTF-8, and the text {doubt} (usual characters: {shown});"
                       " save it as UTF-8 and send it again")


def _tie_break(sample: bytes, likely: list[str]) -> list[str]:
    """Korean read as GB18030 is all common hanzi, but Korean puts spaces between words and Chinese
    does not; between the rest charset-normalizer (character frequencies per language) decides."""
    if "euc_kr" in likely and len(likely) > 1:
        korean = _decoded(sample, "euc_kr")
        hangul = sum(1 for ch in korean if _kind(ch) == "hangul")
        spaced = len(_SPACED_HANGUL.findall(korean)) >= 0.1 * hangul
        likely = ["euc_kr"] if spaced else [e for e in likely if e != "euc_kr"]
    if len(likely) > 1:
        names = {("gb18030" if e == GB18030 else e): e for e in likely}
        best = from_bytes(sample, cp_isolation=list(names)).best()
        if best is not None and best.encoding in names:
            return [names[best.encoding]]
    return likely


_SPACED_HANGUL = re.compile(r"[\uac00-\ud7a3] (?=[\uac00-\ud7a3])")


def _decoded(sample: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)().decode(sample, final=False)  # the whole file decodes


def plausibility(text: str, language: str) -> float:
    """The share of the non-ASCII characters that are usual in ``language``: common hanzi (GB2312,
    Big5 level 1 or JIS level 1) and punctuation for Chinese, with kana for Japanese, hangul for Korean.
    Mojibake is full of kana in Chinese, half-width katakana, private-use and rare characters."""
    kinds = [_kind(ch) for ch in text if ord(ch) > 0x7F]
    if not kinds:
        return 1.0
    usual = {"zh": ("han", "punct"), "ja": ("han", "kana", "punct"), "ko": ("hangul", "punct")}[language]
    if language == "ja" and kinds.count("kana") < 0.05 * len(kinds):
        return 0.0  # Japanese without kana is not Japanese
    return sum(1 for kind in kinds if kind in usual) / len(kinds)


@functools.lru_cache(maxsize=65536)
def _kind(ch: str) -> str:
    code = ord(ch)
    if 0x3040 <= code <= 0x30FF:
        return "kana"
    if 0xAC00 <= code <= 0xD7A3:
        return "hangul"
    if 0x4E00 <= code <= 0x9FFF:
        return "han" if _common_han(ch) else "rare"
    if 0xFF61 <= code <= 0xFF9F:
        return "other"  # half-width katakana: what GB18030 bytes look like read as Shift_JIS
    if unicodedata.category(ch) in ("Sc", "Sm", "Zs") or unicodedata.category(ch)[0] == "P" or _symbol_row(ch):
        return "punct"
    return "other"  # letters of other scripts, box drawing, private use: what mojibake is made of


def _symbol_row(ch: str) -> bool:
    """The punctuation and symbol rows of GB2312 (℃, ①, full-width forms) and Big5."""
    return _in_rows(ch, (("gb2312", 0xA1A1, 0xA3FE), ("big5", 0xA140, 0xA3BF)))


def _common_han(ch: str) -> bool:
    return _in_rows(ch, (("gb2312", 0xB0A1, 0xF7FE), ("big5", 0xA440, 0xC67E), ("cp932", 0x889F, 0x9872)))


def _in_rows(ch: str, rows: tuple[tuple[str, int, int], ...]) -> bool:
    """Whether ``ch`` encodes, in one of the encodings, to a code within that encoding's range."""
    for encoding, low, high in rows:
        try:
            code = int.from_bytes(ch.encode(encoding), "big")
        except UnicodeError:
            continue
        if low <= code <= high:
            return True
    return False


def _shown(encoding: str) -> str:
    return SHOWN.get(encoding) or encoding.upper().replace("-SIG", "")


def _scan(fh: IO[bytes], encoding: str) -> int:
    """-1 when the whole file decodes as ``encoding``, else the offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    done = chars = controls = 0
    while True:
        chunk = fh.read(CHUNK)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return done + max(exc.start, 0)
        if "\x00" in text:
            raise FileRejected("binary content (NUL bytes)")
        chars += len(text)
        controls += len(_CONTROLS.findall(text))
        done += len(chunk)
        if not chunk:
            break
    if controls > max(2, chars * MAX_CONTROL_SHARE):
        raise FileRejected(f"binary content ({controls} control characters in {chars})")
    return -1
