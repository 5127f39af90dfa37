"""Which encoding an inbound file is in, checked over the whole file before a record is read.

UTF-8 (with or without BOM) first; else GB18030, the national standard and a superset of GBK and
GB2312. GB18030 is read the Windows way too: code page 936 writes the euro sign as the single byte 0x80,
which strict GB18030 refuses, so ``gb18030-windows`` reads that byte as € and everything else as GB18030.
"""

from __future__ import annotations

import codecs
import re
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Buffer

CHUNK = 1 << 20
MAX_CONTROL_SHARE = 0.01  # more control characters than this and it is not text a person wrote
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
GB18030 = "gb18030-windows"
_EURO_ERRORS = "yuqing-cp936-euro"


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
    """UTF-8 (BOM or not), else GB18030; UTF-16 with a BOM for CSV and TXT, as Excel's "Unicode text"
    export writes it. Reads the whole file once, in chunks, and rejects binary junk (NUL bytes, many
    control characters) on the way."""
    head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif allow_utf16 and head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", GB18030]
    offset = 0
    for encoding in candidates:
        fh.seek(0)
        offset = _scan(fh, encoding)
        if offset < 0:
            return encoding
    names = " or ".join(_shown(c) for c in candidates)
    raise FileRejected(f"not {names} text (undecodable byte at offset {offset})")


def _shown(encoding: str) -> str:
    return "GB18030" if encoding == GB18030 else encoding.upper().replace("-SIG", "")


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
