"""Inbound file formats: JSON, JSONL, CSV, EML and TXT, each read into ``Record``s one at a time.

Every reader first checks the whole file (size, regular file, encoding, binary junk) and only then
yields records, so a rejected file has produced nothing. JSONL and CSV are streamed: a 100,000-line
export is read in bounded memory. A record either carries a ``Message`` or an error naming its place
(``line 7``, ``record 3``, ``row 12 (line 13)``), so the good records of a partly bad file go on.
"""

from __future__ import annotations

import contextlib
import csv
import email
import email.errors
import email.policy
import email.utils
import errno
import io
import itertools
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

from daemon.config import CSV_FIELDS, InboxSpec
from daemon.ingest.encodings import GB18030, sniff_encoding
from daemon.ingest.encodings import FileRejected as FileRejected  # where callers have always found it
from rules.message import MessageError, message_from_dict
from rules.model import Message

SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv",
            ".eml": "eml", ".txt": "txt"}


class ReaderFailed(FileRejected):
    """A reader raised something it should have turned into a reason: still that file's problem only.
    The original exception is the ``__cause__``, for the log."""


@dataclass(frozen=True)
class Record:
    where: str  # "record 3", "line 7", "row 2 (line 3)"
    message: Message | None = None
    error: str | None = None


def format_of(name: str, spec: InboxSpec) -> str:
    if spec.format:
        return spec.format
    fmt = SUFFIXES.get(os.path.splitext(name)[1].lower())
    if fmt is None:
        raise FileRejected(f"unknown file type: use one of {', '.join(sorted(SUFFIXES))}"
                           " or set the inbox's format")
    return fmt


def read_records(path: Path, spec: InboxSpec, max_bytes: int, *, dir_fd: int | None = None) -> Iterator[Record]:
    """Records of a file in ``processing/`` (``path.name`` in the folder ``dir_fd`` when given). Raises
    FileRejected for a bad file (at the first ``next`` when the whole file is bad), OSError for a
    failing disk, and nothing else."""
    return _guarded(_read_records(path, spec, max_bytes, dir_fd))


def _guarded(records: Iterator[Record]) -> Iterator[Record]:
    """Whatever a reader raises is the input's problem: a FileRejected with a reason, never a crash."""
    try:
        yield from records
    except (FileRejected, OSError):
        raise
    except Exception as exc:
        raise ReaderFailed(f"could not be read: {type(exc).__name__}: {exc}") from exc


def _read_records(path: Path, spec: InboxSpec, max_bytes: int, dir_fd: int | None) -> Iterator[Record]:
    fmt = format_of(path.name, spec)
    with _open_regular(path, max_bytes, dir_fd) as fh:
        if fmt == "eml":
            yield from _eml_records(fh, spec)
            return
        encoding = sniff_encoding(fh, allow_utf16=fmt in ("csv", "txt"))
        fh.seek(0)
        text = io.TextIOWrapper(fh, encoding=encoding, newline="" if fmt == "csv" else None)
        try:
            yield from records_from_text(text, fmt, spec, max_bytes)
        finally:
            text.detach()  # the outer `with` closes the file


def records_from_bytes(data: bytes, fmt: str, spec: InboxSpec) -> Iterator[Record]:
    """The same readers over a request body (HTTP ingest); the same guarantee as ``read_records``."""
    return _guarded(_records_from_bytes(data, fmt, spec))


def _records_from_bytes(data: bytes, fmt: str, spec: InboxSpec) -> Iterator[Record]:
    fh = io.BytesIO(data)
    if fmt == "eml":
        yield from _eml_records(fh, spec)
        return
    encoding = sniff_encoding(fh, allow_utf16=fmt in ("csv", "txt"))
    yield from records_from_text(io.StringIO(data.decode(encoding), newline=None), fmt, spec, len(data))


def records_from_text(text: IO[str], fmt: str, spec: InboxSpec, max_bytes: int) -> Iterator[Record]:
    if fmt == "json":
        return _json_records(text.read(), spec)
    if fmt == "jsonl":
        return _jsonl_records(text, spec)
    if fmt == "csv":
        _allow_csv_cells(max_bytes)
        return _csv_records(text, spec)
    return _txt_records(text.read(), spec)


