"""Bulk issuing uploads: reading CSV/XLSX files and validating their rows."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook  # type: ignore[import-untyped]

from credstack.domain import bulk
from credstack.domain.bulk import (
    COLUMNS,
    BulkRow,
    RecipientSpec,
    RowError,
    Table,
    TableRow,
    parse_cell_datetime,
    parse_csv,
    parse_xlsx,
    read_table,
    validate,
    validate_stream,
)
from credstack.domain.credentials import Evidence, RecipientDid, RecipientEmail, Result
from credstack.domain.errors import Invalid

FIXTURES = Path(__file__).parent / "fixtures" / "bulk"
SEP_1 = datetime(2024, 9, 1, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def report_of(name: str, **kwargs: Any) -> Any:
    return validate(read_table(name, fixture(name)), **kwargs)


def pairs(errors: tuple[RowError, ...] | list[RowError]) -> list[tuple[int, str | None]]:
    return [(e.row, e.column) for e in errors]


class OneByteAtATime:
    """A non-seekable stream returning a single byte per read: every chunk boundary."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            size = len(self._data)
        size = min(size, 1)
        chunk = self._data[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk

    def seekable(self) -> bool:
        return False


def xlsx_bytes(tmp_path: Path, rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / "upload.xlsx"
    workbook.save(path)
    return path.read_bytes()


# -- a good file ----------------------------------------------------------------------------


def test_a_good_csv_file_yields_one_bulk_row_per_data_row_with_parsed_values() -> None:
    report = report_of("good.csv")

    assert report.ok
    assert (report.total, report.valid, report.errors, report.warnings) == (3, 3, (), ())
    ada, grace, alan = report.rows
    assert ada == BulkRow(
        number=2,
        recipient=RecipientSpec("email", "ada@example.org"),
        name="Ada Lovelace",
        valid_from=SEP_1,
        valid_until=datetime(2027, 9, 1, tzinfo=UTC),
        awarded_date=datetime(2024, 8, 30, 14, 0, tzinfo=UTC),
        activity_start=datetime(2024, 2, 1, tzinfo=UTC),
        activity_end=datetime(2024, 6, 30, tzinfo=UTC),
        credits_earned=6.0,
        evidence_url="https://lms.example.org/ada/portfolio",
        evidence_narrative="Final project, with tests",
        result="A",
        narrative="Completed all modules.\nSecond line of the narrative.",
    )
    # The quoted narrative spans two lines of the file but is one spreadsheet row.
    assert grace.number == 3
    assert grace.recipient == RecipientSpec("did", "did:example:ebfeb1f712ebc6f1c276e12ec21")
    assert (grace.credits_earned, grace.result, grace.valid_from) == (2.5, "Pass", None)
    assert alan.number == 4
    assert alan.recipient.value == "alan@example.org"
    assert alan.name == "Alan Turing"
    assert alan.credits_earned == 0.0


def test_report_json_lists_counts_errors_and_warnings() -> None:
    report = validate(
        [{"email": "a@example.org"}, {"email": "nope"}, {"email": "a@example.org", "name": "A"}]
    )

    assert report.to_json() == {
        "total": 3,
        "valid": 2,
        "errors": [{"row": 3, "column": "email", "message": "'nope' is not an email address"}],
        "warnings": [
            {
                "row": 4,
                "column": "email",
                "message": "same recipient as row 2 with different data; both rows will be issued",
            }
        ],
        "omitted": 0,
    }
    assert not report.ok


def test_bulk_row_gives_the_evidence_result_and_recipient_for_the_credential_builder() -> None:
    (ada, grace, _) = report_of("good.csv").rows

    assert ada.evidence() == (
        Evidence(id="https://lms.example.org/ada/portfolio", narrative="Final project, with tests"),
    )
    assert ada.results() == (Result(value="A"),)
    assert ada.recipient.to_recipient("salt") == RecipientEmail("ada@example.org", "salt")
    assert grace.evidence() == ()
    assert grace.recipient.to_recipient() == RecipientDid("did:example:ebfeb1f712ebc6f1c276e12ec21")


# -- errors -----------------------------------------------------------------------------------


def test_a_file_with_every_kind_of_error_reports_each_on_its_row_and_column() -> None:
    report = report_of("errors.csv")

    assert pairs(report.errors) == [
        (3, "email"),  # malformed email
        (4, "did"),  # malformed DID
        (5, None),  # both email and did
        (6, None),  # neither
        (7, "valid_from"),  # month 13
        (7, "awarded_date"),  # not a date
        (8, "valid_until"),  # not after valid_from
        (9, "activity_end"),  # before activity_start
        (10, "credits_earned"),  # negative
        (11, "credits_earned"),  # not a number
        (12, "evidence_url"),  # not http(s)
        (13, "evidence_url"),  # relative
        (14, None),  # duplicate of row 2 (case and whitespace differ)
        (15, "activity_start"),  # no time zone
        (17, None),  # a value beyond the last header
    ]
    assert pairs(report.warnings) == [(16, "email")]  # ann again, with other data
    assert [r.number for r in report.rows] == [2, 16, 19]  # row 18 is blank
    assert (report.total, report.valid, report.ok) == (17, 3, False)


def test_error_messages_say_what_is_wrong_with_the_value() -> None:
    messages = {(e.row, e.column): e.message for e in report_of("errors.csv").errors}

    assert messages[(3, "email")] == "'not-an-email' is not an email address"
    assert messages[(4, "did")] == "'did:bad' is not a DID (did:<method>:<id>)"
    assert messages[(5, None)] == "fill in exactly one of email and did, not both"
    assert messages[(6, None)] == "fill in one of email and did"
    assert messages[(7, "valid_from")] == (
        "'2024-13-01' is not a date (2024-01-31) or a date-time with a time zone "
        "(2024-01-31T12:00:00Z)"
    )
    assert messages[(8, "valid_until")] == "must be after valid_from (2024-09-01T00:00:00Z)"
    assert messages[(9, "activity_end")] == "must not be before activity_start"
    assert messages[(10, "credits_earned")] == "'-1' is negative; credits must be 0 or more"
    assert messages[(11, "credits_earned")] == "'lots' is not a number"
    assert messages[(12, "evidence_url")] == (
        "'ftp://files.example.org/x' is not an absolute http(s) URL"
    )
    assert messages[(14, None)] == "duplicate of row 2"
    assert messages[(17, None)] == "has a value in a column without a header"


def test_a_blank_recipient_is_blamed_on_the_only_recipient_column() -> None:
    report = validate([{"email": "", "name": "Nobody"}])

    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "email", "is blank; every row needs a recipient")
    ]


