"""Baked badges (OB 3.0 "Baked badges"): PNG iTXt chunk and SVG openbadges:credential."""

from __future__ import annotations

import json
import re
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credstack.domain.baking import (
    PNG_SIGNATURE,
    SVG_NAMESPACE,
    ImageKind,
    bake,
    bake_png,
    bake_svg,
    demo_badge_png,
    demo_badge_svg,
    sniff,
    unbake,
    unbake_png,
    unbake_svg,
)
from credstack.domain.errors import Invalid

CREDENTIAL = json.dumps(
    {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Zoë's badge ✓ — 学位 🎓",
        "description": "tricky ]]> and </openbadges:credential> and <![CDATA[ inside",
        "proof": {"type": "DataIntegrityProof", "proofValue": "z58DAdFfa9SkqZMVPxAQp"},
    },
    ensure_ascii=False,
    indent=2,
)
JWT = "eyJhbGciOiJFZERTQSIsInR5cCI6InZjK2p3dCJ9.eyJpc3MiOiJkaWQ6a2V5OnoifQ.c2lnbmF0dXJl"
DEMO_PNG = demo_badge_png()
DEMO_SVG = demo_badge_svg("Zoë & co")
XMLNS = f' xmlns:openbadges="{SVG_NAMESPACE}"'.encode()


def png_chunks(image: bytes) -> list[tuple[bytes, bytes]]:
    """Walk a PNG independently of the module: every CRC must check and IEND must be last."""
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(image):
        (length,) = struct.unpack(">I", image[pos : pos + 4])
        kind, data = image[pos + 4 : pos + 8], image[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", image[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data), f"bad CRC in {kind!r}"
        chunks.append((kind, data))
        pos += 12 + length
    assert pos == len(image)
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1] == (b"IEND", b"")
    return chunks


def credential_chunks(image: bytes) -> list[bytes]:
    return [d for k, d in png_chunks(image) if k == b"iTXt" and d.startswith(b"openbadgecred")]


def count_elements(svg: bytes) -> int:
    return len(re.findall(rb"<openbadges:credential[\s>/]", svg))


def itxt(keyword: bytes, text: bytes, *, compressed: bool = False) -> bytes:
    data = keyword + b"\0" + (b"\1\0" if compressed else b"\0\0") + b"\0\0" + text
    return (
        struct.pack(">I", len(data))
        + b"iTXt"
        + data
        + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    )


def with_chunk_after_ihdr(image: bytes, chunk: bytes) -> bytes:
    return image[:33] + chunk + image[33:]


# --- PNG -----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [CREDENTIAL, JWT])
def test_a_baked_png_gives_back_the_same_credential(payload: str) -> None:
    baked = bake_png(demo_badge_png(), payload)
    assert unbake_png(baked) == payload
    assert unbake(baked) == payload


def test_a_baked_png_is_still_a_valid_png_with_the_credential_right_after_ihdr() -> None:
    original = demo_badge_png()
    baked = bake_png(original, CREDENTIAL)
    kinds = [kind for kind, _ in png_chunks(baked)]
    assert kinds[:2] == [b"IHDR", b"iTXt"]
    assert kinds.index(b"iTXt") < kinds.index(b"IDAT")
    assert [c for c in png_chunks(baked) if c not in png_chunks(original)] == [
        (b"iTXt", credential_chunks(baked)[0])
    ]


def test_the_png_chunk_has_the_exact_itxt_layout() -> None:
    baked = bake_png(demo_badge_png(), CREDENTIAL)
    [data] = credential_chunks(baked)
    assert data == b"openbadgecredential\x00\x00\x00\x00\x00" + CREDENTIAL.encode("utf-8")


def test_baking_a_png_twice_leaves_exactly_one_credential_chunk() -> None:
    once = bake_png(demo_badge_png(), JWT)
    twice = bake_png(once, CREDENTIAL)
    assert len(credential_chunks(twice)) == 1
    assert unbake_png(twice) == CREDENTIAL
    assert twice == bake_png(demo_badge_png(), CREDENTIAL)


def test_baking_replaces_every_credential_chunk_even_a_compressed_one() -> None:
    image = with_chunk_after_ihdr(
        demo_badge_png(), itxt(b"openbadgecredential", b"x", compressed=False)
    )
    image = with_chunk_after_ihdr(
        image, itxt(b"openbadgecredential", zlib.compress(b"y"), compressed=True)
    )
    baked = bake_png(image, JWT)
    assert len(credential_chunks(baked)) == 1
    assert unbake_png(baked) == JWT