@contextlib.contextmanager
def _open_regular(path: Path, max_bytes: int, dir_fd: int | None) -> Iterator[IO[bytes]]:
    """Never follows a symbolic link, never blocks on a FIFO, never reads past the size limit."""
    try:
        fd = os.open(path if dir_fd is None else path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileRejected("symbolic links are not followed") from None
        raise FileRejected(f"cannot open: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRejected("not a regular file")
        if st.st_size > max_bytes:
            raise FileRejected(f"file is {st.st_size} bytes, over the limit of {max_bytes}")
        yield fh


# ---------------------------------------------------------------- JSON, JSONL, TXT


def _message(where: str, record: object, spec: InboxSpec, *, fallback_source: str | None = None) -> Record:
    try:
        return Record(where, message_from_dict(record, default_source=spec.source or fallback_source,
                                               default_region=spec.region))
    except MessageError as exc:
        return Record(where, error=str(exc))


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def _json_records(text: str, spec: InboxSpec) -> Iterator[Record]:
    try:
        data = _loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise FileRejected(str(exc)) from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise FileRejected("no messages in file")
    return (_message(f"record {i}", item, spec) for i, item in enumerate(items, 1))


def _jsonl_records(lines: Iterable[str], spec: InboxSpec) -> Iterator[Record]:
    empty = True
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        empty = False
        where = f"line {number}"
        try:
            record = _loads(line)
        except json.JSONDecodeError as exc:
            yield Record(where, error=f"invalid JSON at column {exc.colno}: {exc.msg}")
            continue
        except ValueError as exc:
            yield Record(where, error=str(exc))
            continue
        yield _message(where, record, spec)
    if empty:
        raise FileRejected("no messages in file")


def _txt_records(text: str, spec: InboxSpec) -> Iterator[Record]:
    if not text.strip():
        raise FileRejected("no text in file")
    # A plain text file says nothing but its words: where it came from is the inbox's to say.
    yield _message("file", {"text": text.strip()}, spec, fallback_source="other")


# ---------------------------------------------------------------- CSV


_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:[\sT]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2}))?秒?)?\s*$")


def _iso_time(value: str) -> str:
    """Spreadsheet dates (``2026/11/20 9:30``, ``2026年11月20日``) as ISO-8601; anything else unchanged."""
    found = _DATE.match(value)
    if found is None:
        return value
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in found.groups())
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"


def _allow_csv_cells(max_bytes: int) -> None:
    """A cell as long as the file may be: the csv module's default of 131,072 characters refuses a
    long hotline transcript. The setting is process-wide, so it only ever grows."""
    if csv.field_size_limit() < max_bytes:
        csv.field_size_limit(max_bytes)


