"""W3C Bitstring Status List encoding: GZIP + multibase base64url, MSB-first bits."""

from __future__ import annotations

import base64
import gzip

import pytest

from credstack.crypto import status_list
from credstack.crypto.status_list import (
    MAX_DECODED_BYTES,
    MIN_ENTRIES,
    StatusListError,
    decode,
    encode,
    get_status,
    new_bitstring,
    parse_index,
    set_status,
)
from credstack.domain.errors import Invalid

SPEC_EXAMPLE = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def multibase_gzip(raw: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def test_a_new_list_has_the_spec_minimum_of_131072_entries_all_clear() -> None:
    bits = new_bitstring()
    assert len(bits) == 16384
    assert MIN_ENTRIES == 131_072
    assert not any(bits)


def test_a_list_shorter_than_the_minimum_cannot_be_created() -> None:
    with pytest.raises(Invalid, match="at least 131072"):
        new_bitstring(MIN_ENTRIES - 1)


def test_encode_then_decode_gives_back_the_same_bits() -> None:
    bits = new_bitstring()
    for index in (0, 7, 8, 23, 4095, MIN_ENTRIES - 1):
        set_status(bits, index)
    encoded = encode(bits)
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert decode(encoded) == bytes(bits)


def test_encoding_is_deterministic() -> None:
    bits = new_bitstring()
    set_status(bits, 42)
    assert encode(bits) == encode(bytes(bits))


def test_setting_index_zero_sets_the_most_significant_bit_of_the_first_byte() -> None:
    bits = new_bitstring()
    set_status(bits, 0)
    assert bits[0] == 0x80
    assert get_status(bits, 0) == 1
    assert get_status(bits, 1) == 0


def test_index_seven_is_the_least_significant_bit_of_the_first_byte() -> None:
    bits = new_bitstring()
    set_status(bits, 7)
    set_status(bits, 8)
    assert bits[:2] == b"\x01\x80"


def test_clearing_a_status_clears_only_that_bit() -> None:
    bits = new_bitstring()
    set_status(bits, 3)
    set_status(bits, 4)
    set_status(bits, 3, 0)
    assert bits[0] == 0b0000_1000
    assert get_status(bits, 3) == 0
    assert get_status(bits, 4) == 1


def test_a_two_bit_status_is_read_and_written_most_significant_bit_first() -> None:
    bits = new_bitstring(2 * MIN_ENTRIES)
    set_status(bits, 0, 0b10, status_size=2)
    set_status(bits, 1, 0b01, status_size=2)
    set_status(bits, 3, 0b11, status_size=2)
    assert bits[0] == 0b1001_0011
    assert [get_status(bits, i, 2) for i in range(4)] == [2, 1, 0, 3]


def test_a_two_bit_list_needs_twice_the_bits_to_reach_the_minimum() -> None:
    single = encode(new_bitstring())
    assert len(decode(single)) == 16384
    with pytest.raises(StatusListError, match="65536 entries"):
        decode(single, status_size=2)
    assert len(decode(encode(new_bitstring(2 * MIN_ENTRIES)), status_size=2)) == 32768


@pytest.mark.parametrize("index", [-1, MIN_ENTRIES, MIN_ENTRIES + 100])
def test_an_index_outside_the_list_is_a_range_error(index: int) -> None:
    bits = new_bitstring()
    with pytest.raises(StatusListError, match="RANGE_ERROR"):
        get_status(bits, index)
    with pytest.raises(StatusListError, match="RANGE_ERROR"):
        set_status(bits, index)


def test_the_last_two_bit_entry_is_in_range_and_the_next_is_not() -> None:
    bits = new_bitstring()
    last = MIN_ENTRIES // 2 - 1
    set_status(bits, last, 3, status_size=2)
    assert bits[-1] == 0b11
    with pytest.raises(StatusListError, match="RANGE_ERROR"):
        get_status(bits, last + 1, status_size=2)


def test_the_spec_example_list_decodes_to_16384_zero_bytes() -> None:
    bits = decode(SPEC_EXAMPLE)
    assert bits == bytes(16384)


def test_a_list_shorter_than_131072_entries_is_refused() -> None:
    short = encode(bytes(16383))
    with pytest.raises(StatusListError, match="STATUS_LIST_LENGTH_ERROR") as caught:
        decode(short)
    assert caught.value.code == "status.list_invalid"


def test_an_ecosystem_may_lower_the_minimum() -> None:
    assert decode(encode(bytes(16)), minimum_entries=128) == bytes(16)


def test_a_gzip_bomb_beyond_the_limit_is_refused() -> None:
    bomb = encode(bytes(MAX_DECODED_BYTES + 1))
    assert len(bomb) < 64 * 1024
    with pytest.raises(StatusListError, match="beyond the size limit"):
        decode(bomb)


def test_a_list_exactly_at_the_size_limit_is_accepted() -> None:
    assert len(decode(encode(bytes(MAX_DECODED_BYTES)))) == MAX_DECODED_BYTES


@pytest.mark.parametrize(
    "encoded",
    ["zH4sIAAAAAAAAA", "H4sIAAAAAAAAA", "u!!!!", "uAAAAAAAA", multibase_gzip(b"not gzip at all")],
)
def test_an_encoded_list_that_does_not_decode_is_refused(encoded: str) -> None:
    with pytest.raises(StatusListError):
        decode(encoded)


def test_a_list_whose_checksum_is_wrong_is_refused() -> None:
    raw = gzip.compress(bytes(16384), mtime=0)
    corrupted = raw[:-8] + bytes(4) + raw[-4:]
    with pytest.raises(StatusListError, match="does not decode"):
        decode(multibase_gzip(corrupted))


def test_a_list_whose_gzip_trailer_is_cut_off_is_refused() -> None:
    bits = new_bitstring()
    set_status(bits, 0)
    raw = gzip.compress(bytes(bits), mtime=0)
    with pytest.raises(StatusListError):
        decode(multibase_gzip(raw[:-8]))


@pytest.mark.parametrize(("value", "expected"), [("23", 23), (23, 23), ("0", 0), ("007", 7)])
def test_parse_index_reads_base_10_strings_and_tolerates_numbers(
    value: object, expected: int
) -> None:
    assert parse_index(value) == expected


@pytest.mark.parametrize("value", ["-1", "x", "", "1.5", " 1", True, False, None, 1.0])
def test_parse_index_refuses_anything_else(value: object) -> None:
    with pytest.raises(StatusListError, match="statusListIndex"):
        parse_index(value)


@pytest.mark.parametrize("value", ["²", "٣"])
def test_parse_index_refuses_non_ascii_digits(value: str) -> None:
    with pytest.raises(StatusListError, match="statusListIndex"):
        parse_index(value)


@pytest.mark.parametrize("size", [0, -1])
def test_a_status_size_that_is_not_positive_is_refused(size: int) -> None:
    bits = new_bitstring()
    set_status(bits, 0)
    with pytest.raises(StatusListError):
        get_status(bits, 0, status_size=size)


def test_status_list_errors_are_invalid_input() -> None:
    assert issubclass(status_list.StatusListError, Invalid)
