"""W3C Bitstring Status List v1.0 encoding (https://www.w3.org/TR/vc-bitstring-status-list/).

``encodedList`` is multibase base64url (prefix ``u``, no padding) of the GZIP-compressed
bitstring. Index 0 is the left-most bit: bit ``7 - i % 8`` of byte ``i // 8``.
"""

from __future__ import annotations

import base64
import gzip
import re
import zlib

from credstack.domain.errors import Invalid

MIN_ENTRIES = 131_072
_DIGITS = re.compile(r"^[0-9]+\Z")
MAX_DECODED_BYTES = 16 * 1024 * 1024


class StatusListError(Invalid):
    code = "status.list_invalid"


def new_bitstring(entries: int = MIN_ENTRIES) -> bytearray:
    if entries < MIN_ENTRIES:
        raise Invalid(f"a status list holds at least {MIN_ENTRIES} entries, not {entries}")
    return bytearray((entries + 7) // 8)


def encode(bits: bytes | bytearray) -> str:
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode(encoded: str, *, minimum_entries: int = MIN_ENTRIES, status_size: int = 1) -> bytes:
    """The bitstring of ``encodedList``; refuses lists shorter than the spec minimum."""
    if not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (prefix 'u')")
    try:
        compressed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        bits = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except (ValueError, zlib.error) as exc:
        raise StatusListError(f"encodedList does not decode: {exc}") from exc
    if inflater.unconsumed_tail:
        raise StatusListError("encodedList expands beyond the size limit")
    if not inflater.eof:
        raise StatusListError("encodedList is a truncated GZIP stream")
    if status_size < 1:
        raise StatusListError(f"statusSize must be at least 1, not {status_size}")
    if len(bits) * 8 // status_size < minimum_entries:
        raise StatusListError(
            f"status list has {len(bits) * 8 // status_size} entries, "
            f"fewer than the minimum {minimum_entries} (STATUS_LIST_LENGTH_ERROR)"
        )
    return bits


def get_status(bits: bytes | bytearray, index: int, status_size: int = 1) -> int:
    """The status value at ``index`` (``status_size`` bits, most significant first)."""
    if status_size < 1:
        raise StatusListError(f"statusSize must be at least 1, not {status_size}")
    start = index * status_size
    if index < 0 or start + status_size > len(bits) * 8:
        raise StatusListError(f"statusListIndex {index} is out of range (RANGE_ERROR)")
    value = 0
    for position in range(start, start + status_size):
        value = (value << 1) | ((bits[position // 8] >> (7 - position % 8)) & 1)
    return value


def set_status(bits: bytearray, index: int, value: int = 1, status_size: int = 1) -> None:
    start = index * status_size
    if index < 0 or start + status_size > len(bits) * 8:
        raise StatusListError(f"statusListIndex {index} is out of range (RANGE_ERROR)")
    for offset in range(status_size):
        position = start + offset
        bit = (value >> (status_size - 1 - offset)) & 1
        mask = 1 << (7 - position % 8)
        bits[position // 8] = (bits[position // 8] | mask) if bit else (bits[position // 8] & ~mask)


def parse_index(value: object) -> int:
    """``statusListIndex`` is a base-10 string; numbers are tolerated when reading."""
    if isinstance(value, bool):
        raise StatusListError("statusListIndex must be a base-10 string")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    raise StatusListError(f"statusListIndex {value!r} is not a base-10 integer string")