def test_a_compressed_itxt_chunk_written_by_hand_is_read() -> None:
    chunk = itxt(b"openbadgecredential", zlib.compress(CREDENTIAL.encode()), compressed=True)
    assert unbake_png(with_chunk_after_ihdr(demo_badge_png(), chunk)) == CREDENTIAL


def test_the_first_credential_chunk_wins_and_other_itxt_keywords_are_ignored() -> None:
    image = with_chunk_after_ihdr(demo_badge_png(), itxt(b"openbadgecredential", b"second"))
    image = with_chunk_after_ihdr(image, itxt(b"openbadgecredential", b"first"))
    image = with_chunk_after_ihdr(image, itxt(b"openbadges", b"an OB 2.0 assertion"))
    assert unbake_png(image) == "first"


def test_unbaking_a_png_without_a_credential_gives_none() -> None:
    assert unbake_png(demo_badge_png()) is None
    assert unbake(demo_badge_png()) is None


def test_a_truncated_png_is_invalid() -> None:
    baked = bake_png(demo_badge_png(), JWT)
    for cut in (10, 40, len(baked) - 1):
        with pytest.raises(Invalid, match="truncated PNG"):
            unbake_png(baked[:cut])
        with pytest.raises(Invalid, match="truncated PNG"):
            bake_png(baked[:cut], JWT)


def test_a_png_with_a_bad_crc_is_invalid() -> None:
    image = bytearray(demo_badge_png())
    image[40] ^= 0xFF
    with pytest.raises(Invalid, match="CRC"):
        unbake_png(bytes(image))


def test_bytes_that_are_not_a_png_are_invalid_for_the_png_functions() -> None:
    with pytest.raises(Invalid, match="signature"):
        unbake_png(b"GIF89a....")


def test_the_demo_png_is_a_64_pixel_rgba_image_whose_pixels_decode() -> None:
    chunks = dict(png_chunks(demo_badge_png("Zoë")))
    assert struct.unpack(">IIBBBBB", chunks[b"IHDR"]) == (64, 64, 8, 6, 0, 0, 0)
    pixels = zlib.decompress(chunks[b"IDAT"])
    assert len(pixels) == 64 * (1 + 64 * 4)
    centre, corner = 32 * (1 + 256) + 1 + 32 * 4, 1
    assert pixels[centre + 3] == 0xFF
    assert pixels[corner + 3] == 0
    assert chunks[b"iTXt"].endswith("Zoë".encode())


# --- SVG -----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [CREDENTIAL, JWT])
def test_a_baked_svg_gives_back_the_same_credential(payload: str) -> None:
    baked = bake_svg(demo_badge_svg("Zoë & co"), payload)
    assert unbake_svg(baked) == payload
    assert unbake(baked) == payload


def test_a_jwt_goes_in_the_verify_attribute_and_json_in_cdata() -> None:
    jwt_svg = bake_svg(demo_badge_svg("x"), JWT)
    assert f'<openbadges:credential verify="{JWT}"></openbadges:credential>'.encode() in jwt_svg
    json_svg = bake_svg(demo_badge_svg("x"), '{"a": 1}')
    assert b'<openbadges:credential><![CDATA[{"a": 1}]]></openbadges:credential>' in json_svg


def test_a_json_credential_holding_the_cdata_end_marker_round_trips() -> None:
    payload = '{"a": "]]>", "b": "]]]]>", "c": "x]]"}'
    baked = bake_svg(demo_badge_svg("x"), payload)
    assert b"]]]]><![CDATA[>" in baked
    assert unbake_svg(baked) == payload


def test_the_element_comes_right_after_the_svg_start_tag_and_the_rest_is_unchanged() -> None:
    original = demo_badge_svg("Zoë")
    baked = bake_svg(original, JWT)
    element = f'<openbadges:credential verify="{JWT}"></openbadges:credential>'.encode()
    assert XMLNS + b">" + element in baked
    assert baked.replace(XMLNS, b"", 1).replace(element, b"", 1) == original


def test_baking_an_svg_twice_leaves_exactly_one_element() -> None:
    once = bake_svg(demo_badge_svg("x"), CREDENTIAL)
    twice = bake_svg(once, JWT)
    assert count_elements(once) == count_elements(twice) == 1
    assert twice.count(XMLNS) == 1
    assert unbake_svg(twice) == JWT
    assert twice == bake_svg(demo_badge_svg("x"), JWT)


def test_an_element_elsewhere_or_self_closing_is_replaced() -> None:
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="{SVG_NAMESPACE}">'
        '<g><ob:credential verify="old"/></g><g/></svg>'
    ).encode()
    baked = bake_svg(svg, JWT)
    assert b"old" not in baked
    assert unbake_svg(baked) == JWT