def test_a_decimal_comma_is_refused_with_a_hint_rather_than_guessed() -> None:
    report = validate([{"email": "a@example.org", "credits_earned": "1,5"}])

    assert report.errors[0].message == "'1,5' is not a number; use a dot as the decimal separator"


@pytest.mark.parametrize("value", ["nan", "inf", "1e999", "1_000", "0x10", "", " 2 "])
def test_credits_accept_only_finite_decimal_numbers(value: str) -> None:
    report = validate([{"email": "a@example.org", "credits_earned": value}])

    if value.strip() in ("", "2"):
        assert report.ok
        assert report.rows[0].credits_earned == (2.0 if value.strip() else None)
    else:
        assert pairs(report.errors) == [(2, "credits_earned")]


@pytest.mark.parametrize(
    "url",
    ["https://a.example/x", "http://a.example", "HTTPS://A.EXAMPLE/?q=1#f"],
)
def test_evidence_url_accepts_absolute_http_urls(url: str) -> None:
    assert validate([{"email": "a@example.org", "evidence_url": url}]).ok


@pytest.mark.parametrize(
    "url",
    [
        "example.org/x",
        "https://",
        "https:///path",
        "mailto:a@example.org",
        "https://a b.org",
        "http://h:99999/",
    ],
)
def test_evidence_url_rejects_anything_else(url: str) -> None:
    report = validate([{"email": "a@example.org", "evidence_url": url}])

    assert pairs(report.errors) == [(2, "evidence_url")]