def _csv_records(text: IO[str], spec: InboxSpec) -> Iterator[Record]:
    header_line = text.readline()
    if not header_line.strip():
        raise FileRejected("no header line in CSV file")
    delimiter = spec.csv.delimiter or max(",\t;|", key=header_line.count)
    reader = csv.reader(itertools.chain([header_line], text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    columns = _csv_columns(header, spec)
    rows = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Record(f"line {start}", error=f"CSV: {exc}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        rows += 1
        yield _message(f"row {rows} (line {start})", _csv_object(row, columns), spec)
    if not rows:
        raise FileRejected("no rows in CSV file")


def _csv_columns(header: list[str], spec: InboxSpec) -> list[tuple[str, list[int]]]:
    """(field, column indexes) from the inbox's mapping, else headers that are field names already."""
    index = {name.lower(): i for i, name in enumerate(header)}
    if not spec.csv.columns:
        found = [(name, [index[name]]) for name in CSV_FIELDS if name in index]
        if not any(name == "text" for name, _ in found):
            raise FileRejected(f'no "text" column in the header ({", ".join(header)}) and no csv columns'
                               " mapping for this inbox")
        return found
    out = []
    for field, names in spec.csv.columns:
        missing = [n for n in names if n.lower() not in index]
        if missing:
            raise FileRejected(f'column "{missing[0]}" (for {field}) is not in the header: {", ".join(header)}')
        out.append((field, [index[n.lower()] for n in names]))
    return out


def _csv_object(row: list[str], columns: list[tuple[str, list[int]]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for field, indexes in columns:
        cells = [row[i].strip() for i in indexes if i < len(row) and row[i].strip()]
        if not cells:
            continue
        value = "\n".join(cells)
        if field == "published_at":
            value = _iso_time(value)
        head, _, tail = field.partition(".")
        if tail:
            nested = obj.setdefault(head, {})
            if isinstance(nested, dict):
                nested[tail] = value
        elif field == "author":
            obj.setdefault("author", {})["name"] = value
        else:
            obj[field] = value
    return obj


# ---------------------------------------------------------------- EML


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(html: str) -> str:
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()


def _eml_records(fh: IO[bytes], spec: InboxSpec) -> Iterator[Record]:
    mail = email.message_from_binary_file(fh, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    try:  # the header parser raises IndexError and the like on malformed values: all inside this block
        if not (mail["From"] or mail["Subject"] or mail["Date"]):
            raise FileRejected("not an e-mail message (no From, Subject or Date header)")
        part = mail.get_body(preferencelist=("plain", "html"))
        body = _part_text(part) if part is not None else ""
        if part is not None and part.get_content_type() == "text/html":
            body = strip_html(body)
        subject = str(mail["Subject"] or "")
        sender = email.utils.parseaddr(str(mail["From"] or ""))
    except (LookupError, ValueError, TypeError, AttributeError, IndexError, email.errors.MessageError) as exc:
        raise FileRejected(f"unreadable e-mail: {type(exc).__name__}: {exc}") from None
    obj: dict[str, Any] = {"title": subject.strip(), "text": body.strip() if isinstance(body, str) else ""}
    if sender[0] or sender[1]:
        obj["author"] = {"name": sender[0] or sender[1], "id": sender[1] or None}
    message_id = _raw_header(mail, "Message-ID").strip().strip("<>").strip()
    if message_id:  # read raw: the parsed header raises on ids such as "<>" that change nothing here
        obj["id"] = "mail-" + message_id
    with contextlib.suppress(TypeError, ValueError, IndexError, LookupError, email.errors.MessageError):
        if mail["Date"]:
            obj["published_at"] = email.utils.parsedate_to_datetime(str(mail["Date"])).isoformat()
    yield _message("message", obj, spec, fallback_source="other")


_GB_NAMES = ("gb2312", "gbk", "x-gbk", "cp936", "gb18030", "euc-cn")
_WESTERN = ("iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252")  # decode any byte: often a mislabel


def _part_text(part: MIMEPart) -> str:
    """The declared charset if the body is valid in it (any GB name read as GB18030, the superset),
    else what the file readers would detect: get_content() would put U+FFFD for every byte of a body
    with no or a wrong charset, and the message would be graded as mojibake."""
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return str(part.get_content())
    charset = (part.get_content_charset() or "").lower()
    if charset in _GB_NAMES:
        charset = GB18030
    if charset in _WESTERN and not raw.isascii():
        with contextlib.suppress(FileRejected):  # Chinese text a mail program labelled Latin-1
            return raw.decode(sniff_encoding(io.BytesIO(raw)))
    if charset not in ("", "us-ascii", "ascii"):
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return raw.decode(charset)
    return raw.decode(sniff_encoding(io.BytesIO(raw)))


def _raw_header(mail: EmailMessage, name: str) -> str:
    """A header as written; 8-bit bytes that are not UTF-8 make it count as absent."""
    for key, value in mail.raw_items():
        if key.lower() == name.lower():
            try:
                text = str(value).encode("utf-8", "surrogateescape").decode("utf-8")
            except UnicodeError:
                return ""
            return re.sub(r"\s+", " ", text)
    return ""