def test_the_svg_start_tag_is_found_past_a_declaration_comment_and_doctype() -> None:
    svg = (
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- a <svg> in a comment -->\n'
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" data-x="a>b"><rect/></svg>'
    )
    assert sniff(svg) is ImageKind.SVG
    baked = bake(svg, JWT)
    assert baked.startswith(svg[: svg.index(b'data-x="a>b"') + 12] + XMLNS + b"><openbadges")
    assert unbake(baked) == JWT


def test_a_self_closing_svg_root_gets_the_element_and_an_end_tag() -> None:
    baked = bake_svg(b'<svg xmlns="http://www.w3.org/2000/svg"/>', JWT)
    assert baked.endswith(b"</openbadges:credential></svg>")
    assert unbake_svg(baked) == JWT


def test_unbaking_an_svg_without_a_credential_gives_none() -> None:
    assert unbake_svg(demo_badge_svg("x")) is None
    assert unbake(demo_badge_svg("x")) is None


@pytest.mark.parametrize(
    "svg",
    [
        b'<!DOCTYPE svg [<!ENTITY lol "lol">]><svg>&lol;</svg>',
        b'<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg>&xxe;</svg>',
    ],
)
def test_an_svg_declaring_entities_is_refused(svg: bytes) -> None:
    with pytest.raises(Invalid, match="entities"):
        unbake_svg(svg)
    with pytest.raises(Invalid, match="entities"):
        bake_svg(svg, JWT)


def test_a_malformed_svg_is_invalid() -> None:
    with pytest.raises(Invalid, match="well-formed"):
        unbake(b"<svg><g></svg>")


def test_an_svg_declared_in_another_encoding_is_refused_for_baking() -> None:
    svg = b'<?xml version="1.0" encoding="ISO-8859-1"?><svg><title>caf\xe9</title></svg>'
    assert unbake(svg) is None
    with pytest.raises(Invalid, match="UTF-8"):
        bake(svg, JWT)


def test_a_payload_xml_cannot_carry_is_refused_for_svg() -> None:
    with pytest.raises(Invalid, match="XML cannot carry"):
        bake_svg(demo_badge_svg("x"), "a\x00b")


def test_an_empty_payload_is_refused() -> None:
    with pytest.raises(Invalid, match="empty"):
        bake(demo_badge_png(), "  ")


def test_the_demo_svg_escapes_its_label_and_has_a_title() -> None:
    svg = demo_badge_svg('<b>"A & B"</b>').decode()
    assert "<title" in svg
    assert "&lt;b&gt;" in svg
    assert "<b>" not in svg


# --- sniffing ------------------------------------------------------------------------


def test_sniff_tells_png_from_svg_from_anything_else() -> None:
    assert sniff(demo_badge_png()) is ImageKind.PNG
    assert sniff(demo_badge_svg("x")) is ImageKind.SVG
    assert sniff(b"  <svg/>") is ImageKind.SVG
    assert sniff(b"<html><svg/></html>") is None
    assert sniff(b"") is None
    assert PNG_SIGNATURE == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("garbage", [b"", b"garbage", b"\x00\x01\x02", b"<html/>", b"GIF89a"])
def test_garbage_bytes_are_neither_png_nor_svg(garbage: bytes) -> None:
    with pytest.raises(Invalid, match="neither a PNG nor an SVG image"):
        unbake(garbage)
    with pytest.raises(Invalid, match="neither a PNG nor an SVG image"):
        bake(garbage, JWT)


# --- property ------------------------------------------------------------------------

xml_chars = st.characters(
    codec="utf-8",
    exclude_categories=["Cc"],
    include_characters="\t\n\r",
    exclude_characters="\ufffe\uffff",
)
tricky = st.sampled_from(["{", "]]>", "]]", "\r\n", "<![CDATA[", "&amp;", '"', "'", "<", "\t"])
xml_text = (
    st.lists(st.one_of(st.text(xml_chars), tricky), min_size=1)
    .map("".join)
    .filter(lambda s: s.strip() != "")
)
any_text = st.text(st.characters(codec="utf-8"), min_size=1).filter(lambda s: s.strip() != "")


@given(any_text, xml_text)
def test_any_text_payload_round_trips_through_png_and_svg(text: str, xml_safe: str) -> None:
    assert unbake(bake(DEMO_PNG, text)) == text
    assert unbake(bake(DEMO_PNG, xml_safe)) == xml_safe
    assert unbake(bake(DEMO_SVG, xml_safe)) == xml_safe