def test_valid_until_must_come_after_the_default_valid_from_when_valid_from_is_blank() -> None:
    rows = [
        {"email": "a@example.org", "valid_until": "2024-08-31"},
        {"email": "b@example.org", "valid_until": "2024-08-31", "valid_from": "2024-01-01"},
    ]

    report = validate(rows, default_valid_from=SEP_1)

    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "valid_until", "must be after the default valid_from (2024-09-01T00:00:00Z)")
    ]
    assert validate(rows).ok


def test_a_blank_valid_from_stays_none_so_the_fingerprint_does_not_depend_on_the_run() -> None:
    rows = [{"email": "a@example.org"}]

    first = validate(rows, default_valid_from=SEP_1).rows[0]
    later = validate(rows, default_valid_from=SEP_1 + timedelta(days=3)).rows[0]

    assert first.valid_from is None
    assert first.fingerprint() == later.fingerprint()


def test_a_naive_default_valid_from_is_refused() -> None:
    with pytest.raises(Invalid, match="timezone"):
        validate([{"email": "a@example.org"}], default_valid_from=datetime(2024, 9, 1))


def test_max_errors_lists_the_first_errors_and_counts_the_rest() -> None:
    rows = [{"email": f"bad{i}"} for i in range(5)]

    report = validate(rows, max_errors=2)

    assert pairs(report.errors) == [(2, "email"), (3, "email")]
    assert report.omitted == 3
    assert report.to_json()["omitted"] == 3


# -- columns ----------------------------------------------------------------------------------


def test_an_unknown_column_is_a_file_level_error_listing_the_allowed_columns() -> None:
    report = report_of("unknown_column.csv")

    assert [(e.row, e.column) for e in report.errors] == [(1, "grade"), (1, "Colour")]
    assert report.errors[0].message == (
        "unknown column 'grade'; the columns are " + ", ".join(COLUMNS)
    )
    assert (report.rows, report.total) == ((), 1)


def test_a_file_without_email_or_did_column_is_a_file_level_error() -> None:
    report = report_of("missing_column.csv")

    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (1, None, "missing column: the file needs an 'email' or a 'did' column")
    ]
    assert (report.rows, report.total) == ((), 2)


def test_a_column_given_twice_in_any_case_or_spacing_is_an_error() -> None:
    report = report_of("duplicate_column.csv")

    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (1, "email", "column 'email' appears more than once")
    ]


def test_headers_match_case_insensitively_ignoring_surrounding_spaces() -> None:
    data = b" EMAIL ,Valid_From\nada@example.org,2024-09-01\n"

    report = validate(parse_csv(data))

    assert report.ok
    assert report.rows[0].valid_from == SEP_1


def test_blank_header_cells_are_ignored_while_their_column_is_blank() -> None:
    data = b"email,,name,\nada@example.org,,Ada,\nbob@example.org,x,Bob\n"

    report = validate(parse_csv(data))

    assert pairs(report.errors) == [(3, None)]
    assert [r.name for r in report.rows] == ["Ada"]


def test_plain_dicts_are_numbered_from_row_2_and_checked_against_the_first_rows_keys() -> None:
    report = validate([{"email": "a@example.org", "grade": "A"}])

    assert pairs(report.errors) == [(1, "grade")]
    assert validate([{"Email": "a@example.org"}, {"Email": "b"}]).errors[0].row == 3


def test_explicit_headers_are_checked_even_when_there_are_no_rows() -> None:
    report = validate([], headers=["email", "name"])

    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (1, None, "the file has no data rows")
    ]


# -- CSV reading -----------------------------------------------------------------------------


def test_a_semicolon_delimited_file_is_read_like_a_comma_delimited_one() -> None:
    report = report_of("semicolon.csv")

    assert report.ok
    assert [(r.recipient.value, r.credits_earned, r.result) for r in report.rows] == [
        ("ada@example.org", 6.0, "A; with distinction"),
        ("bob@example.org", 1.5, "B"),
    ]


def test_a_tab_delimited_file_is_read_too() -> None:
    rows = list(read_table("tab.csv", fixture("tab.csv")))

    assert rows == [
        {"email": "ada@example.org", "name": "Ada", "credits_earned": "6"},
        {"email": "bob@example.org", "name": "Bob, Jr.", "credits_earned": "1.5"},
    ]


