"""Bulk issuing: read a CSV or XLSX upload of recipients and validate it row by row.

Pure: no clock, no randomness, no I/O beyond reading the bytes or stream handed in. The
upload is validated twice with the same code: once for the report shown before anything
is issued (:func:`validate`), then again, streaming, by the background job that issues
(:func:`validate_stream`). :meth:`BulkRow.fingerprint` is the job's idempotency key.

Columns
-------
Headers are matched case-insensitively with surrounding spaces ignored; their order is free.

- ``email``: the recipient's email (the rule of ``credentials.RecipientEmail``; kept
  normalised: stripped, lower case)
- ``did``: the recipient's DID (the rule of ``credentials.RecipientDid``)
- ``name``: the learner's display name
- ``valid_from``, ``valid_until``, ``awarded_date``, ``activity_start``, ``activity_end``:
  an ISO 8601 date-time with a time zone (``2024-01-31T12:00:00Z``,
  ``2024-01-31T13:00:00+01:00``) or a plain date ``2024-01-31`` meaning
  ``2024-01-31T00:00:00Z``; kept as aware UTC datetimes. ``valid_until`` must be after
  ``valid_from`` and ``activity_end`` not before ``activity_start``.
- ``credits_earned``: a number >= 0 with a dot as decimal separator (``2``, ``2.5``, ``1e3``)
- ``evidence_url``: an absolute http(s) URL
- ``evidence_narrative``: free text
- ``result``: a result value (``Result.value``), free text
- ``narrative``: free text (``AchievementSubject.narrative``)

The file needs an ``email`` or a ``did`` column (or both); every row fills exactly one of
them. All other columns are optional and every cell in them may be blank. Cell text is
stripped; a blank cell means "not given". Any other header, a header given twice, or no
recipient column is a file-level error (reported on the header row, usually row 1) and
the rows are then not checked. Blank header cells are ignored unless a row has a value
under them (or beyond the last header), which is an error on that row.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is
row 2; blank rows are skipped but keep their number. Decisions worth knowing:

* ``valid_from`` left blank stays ``None`` in :class:`BulkRow` (the job fills in its own
  default), so the fingerprint does not depend on when the job runs; ``default_valid_from``
  is only used to check that ``valid_until`` comes after it.
* A row identical (same fingerprint) to an earlier valid row is an error on the later row,
  ``"duplicate of row N"``. The same recipient on two valid rows with different data is a
  *warning* on the later row (:attr:`BulkReport.warnings`): both rows are issued (someone may
  legitimately earn the achievement twice, e.g. in two terms), but the report shows it
  before anything is issued. Warnings do not make a report not ``ok``.
* Decimal commas (``1,5``) are refused with a hint rather than guessed (``1,000``?).
* XLSX cells: numbers become text without a trailing ``.0`` for integers; date cells
  become ``YYYY-MM-DD`` at midnight, otherwise ``YYYY-MM-DDTHH:MM:SSZ`` (Excel stores no
  time zone, so a date-time cell is read as UTC; type the text with an offset to say
  otherwise); formulas are read as their cached values.
* Only UTF-8 CSV (with or without a BOM) is accepted; any other encoding is refused with a
  hint to save as "CSV UTF-8", because guessing Latin-1 vs CP1252 silently corrupts names.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from typing import IO, Any, Final, Literal, Protocol, Self, TypeVar, cast
from urllib.parse import urlsplit

import openpyxl  # type: ignore[import-untyped]
from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

from credstack.domain.achievements import EMAIL_RE
from credstack.domain.credentials import (
    Evidence,
    Recipient,
    RecipientDid,
    RecipientEmail,
    Result,
    format_datetime,
    normalize_email,
    parse_datetime,
)
from credstack.domain.errors import Invalid

RECIPIENT_COLUMNS: Final = ("email", "did")
DATE_COLUMNS: Final = (
    "valid_from",
    "valid_until",
    "awarded_date",
    "activity_start",
    "activity_end",
)
COLUMNS: Final = (
    "email",
    "did",
    "name",
    *DATE_COLUMNS,
    "credits_earned",
    "evidence_url",
    "evidence_narrative",
    "result",
    "narrative",
)
MAX_ROWS: Final = 200_000
MAX_ERRORS: Final = 1_000
#: Key under which a parsed row carries a value found under a blank header or beyond the last.
UNLABELED: Final = ""
_FINGERPRINT_VERSION: Final = "credstack.bulk-row.v1"
_CHUNK: Final = 1 << 16
_MAX_LINE: Final = 1 << 24
#: What a 200,000-row sheet unpacks to is far less; zipfile reads no more than declared.
_MAX_UNPACKED: Final = 1 << 30
_COLUMN_ORDER: Final = {name: i for i, name in enumerate(COLUMNS)}
#: JSON string literal (quotes, escapes; non-ASCII as is), C-accelerated.
_json_string: Final[Callable[[str], str]] = json.encoder.encode_basestring

_NEWLINE_RE = re.compile(r"\r\n|\r|\n")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_DECIMAL_COMMA_RE = re.compile(r"^[+-]?\d+,\d+$")
_ZIP_MAGIC: Final = b"PK\x03\x04"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0"
_SAVE_AS_UTF8: Final = "save it as 'CSV UTF-8' and upload it again"
#: What openpyxl and zipfile raise on a damaged or foreign workbook (xml ParseError is a
#: SyntaxError; defusedxml's refusals are ValueErrors).
_XLSX_ERRORS: Final = (
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    OSError,
    EOFError,
    SyntaxError,
    InvalidFileException,
)

RecipientKind = Literal["email", "did"]
_T = TypeVar("_T")


def _instant(moment: datetime) -> str:
    if moment.tzinfo is not UTC:
        format_datetime(moment)  # refuses a naive datetime
        moment = moment.astimezone(UTC)
    return moment.isoformat()


# -- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecipientSpec:
    """Who a row is for: a normalised email (stripped, lower case) or a DID."""

    kind: RecipientKind
    value: str

    def __post_init__(self) -> None:
        if self.kind == "email":
            if not isinstance(self.value, str) or not EMAIL_RE.match(normalize_email(self.value)):
                raise Invalid(f"{self.value!r} is not an email address")
            object.__setattr__(self, "value", normalize_email(self.value))
        elif self.kind == "did":
            RecipientDid(self.value)
        else:
            raise Invalid(f"recipient kind {self.kind!r} is not 'email' or 'did'")

    def to_recipient(self, salt: str | None = None) -> Recipient:
        """The credential recipient; an email needs the (random, per-credential) salt."""
        if self.kind == "did":
            return RecipientDid(self.value)
        return RecipientEmail(self.value, salt or "")


@dataclass(frozen=True, slots=True)
class BulkRow:
    """One valid row. ``number`` is the spreadsheet row number (header = 1, first data = 2)."""

    number: int
    recipient: RecipientSpec
    name: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    awarded_date: datetime | None = None
    activity_start: datetime | None = None
    activity_end: datetime | None = None
    credits_earned: float | None = None
    evidence_url: str | None = None
    evidence_narrative: str | None = None
    result: str | None = None
    narrative: str | None = None

    def _digest(self) -> bytes:
        # The items of a JSON list in a fixed order (cheaper than json.dumps for 100,000
        # rows); instants as UTC ISO 8601, credits as repr(float).
        parts: list[str | None] = [_FINGERPRINT_VERSION, self.recipient.kind]
        parts += [self.recipient.value, self.name]
        for moment in (
            self.valid_from,
            self.valid_until,
            self.awarded_date,
            self.activity_start,
            self.activity_end,
        ):
            parts.append(None if moment is None else _instant(moment))
        parts.append(None if self.credits_earned is None else repr(float(self.credits_earned)))
        parts += [self.evidence_url, self.evidence_narrative, self.result, self.narrative]
        encoded = ",".join(["null" if part is None else _json_string(part) for part in parts])
        # NFC of the whole JSON equals the JSON of NFC parts: its syntax is ASCII starters.
        if not unicodedata.is_normalized("NFC", encoded):
            encoded = unicodedata.normalize("NFC", encoded)
        return hashlib.sha256(encoded.encode("utf-8")).digest()

    def fingerprint(self) -> str:
        """sha256 hex of the row's normalised content, not its number: the idempotency key.

        Stable across files, row order, email case and surrounding whitespace, a date vs the
        same instant written as a date-time, and Unicode normalisation (NFC). Scope it to the
        achievement (and issuer) when storing it, since the row does not name either.
        """
        return self._digest().hex()

    def evidence(self) -> tuple[Evidence, ...]:
        """The row's evidence for ``build_credential`` (none when both columns are blank)."""
        if self.evidence_url is None and self.evidence_narrative is None:
            return ()
        return (Evidence(id=self.evidence_url, narrative=self.evidence_narrative),)

    def results(self) -> tuple[Result, ...]:
        """The row's result for ``build_credential`` (none when the column is blank)."""
        return () if self.result is None else (Result(value=self.result),)


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem on one row; ``column`` is None when it concerns the row (or file) as a whole.

    File-level problems (unknown, duplicate or missing columns; no data rows) are reported
    on the header row.
    """

    row: int
    column: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


def _report_json(
    total: int, valid: int, errors: Sequence[RowError], warnings: Sequence[RowError], omitted: int
) -> dict[str, Any]:
    return {
        "total": total,
        "valid": valid,
        "errors": [e.to_json() for e in errors],
        "warnings": [w.to_json() for w in warnings],
        "omitted": omitted,
    }


@dataclass(frozen=True, slots=True)
class BulkReport:
    """The validation report: the valid rows, the errors, and the count of data rows.

    ``omitted`` counts errors and warnings beyond ``max_errors`` that are not listed.
    """

    rows: tuple[BulkRow, ...]
    errors: tuple[RowError, ...]
    total: int
    warnings: tuple[RowError, ...] = ()
    omitted: int = 0

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed): every data row can be issued."""
        return not self.errors

    @property
    def valid(self) -> int:
        return len(self.rows)

    def to_json(self) -> dict[str, Any]:
        """``{"total", "valid", "errors": [{"row", "column", "message"}], "warnings", ...}``"""
        return _report_json(self.total, self.valid, self.errors, self.warnings, self.omitted)