def test_a_utf8_byte_order_mark_is_dropped_before_the_first_header() -> None:
    table = parse_csv(fixture("bom.csv"))

    assert table.headers == ("email", "name")
    assert [row["name"] for row in table] == ["Adà", "Bob"]


def test_a_file_read_one_byte_at_a_time_parses_the_same() -> None:
    data = '\ufeffemail;name\r\nada@example.org;"Zoë\r\nLine 2"\r\n\r\nbob@example.org;Bö\r\n'

    rows = list(parse_csv(data.encode()))
    streamed = list(read_table("x.csv", OneByteAtATime(data.encode())))  # type: ignore[arg-type]

    assert (
        streamed
        == rows
        == [
            {"email": "ada@example.org", "name": "Zoë\r\nLine 2"},
            {"email": "bob@example.org", "name": "Bö"},
        ]
    )
    assert [r.number for r in streamed if isinstance(r, TableRow)] == [2, 4]


def test_a_latin1_file_is_refused_with_a_hint_to_save_it_as_utf8() -> None:
    with pytest.raises(Invalid) as caught:
        list(read_table("latin1.csv", fixture("latin1.csv")))

    assert caught.value.message == (
        "the file is not UTF-8 text (byte 0xE9 on line 3); save it as 'CSV UTF-8' and upload "
        "it again"
    )


def test_a_latin1_byte_far_down_the_file_is_refused_while_streaming() -> None:
    data = b"email\n" + b"a@example.org\n" * 10_000 + b"caf\xe9@example.org\n"
    table = parse_csv(io.BytesIO(data))

    with pytest.raises(Invalid, match="line 10002"):
        for _ in table:
            pass


def test_a_utf16_file_is_refused_with_a_hint_to_save_it_as_utf8() -> None:
    data = "email\nada@example.org\n".encode("utf-16")

    with pytest.raises(Invalid, match=r"UTF-16.*CSV UTF-8"):
        parse_csv(data)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(Invalid, match="the file is empty"):
        read_table("empty.csv", fixture("empty.csv"))


def test_a_file_of_blank_lines_is_refused_as_empty() -> None:
    with pytest.raises(Invalid, match="the file is empty"):
        parse_csv(b"\n\r\n ,, \n")


def test_a_header_without_data_rows_reports_that_there_are_no_rows() -> None:
    report = report_of("header_only.csv")

    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (1, None, "the file has no data rows")
    ]
    assert report.total == 0


def test_blank_rows_are_skipped_but_keep_their_row_numbers() -> None:
    table = parse_csv(b"\n\nemail,name\n\na@example.org,A\n , \nb@example.org,B")

    assert table.header_row == 3
    assert [(row.number, row["email"]) for row in table] == [
        (5, "a@example.org"),
        (7, "b@example.org"),
    ]


def test_old_mac_line_endings_are_read_as_rows() -> None:
    rows = list(parse_csv(b"email,name\ra@example.org,A\rb@example.org,B\r"))

    assert [row["name"] for row in rows] == ["A", "B"]


def test_short_rows_are_padded_with_blank_cells() -> None:
    assert list(parse_csv(b"email,name\na@example.org\n")) == [
        {"email": "a@example.org", "name": ""}
    ]


def test_more_rows_than_max_rows_are_refused_while_reading() -> None:
    table = parse_csv(b"email\na@x.org\nb@x.org\nc@x.org\n", max_rows=2)

    with pytest.raises(Invalid, match="more than 2 data rows"):
        list(table)


def test_broken_csv_quoting_is_refused_naming_the_line() -> None:
    data = b"email,name\na@example.org,ok\n" + b'b@example.org,"' + b"x" * 200_000 + b"\n"

    with pytest.raises(Invalid, match=r"^the CSV file cannot be read at line \d+: .*field"):
        list(parse_csv(data))


# -- XLSX reading ----------------------------------------------------------------------------


def test_xlsx_dates_and_numbers_become_text_the_validator_accepts(tmp_path: Path) -> None:
    data = xlsx_bytes(
        tmp_path,
        [
            ["Email", "valid_from", "activity_start", "credits_earned", "result", "name"],
            ["ada@example.org", datetime(2024, 9, 1), datetime(2024, 3, 1, 9, 30), 3, 7, None],
            ["bob@example.org", date(2024, 9, 2), "2024-03-01T10:00:00+01:00", 2.5, 9.75, "Bob"],
            ["cy@example.org", None, None, 4.0, True, 12345678901],
        ],
    )

    table = read_table("upload.xlsx", data)
    rows = list(table)

    assert table.headers == (
        "Email",
        "valid_from",
        "activity_start",
        "credits_earned",
        "result",
        "name",
    )
    assert rows == [
        {
            "Email": "ada@example.org",
            "valid_from": "2024-09-01",
            "activity_start": "2024-03-01T09:30:00Z",
            "credits_earned": "3",
            "result": "7",
            "name": "",
        },
        {
            "Email": "bob@example.org",
            "valid_from": "2024-09-02",
            "activity_start": "2024-03-01T10:00:00+01:00",
            "credits_earned": "2.5",
            "result": "9.75",
            "name": "Bob",
        },
        {
            "Email": "cy@example.org",
            "valid_from": "",
            "activity_start": "",
            "credits_earned": "4",
            "result": "TRUE",
            "name": "12345678901",
        },
    ]
    report = validate(rows, headers=table.headers)
    assert report.ok
    ada, bob, _ = report.rows
    assert (ada.valid_from, ada.activity_start, ada.credits_earned) == (
        SEP_1,
        datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        3.0,
    )
    assert bob.activity_start == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def test_xlsx_row_numbers_match_the_spreadsheet_with_blank_rows(tmp_path: Path) -> None:
    data = xlsx_bytes(tmp_path, [[], ["email"], ["a@example.org"], [], [None], ["b@example.org"]])

    table = parse_xlsx(io.BytesIO(data))
    report = validate(table)

    assert table.header_row == 2
    assert [r.number for r in report.rows] == [3, 6]


def test_xlsx_is_recognised_by_its_zip_magic_whatever_the_file_name(tmp_path: Path) -> None:
    data = xlsx_bytes(tmp_path, [["email"], ["a@example.org"]])

    assert list(read_table("upload.csv", io.BytesIO(data))) == [{"email": "a@example.org"}]
    assert list(read_table("noext", OneByteAtATime(data))) == [{"email": "a@example.org"}]  # type: ignore[arg-type]


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")

    with pytest.raises(Invalid, match="not a readable XLSX workbook"):
        read_table("upload.xlsx", buffer.getvalue())