# -- reading files --------------------------------------------------------------------------


class TableRow(dict[str, str]):
    """One non-blank data row, header text as written -> cell text; ``number`` as shown."""

    __slots__ = ("number",)

    def __init__(self, number: int, cells: Mapping[str, str] | None = None) -> None:
        super().__init__(cells or {})
        self.number = number


class Table(Iterator[TableRow]):
    """The rows of an uploaded file, read lazily; ``headers`` are read up front.

    ``headers`` holds the header cells as written (duplicates and blanks included), and
    ``header_row`` their row number (1 unless the sheet starts with blank rows). Reading a
    row may raise :class:`Invalid` (bad encoding or CSV syntax further down, too many rows).
    Close it (or use ``with``) when abandoning it half-read, to free an XLSX workbook.
    """

    def __init__(
        self,
        headers: Sequence[str],
        header_row: int,
        rows: Iterator[TableRow],
        close: Callable[[], None] = lambda: None,
    ) -> None:
        self.headers = tuple(headers)
        self.header_row = header_row
        self._rows = rows
        self._close = close

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> TableRow:
        return next(self._rows)

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if callable(close):
            close()
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Prefixed:
    """A non-seekable stream with its first bytes (already read to sniff them) put back."""

    def __init__(self, head: bytes, rest: _Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data


def _has_content(cells: Iterable[str]) -> bool:
    return bool("".join(cells).strip())


def _table(
    records: Iterator[list[str]], *, max_rows: int, close: Callable[[], None] = lambda: None
) -> Table:
    numbered = enumerate(records, start=1)
    try:
        header_row, headers = next((n, cells) for n, cells in numbered if _has_content(cells))
    except StopIteration:
        close()
        raise Invalid(
            "the file is empty: its first row must name the columns, with email or did"
        ) from None
    except BaseException:
        close()
        raise
    keys = [cell if cell.strip() else None for cell in headers]
    return Table(headers, header_row, _data_rows(numbered, keys, max_rows, close), close)


def _data_rows(
    numbered: Iterator[tuple[int, list[str]]],
    keys: list[str | None],
    max_rows: int,
    close: Callable[[], None],
) -> Iterator[TableRow]:
    count = 0
    width = len(keys)
    labels = [key for key in keys if key is not None]
    plain = len(labels) == width
    try:
        for number, cells in numbered:
            if not _has_content(cells):
                continue
            count += 1
            if count > max_rows:
                raise Invalid(
                    f"the file has more than {max_rows} data rows; split it into smaller files"
                )
            row = TableRow(number)
            if plain and len(cells) == width:
                row.update(zip(labels, cells, strict=True))
                yield row
                continue
            for i, cell in enumerate(cells):
                key = keys[i] if i < width else None
                if key is not None:
                    row[key] = cell
                elif cell.strip() and UNLABELED not in row:
                    row[UNLABELED] = cell
            for key in keys[len(cells) :]:
                if key is not None:
                    row.setdefault(key, "")
            yield row
    finally:
        close()


def _decoded_lines(source: _Readable) -> Iterator[str]:
    """UTF-8 text (BOM dropped) split after each ``\r\n``, ``\n`` or ``\r``, as csv wants.

    Linear in the input: each chunk is scanned once, the unfinished line is kept in parts.
    """
    head = b""
    while len(head) < 4:
        more = source.read(_CHUNK)
        if not more:
            break
        head += more
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Invalid(f"the file is UTF-16 text, not UTF-8; {_SAVE_AS_UTF8}")
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    newlines_before = 0
    carry: list[str] = []  # the unfinished line
    carried = 0
    chunk = head
    while True:
        final = not chunk
        pending = decoder.getstate()[0]
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            data = pending + chunk
            line = newlines_before + data[: exc.start].count(b"\n") + 1
            bad = data[exc.start : exc.start + 1].hex().upper()
            raise Invalid(
                f"the file is not UTF-8 text (byte 0x{bad} on line {line}); {_SAVE_AS_UTF8}"
            ) from None
        newlines_before += chunk.count(b"\n")
        if text and carry and carry[-1].endswith("\r") and not text.startswith("\n"):
            yield "".join(carry)  # a lone "\r" held back at the end of the last chunk
            carry, carried = [], 0
        start = 0
        for match in _NEWLINE_RE.finditer(text):
            if not final and match.end() == len(text) and match.group() == "\r":
                break  # may be the first half of a "\r\n" split across chunks
            carry.append(text[start : match.end()])
            yield "".join(carry)
            carry, carried = [], 0
            start = match.end()
        if start < len(text):
            carry.append(text[start:])
            carried += len(text) - start
            if carried > _MAX_LINE:
                raise Invalid(
                    f"line {newlines_before + 1} is longer than {_MAX_LINE} characters; "
                    "this is not a CSV export of a spreadsheet"
                )
        if final:
            if carry:
                yield "".join(carry)
            return
        chunk = source.read(_CHUNK)


def _sniff_delimiter(line: str) -> str:
    """The most frequent of ``,`` ``;`` tab outside double quotes; ``,`` when none occurs."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_records(lines: Iterator[str], delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    try:
        yield from reader
    except csv.Error as exc:
        raise Invalid(f"the CSV file cannot be read at line {reader.line_num}: {exc}") from None


def _readable(data: IO[bytes] | bytes | _Readable) -> _Readable:
    return io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data


def _parse_csv(source: _Readable, max_rows: int) -> Table:
    lines = _decoded_lines(source)
    peeked: list[str] = []
    for line in lines:
        peeked.append(line)
        if line.strip(' \t,;"\r\n'):
            break
    delimiter = _sniff_delimiter(peeked[-1]) if peeked else ","
    return _table(_csv_records(chain(peeked, lines), delimiter), max_rows=max_rows)


def parse_csv(stream: IO[bytes] | bytes, *, max_rows: int = MAX_ROWS) -> Table:
    """Stream the rows of a UTF-8 CSV file (BOM optional) as ``{header: cell}`` dicts.

    The delimiter (``,`` ``;`` or tab) is sniffed from the header line. Blank rows are
    skipped. Raises :class:`Invalid` for an empty file, another encoding (UTF-16, Latin-1,
    ...), broken CSV syntax or more than ``max_rows`` data rows; the header is read at
    once, later rows as they are iterated, so errors further down surface while iterating.
    """
    return _parse_csv(_readable(stream), max_rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if value.tzinfo is None and value.time() == time(0):
            return value.date().isoformat()
        return format_datetime(moment)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _xlsx_records(sheet: Any) -> Iterator[list[str]]:
    try:
        for values in sheet.iter_rows(min_row=1, min_col=1, values_only=True):
            yield [_cell_text(v) for v in values]
    except _XLSX_ERRORS:
        raise Invalid("the XLSX workbook is damaged and cannot be read to the end") from None


def _parse_xlsx(source: _Readable, max_rows: int) -> Table:
    seekable = getattr(source, "seekable", None)
    file: IO[bytes]
    if callable(seekable) and seekable():
        file = cast("IO[bytes]", source)
    else:  # zipfile needs to seek: hold the (compressed, size-checked upstream) bytes
        file = io.BytesIO(b"".join(iter(lambda: source.read(_CHUNK), b"")))
    try:
        with zipfile.ZipFile(file) as archive:  # refuse a zip bomb before unpacking
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > _MAX_UNPACKED:
            raise Invalid(
                f"the XLSX workbook unpacks to more than {_MAX_UNPACKED >> 20} MiB; "
                "split it into smaller files"
            )
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except _XLSX_ERRORS:
        raise Invalid(
            "the file is not a readable XLSX workbook; upload an .xlsx file or 'CSV UTF-8'"
        ) from None
    if not workbook.worksheets:
        workbook.close()
        raise Invalid("the XLSX workbook has no worksheet")
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # the stored size may be wrong; read every row there is
    return _table(_xlsx_records(sheet), max_rows=max_rows, close=workbook.close)


def parse_xlsx(data: bytes | IO[bytes], *, max_rows: int = MAX_ROWS) -> Table:
    """Stream the rows of the first sheet of an XLSX workbook as ``{header: cell}`` dicts.

    Read-only (streaming) openpyxl; cell values become text as described in the module
    docstring. Raises :class:`Invalid` for a file that is not a readable workbook, an empty
    sheet or more than ``max_rows`` data rows.
    """
    return _parse_xlsx(_readable(data), max_rows)


def _peek(data: IO[bytes] | bytes, size: int) -> tuple[bytes, _Readable]:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data[:size]), io.BytesIO(data)
    seekable = data.seekable()
    start = data.tell() if seekable else 0
    head = b""
    while len(head) < size:
        more = data.read(size - len(head))
        if not more:
            break
        head += more
    if seekable:
        data.seek(start)
        return head, data
    return head, _Prefixed(head, data)


def read_table(filename: str, data: IO[bytes] | bytes, *, max_rows: int = MAX_ROWS) -> Table:
    """Read an upload as XLSX (a ZIP, ``PK\\x03\\x04``) or else as CSV; see the parsers."""
    head, source = _peek(data, 8)
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if head.startswith(_ZIP_MAGIC):
        return _parse_xlsx(source, max_rows)
    if head.startswith(_OLE_MAGIC) or extension == "xls":
        raise Invalid("old Excel .xls workbooks cannot be read; save the sheet as .xlsx or CSV")
    if extension in ("xlsx", "xlsm"):
        raise Invalid(f"{filename!r} is named like an XLSX workbook but is not one")
    return _parse_csv(source, max_rows)


# -- validation -----------------------------------------------------------------------------


def parse_cell_datetime(text: str) -> datetime:
    """A plain date ``YYYY-MM-DD`` (00:00:00Z) or a date-time with a zone, as aware UTC."""
    problem = (
        f"{text!r} is not a date (2024-01-31) or a date-time with a time zone "
        "(2024-01-31T12:00:00Z)"
    )
    if _DATE_RE.match(text):
        try:
            return datetime(int(text[:4]), int(text[5:7]), int(text[8:10]), tzinfo=UTC)
        except ValueError:
            raise Invalid(problem) from None
    try:
        return parse_datetime(text)
    except (Invalid, OverflowError):
        raise Invalid(problem) from None


def parse_credits(text: str) -> float:
    """A finite number >= 0 written with a dot as decimal separator."""
    if not _NUMBER_RE.match(text):
        if _DECIMAL_COMMA_RE.match(text):
            raise Invalid(f"{text!r} is not a number; use a dot as the decimal separator")
        raise Invalid(f"{text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise Invalid(f"{text!r} is too large")
    if value < 0:
        raise Invalid(f"{text!r} is negative; credits must be 0 or more")
    return value + 0.0  # -0.0 -> 0.0


def is_http_url(text: str) -> bool:
    """An absolute http(s) URL with a host and no whitespace or control characters."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


class _RowReader:
    """Turns one row's normalised cells into a BulkRow or a list of errors."""

    def __init__(self, columns: frozenset[str], default_valid_from: datetime | None) -> None:
        self.columns = columns
        self.default_valid_from = default_valid_from

    def read(self, number: int, cells: Mapping[str, str]) -> BulkRow | list[RowError]:
        """``cells``: normalised column name -> stripped, non-blank cell text."""
        errors: list[RowError] = []
        recipient = self._recipient(number, cells.get("email"), cells.get("did"), errors)
        dates: dict[str, datetime | None] = dict.fromkeys(DATE_COLUMNS)
        for column in DATE_COLUMNS:
            if column in cells:
                dates[column] = self._convert(
                    number, column, cells[column], parse_cell_datetime, errors
                )
        credits = None
        if "credits_earned" in cells:
            credits = self._convert(
                number, "credits_earned", cells["credits_earned"], parse_credits, errors
            )
        url = cells.get("evidence_url")
        if url is not None and not is_http_url(url):
            errors.append(
                RowError(number, "evidence_url", f"{url!r} is not an absolute http(s) URL")
            )
        if UNLABELED in cells:
            errors.append(RowError(number, None, "has a value in a column without a header"))
        if dates["valid_until"] is not None or dates["activity_end"] is not None:
            self._check_order(number, dates, errors)
        if errors or recipient is None:
            errors.sort(key=lambda e: -1 if e.column is None else _COLUMN_ORDER[e.column])
            return errors
        return BulkRow(
            number=number,
            recipient=recipient,
            name=cells.get("name"),
            **dates,
            credits_earned=credits,
            evidence_url=url,
            evidence_narrative=cells.get("evidence_narrative"),
            result=cells.get("result"),
            narrative=cells.get("narrative"),
        )

    def _recipient(
        self, number: int, email: str | None, did: str | None, errors: list[RowError]
    ) -> RecipientSpec | None:
        if email is not None and did is not None:
            errors.append(RowError(number, None, "fill in exactly one of email and did, not both"))
            return None
        if email is None and did is None:
            present = [c for c in RECIPIENT_COLUMNS if c in self.columns]
            if len(present) == 1:
                errors.append(RowError(number, present[0], "is blank; every row needs a recipient"))
            else:
                errors.append(RowError(number, None, "fill in one of email and did"))
            return None
        kind: RecipientKind
        kind, value = ("email", email) if email is not None else ("did", did or "")
        try:
            return RecipientSpec(kind, value)
        except Invalid:
            what = "an email address" if kind == "email" else "a DID (did:<method>:<id>)"
            errors.append(RowError(number, kind, f"{value!r} is not {what}"))
            return None

    @staticmethod
    def _convert(
        number: int, column: str, value: str, convert: Callable[[str], _T], errors: list[RowError]
    ) -> _T | None:
        try:
            return convert(value)
        except Invalid as exc:
            errors.append(RowError(number, column, exc.message))
            return None

    def _check_order(
        self, number: int, dates: Mapping[str, datetime | None], errors: list[RowError]
    ) -> None:
        start, until = dates["valid_from"], dates["valid_until"]
        if until is not None and all(e.column != "valid_from" for e in errors):
            earliest = start if start is not None else self.default_valid_from
            if earliest is not None and until <= earliest:
                which = "valid_from" if start is not None else "the default valid_from"
                errors.append(
                    RowError(
                        number,
                        "valid_until",
                        f"must be after {which} ({format_datetime(earliest)})",
                    )
                )
        begin, end = dates["activity_start"], dates["activity_end"]
        if begin is not None and end is not None and end < begin:
            errors.append(RowError(number, "activity_end", "must not be before activity_start"))


def _check_headers(
    headers: Sequence[str], header_row: int
) -> tuple[frozenset[str], list[RowError]]:
    errors: list[RowError] = []
    seen: set[str] = set()
    for raw in headers:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in _COLUMN_ORDER:
            errors.append(
                RowError(
                    header_row,
                    raw.strip(),
                    f"unknown column {raw.strip()!r}; the columns are {', '.join(COLUMNS)}",
                )
            )
        elif name in seen:
            errors.append(RowError(header_row, name, f"column {name!r} appears more than once"))
        seen.add(name)
    if not seen.intersection(RECIPIENT_COLUMNS):
        errors.append(
            RowError(
                header_row, None, "missing column: the file needs an 'email' or a 'did' column"
            )
        )
    return frozenset(seen), errors


def _column_name(key: str, cache: dict[str, str]) -> str:
    name = cache[key] = key.strip().lower()
    return name


class BulkValidation(Iterator[BulkRow]):
    """:func:`validate_stream`'s result: iterate it for the valid rows, in file order.

    Errors and warnings collect on it as it goes (at most ``max_errors`` of each listed,
    the rest counted in ``omitted``); ``total``, ``valid`` and ``ok`` are final once it is
    exhausted. Memory: per valid row, a 16-byte digest of its fingerprint (duplicates) and
    its recipient (repeated recipients): about 250 bytes a row, never the rows themselves.
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, str]],
        *,
        headers: Sequence[str] | None = None,
        default_valid_from: datetime | None = None,
        max_errors: int = MAX_ERRORS,
    ) -> None:
        if default_valid_from is not None:
            format_datetime(default_valid_from)  # refuses a naive datetime
        if max_errors < 1:
            raise Invalid("max_errors must be at least 1")
        self.total = 0
        self.valid = 0
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.omitted = 0
        self.finished = False
        self._max_errors = max_errors
        self._reader = _RowReader(frozenset(), default_valid_from)
        self._rows = self._run(rows, headers)

    @property
    def ok(self) -> bool:
        """No errors so far (final once exhausted); warnings allowed."""
        return not self.errors

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> BulkRow:
        return next(self._rows)

    def to_json(self) -> dict[str, Any]:
        """The same shape as :meth:`BulkReport.to_json`."""
        return _report_json(self.total, self.valid, self.errors, self.warnings, self.omitted)

    def _add(self, into: list[RowError], error: RowError) -> None:
        if len(into) < self._max_errors:
            into.append(error)
        else:
            self.omitted += 1

    def _run(
        self, rows: Iterable[Mapping[str, str]], headers: Sequence[str] | None
    ) -> Iterator[BulkRow]:
        header_row = rows.header_row if isinstance(rows, Table) else 1
        if headers is None and isinstance(rows, Table):
            headers = rows.headers
        iterator: Iterator[Mapping[str, str]] = iter(rows)
        if headers is None:
            first = next(iterator, None)
            if first is not None:
                headers = list(first)
                iterator = chain([first], iterator)
        if headers is not None:
            columns, header_errors = _check_headers(headers, header_row)
            self._reader.columns = columns
            if header_errors:
                for error in header_errors:
                    self._add(self.errors, error)
                self.total = sum(1 for row in iterator if _has_content(row.values()))
                self.finished = True
                return
        yield from self._rows_of(iterator, header_row)
        if self.total == 0:
            self._add(self.errors, RowError(header_row, None, "the file has no data rows"))
        self.finished = True

    def _rows_of(self, rows: Iterator[Mapping[str, str]], header_row: int) -> Iterator[BulkRow]:
        seen: dict[bytes, int] = {}
        recipients: dict[tuple[str, str], int] = {}
        names: dict[str, str] = {}
        for index, raw in enumerate(rows, start=1):
            number = raw.number if isinstance(raw, TableRow) else header_row + index
            cells = {
                (names.get(key) or _column_name(key, names)): text
                for key, value in raw.items()
                if (text := value.strip())
            }
            if not cells:
                continue
            self.total += 1
            row = self._reader.read(number, cells)
            if isinstance(row, list):
                for error in row:
                    self._add(self.errors, error)
                continue
            digest = row._digest()[:16]
            earlier = seen.get(digest)
            if earlier is not None:
                self._add(self.errors, RowError(number, None, f"duplicate of row {earlier}"))
                continue
            seen[digest] = number
            first = recipients.setdefault((row.recipient.kind, row.recipient.value), number)
            if first != number:
                self._add(
                    self.warnings,
                    RowError(
                        number,
                        row.recipient.kind,
                        f"same recipient as row {first} with different data; "
                        "both rows will be issued",
                    ),
                )
            self.valid += 1
            yield row


def validate_stream(
    rows: Iterable[Mapping[str, str]],
    *,
    headers: Sequence[str] | None = None,
    default_valid_from: datetime | None = None,
    max_errors: int = MAX_ERRORS,
) -> BulkValidation:
    """Validate rows lazily: iterate the result for valid BulkRows; errors collect on it.

    For the background job and for files of 100,000+ rows: rows are neither kept nor
    re-read. ``headers`` defaults to a :class:`Table`'s headers, or else the first row's
    keys. Reading the table may raise :class:`Invalid` mid-way (see :func:`parse_csv`).
    """
    return BulkValidation(
        rows, headers=headers, default_valid_from=default_valid_from, max_errors=max_errors
    )


def validate(
    rows: Iterable[Mapping[str, str]],
    *,
    headers: Sequence[str] | None = None,
    default_valid_from: datetime | None = None,
    max_errors: int = MAX_ERRORS,
) -> BulkReport:
    """The validation report for a whole upload (nothing is issued); see validate_stream."""
    stream = validate_stream(
        rows, headers=headers, default_valid_from=default_valid_from, max_errors=max_errors
    )
    valid = tuple(stream)
    return BulkReport(
        rows=valid,
        errors=tuple(stream.errors),
        total=stream.total,
        warnings=tuple(stream.warnings),
        omitted=stream.omitted,
    )