def test_a_truncated_workbook_is_refused(tmp_path: Path) -> None:
    data = xlsx_bytes(tmp_path, [["email"], ["a@example.org"]])

    with pytest.raises(Invalid, match="XLSX"):
        list(read_table("upload.xlsx", data[: len(data) // 2]))


def test_a_workbook_that_unpacks_too_large_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = xlsx_bytes(tmp_path, [["email"], ["a@example.org"]])
    monkeypatch.setattr(bulk, "_MAX_UNPACKED", 1 << 10)

    with pytest.raises(Invalid, match="unpacks to more than"):
        read_table("upload.xlsx", data)


def test_an_xlsx_name_on_text_and_an_old_xls_are_refused() -> None:
    with pytest.raises(Invalid, match="named like an XLSX workbook"):
        read_table("upload.xlsx", b"email\na@example.org\n")
    with pytest.raises(Invalid, match=r"old Excel \.xls"):
        read_table("upload.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)


def test_a_table_can_be_closed_half_read(tmp_path: Path) -> None:
    data = xlsx_bytes(tmp_path, [["email"], ["a@example.org"], ["b@example.org"]])

    with read_table("upload.xlsx", data) as table:
        assert isinstance(table, Table)
        assert next(table) == {"email": "a@example.org"}
    with pytest.raises(StopIteration):
        next(table)


# -- streaming --------------------------------------------------------------------------------


def test_streaming_validation_reads_rows_only_as_they_are_asked_for() -> None:
    pulled: list[int] = []

    def rows() -> Iterator[dict[str, str]]:
        for i in itertools.count():
            pulled.append(i)
            yield {"email": f"learner{i}@example.org"}

    stream = validate_stream(rows())
    first = next(stream)

    assert first.number == 2
    assert len(pulled) == 1
    assert (stream.total, stream.valid, stream.finished) == (1, 1, False)


def test_a_100000_row_csv_validates_in_streaming_mode() -> None:
    lines = ["email,name,valid_from,credits_earned"]
    for i in range(100_000):  # data row number = i + 2
        if i % 20_000 == 1:  # a copy of the row before
            lines.append(f"learner{i - 1}@example.org,Learner {i - 1},2024-09-01,{(i - 1) % 7}")
        elif i % 25_000 == 3:  # no domain
            lines.append(f"learner{i},Learner {i},2024-09-01,1")
        else:
            lines.append(f"learner{i}@example.org,Learner {i},2024-09-01,{i % 7}")
    data = ("\n".join(lines) + "\n").encode()

    stream = validate_stream(parse_csv(io.BytesIO(data)))
    count = sum(1 for _ in stream)

    assert stream.finished
    assert (stream.total, stream.valid, count) == (100_000, 99_991, 99_991)
    assert pairs(stream.errors) == [
        (3, None),  # duplicate of row 2
        (5, "email"),
        (20_003, None),
        (25_005, "email"),
        (40_003, None),
        (50_005, "email"),
        (60_003, None),
        (75_005, "email"),
        (80_003, None),
    ]
    assert stream.errors[0].message == "duplicate of row 2"
    assert stream.to_json()["valid"] == 99_991


# -- fingerprints -----------------------------------------------------------------------------


def test_fingerprints_are_stable_across_row_order_email_case_and_whitespace() -> None:
    rows = [
        {
            "email": "ada@example.org",
            "name": "Ada",
            "valid_from": "2024-09-01",
            "credits_earned": "2",
        },
        {"email": "bob@example.org", "name": "Bob"},
    ]
    shuffled = [
        {"email": "  Bob@Example.ORG ", "name": " Bob "},
        {
            "email": "ADA@example.org",
            "name": "Ada",
            "valid_from": "2024-09-01T02:00:00+02:00",
            "credits_earned": "2.0",
        },
    ]

    first = {r.recipient.value: r.fingerprint() for r in validate(rows).rows}
    second = {r.recipient.value: r.fingerprint() for r in validate(shuffled).rows}

    assert first == second
    assert len(set(first.values())) == 2
    assert all(len(f) == 64 and int(f, 16) >= 0 for f in first.values())


def test_fingerprints_ignore_the_row_number_but_not_the_content() -> None:
    row = BulkRow(number=2, recipient=RecipientSpec("email", "a@example.org"), credits_earned=1.0)

    assert (
        row.fingerprint()
        == BulkRow(7, RecipientSpec("email", "A@example.org"), credits_earned=1).fingerprint()
    )
    assert row.fingerprint() != BulkRow(2, RecipientSpec("email", "a@example.org")).fingerprint()
    assert (
        row.fingerprint()
        != BulkRow(2, RecipientSpec("email", "a@example.org"), result="1.0").fingerprint()
    )
    did = BulkRow(2, RecipientSpec("did", "did:example:a@example.org"))
    assert (
        did.fingerprint()
        != BulkRow(2, RecipientSpec("email", "did:example:a@example.org")).fingerprint()
    )


def test_fingerprints_treat_composed_and_decomposed_accents_alike() -> None:
    composed = BulkRow(2, RecipientSpec("email", "a@example.org"), name="Zo\u00eb")
    decomposed = BulkRow(2, RecipientSpec("email", "a@example.org"), name="Zoe\u0308")

    assert composed.fingerprint() == decomposed.fingerprint()


def test_the_same_row_in_another_file_has_the_same_fingerprint(tmp_path: Path) -> None:
    csv_row = report_of("good.csv").rows[0]
    data = xlsx_bytes(
        tmp_path,
        [
            ["name", "email", "valid_from", "credits_earned"],
            ["Ada Lovelace", "ada@example.org", datetime(2024, 9, 1), 6],
        ],
    )
    xlsx_row = validate(read_table("other.xlsx", data)).rows[0]
    expected = BulkRow(
        2, RecipientSpec("email", "ada@example.org"), "Ada Lovelace", SEP_1, credits_earned=6.0
    )

    assert xlsx_row == expected
    assert xlsx_row.fingerprint() == expected.fingerprint() != csv_row.fingerprint()


# -- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-09-01", SEP_1),
        ("2024-09-01T00:00:00Z", SEP_1),
        ("2024-09-01T05:30:00+05:30", SEP_1),
        ("2024-08-31T20:00:00.5-04:00", SEP_1 + timedelta(milliseconds=500)),
    ],
)
def test_cell_dates_are_plain_dates_at_midnight_utc_or_zoned_date_times(
    text: str, expected: datetime
) -> None:
    assert parse_cell_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2024-02-30", "2024-9-1", "01/09/2024", "2024-09-01 10:00Z", "0001-01-01T00:00:00+01:00"],
)
def test_cell_dates_refuse_anything_else(text: str) -> None:
    with pytest.raises(Invalid, match="is not a date"):
        parse_cell_datetime(text)


# -- round trip -------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
INSTANTS = st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=ZONES)
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]) | st.sampled_from('\n\r\t,;" '),
    max_size=30,
)


@st.composite
def instant_cells(draw: st.DrawFn, after: datetime | None = None) -> tuple[str, datetime]:
    """A date or a zoned date-time as a cell, with the instant it means."""
    if after is not None:
        moment = after + draw(st.timedeltas(timedelta(seconds=1), timedelta(days=5000)))
        zone = draw(ZONES)
        return moment.astimezone(zone).isoformat(), moment
    if draw(st.booleans()):
        day = draw(st.dates(date(1900, 1, 1), date(2100, 1, 1)))
        return day.isoformat(), datetime(day.year, day.month, day.day, tzinfo=UTC)
    moment = draw(INSTANTS)
    return moment.isoformat(), moment


@st.composite
def valid_rows(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, Any]]:
    """A valid row as CSV cells, with the BulkRow field values it must give."""
    cells = dict.fromkeys(COLUMNS, "")
    expected: dict[str, Any] = {}
    if draw(st.booleans()):
        local = draw(st.from_regex(r"[A-Za-z0-9._+-]{1,12}", fullmatch=True))
        domain = draw(st.from_regex(r"[A-Za-z0-9-]{1,12}\.[A-Za-z]{2,6}", fullmatch=True))
        pad = draw(st.sampled_from(["", " ", "\t"]))
        cells["email"] = f"{pad}{local}@{domain}{pad}"
        expected["recipient"] = RecipientSpec("email", f"{local}@{domain}".lower())
    else:
        did = "did:example:" + draw(st.from_regex(r"[A-Za-z0-9._:%-]{1,20}", fullmatch=True))
        cells["did"] = did
        expected["recipient"] = RecipientSpec("did", did)
    for column in ("name", "evidence_narrative", "result", "narrative"):
        text = draw(TEXT)
        cells[column] = text
        expected[column] = text.strip() or None
    starts = {"valid_from": "valid_until", "activity_start": "activity_end", "awarded_date": None}
    for start, end in starts.items():
        expected[start] = None
        if end is not None:
            expected[end] = None
        if draw(st.booleans()):
            cells[start], expected[start] = draw(instant_cells())
            if end is not None and draw(st.booleans()):
                cells[end], expected[end] = draw(instant_cells(after=expected[start]))
    credits = draw(
        st.none()
        | st.integers(0, 10**12).map(str)
        | st.floats(0, 1e300, allow_nan=False, allow_infinity=False).map(repr)
    )
    cells["credits_earned"] = credits or ""
    expected["credits_earned"] = None if credits is None else float(credits)
    url = draw(
        st.none()
        | st.from_regex(r"https?://[a-z]{1,10}\.example/[a-z0-9/._~-]{0,12}", fullmatch=True)
    )
    cells["evidence_url"] = url or ""
    expected["evidence_url"] = url
    return cells, expected


@settings(max_examples=150, deadline=None)
@given(valid_rows())
def test_any_valid_row_round_trips_through_csv_into_the_same_bulk_row(
    case: tuple[dict[str, str], dict[str, Any]],
) -> None:
    cells, expected = case
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerow([cells[c] for c in COLUMNS])

    report = validate(parse_csv(buffer.getvalue().encode("utf-8")))

    assert report.errors == ()
    assert report.rows == (BulkRow(number=2, **expected),)
    assert validate([cells]).rows == report.rows
