"""Baked badges: an Open Badges 3.0 credential carried inside its PNG or SVG image.

Spec: https://www.imsglobal.org/spec/ob/v3p0/#baking

The payload is a str, either a compact JWS (VC-JWT) or the JSON of a credential with an
embedded proof. Pure functions on bytes: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import re
import struct
import zlib
from enum import StrEnum
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException, EntitiesForbidden

from credstack.domain.errors import Invalid

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
_MAX_INFLATED = 32 * 1024 * 1024  # a compressed iTXt may not inflate beyond this

_BOM = b"\xef\xbb\xbf"
_TAG = rb"<(/?)([^\s/>!?]+)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
_QUOTED = rb"\"[^\"]*\"|'[^']*'"
_DOCTYPE = rb"<!DOCTYPE(?:[^\[>\"']|" + _QUOTED + rb"|\[(?:[^\]\"']|" + _QUOTED + rb")*\])*>"
_COMMENT = rb"<!--(?:(?!-->).)*-->"
_PI = rb"<\?(?:(?!\?>).)*\?>"
_PROLOG = re.compile(
    rb"(?:\s|" + _PI + b"|" + _COMMENT + b"|" + _DOCTYPE + rb")*(?=<svg[\s/>])", re.S
)
_MARKUP = re.compile(_COMMENT + rb"|<!\[CDATA\[.*?\]\]>|" + _PI + b"|" + _TAG, re.S)
_ROOT = re.compile(_TAG, re.S)
_ENCODING = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\sencoding\s*=\s*[\"']([^\"']*)")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ImageKind(StrEnum):
    PNG = "png"
    SVG = "svg"


def sniff(image: bytes) -> ImageKind | None:
    """PNG by its signature; SVG when, after a BOM and the prolog, the root is ``<svg``."""
    if image.startswith(PNG_SIGNATURE):
        return ImageKind.PNG
    if _PROLOG.match(image, len(_BOM) if image.startswith(_BOM) else 0):
        return ImageKind.SVG
    return None


def bake(image: bytes, payload: str) -> bytes:
    return bake_png(image, payload) if _kind(image) is ImageKind.PNG else bake_svg(image, payload)


def unbake(image: bytes) -> str | None:
    return unbake_png(image) if _kind(image) is ImageKind.PNG else unbake_svg(image)


def _kind(image: bytes) -> ImageKind:
    kind = sniff(image)
    if kind is None:
        raise Invalid("the image is neither a PNG nor an SVG image")
    return kind


def _check_payload(payload: str) -> bytes:
    if not payload.strip():
        raise Invalid("the credential to bake is empty")
    return _utf8(payload, "the credential")


def _check_xml_text(text: str, what: str) -> None:
    if _NOT_XML_CHAR.search(text):
        raise Invalid(f"{what} holds characters that XML cannot carry")


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Invalid(f"{what} is not encodable as UTF-8: {exc.reason}") from exc


# --- PNG -----------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_chunks(image: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of every chunk up to IEND; checks signature, lengths and CRCs."""
    if not image.startswith(PNG_SIGNATURE):
        raise Invalid("not a PNG image: the PNG signature is missing")
    chunks: list[tuple[bytes, int, int]] = []
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(image):
            raise Invalid("truncated PNG image: it ends before its IEND chunk")
        (length,) = struct.unpack_from(">I", image, pos)
        kind, end = image[pos + 4 : pos + 8], pos + 12 + length
        name = kind.decode("ascii", "replace")
        if length > 0x7FFFFFFF or end > len(image):
            raise Invalid(f"truncated PNG image: the {name} chunk runs past the end")
        if zlib.crc32(image[pos + 4 : end - 4]) != struct.unpack_from(">I", image, end - 4)[0]:
            raise Invalid(f"corrupt PNG image: the CRC of the {name} chunk does not match")
        if not chunks and kind != b"IHDR":
            raise Invalid("corrupt PNG image: the first chunk is not IHDR")
        chunks.append((kind, pos, end))
        pos = end
        if kind == b"IEND":
            return chunks


def _is_credential_chunk(image: bytes, kind: bytes, start: int, end: int) -> bool:
    return kind == b"iTXt" and image[start + 8 : end - 4].partition(b"\0")[0] == PNG_KEYWORD


def bake_png(image: bytes, payload: str) -> bytes:
    """Put the credential in one iTXt chunk right after IHDR, replacing any earlier one."""
    text = _check_payload(payload)
    chunks = _png_chunks(image)
    ihdr_end, iend_end = chunks[0][2], chunks[-1][2]
    kept = [image[s:e] for k, s, e in chunks[1:] if not _is_credential_chunk(image, k, s, e)]
    itxt = _chunk(b"iTXt", PNG_KEYWORD + b"\0\0\0\0\0" + text)
    return image[:ihdr_end] + itxt + b"".join(kept) + image[iend_end:]


def unbake_png(image: bytes) -> str | None:
    """The text of the first ``openbadgecredential`` iTXt chunk, or None."""
    for kind, start, end in _png_chunks(image):
        if _is_credential_chunk(image, kind, start, end):
            return _itxt_text(image[start + 8 : end - 4])
    return None


def _itxt_text(data: bytes) -> str:
    rest = data.partition(b"\0")[2]
    fields = rest[2:].split(b"\0", 2)
    if len(rest) < 2 or len(fields) != 3:
        raise Invalid("corrupt PNG image: the openbadgecredential iTXt chunk is malformed")
    flag, method, text = rest[0], rest[1], fields[2]
    if flag == 1 and method == 0:
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, _MAX_INFLATED)
        except zlib.error as exc:
            raise Invalid(f"corrupt PNG image: the credential does not inflate: {exc}") from exc
        if inflater.unconsumed_tail:
            raise Invalid("PNG image refused: the compressed credential is too large")
    elif flag != 0:
        raise Invalid(f"corrupt PNG image: unknown iTXt compression {flag}/{method}")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("corrupt PNG image: the credential is not UTF-8 text") from exc


# --- SVG -----------------------------------------------------------------------------


def _parse_svg(image: bytes) -> Element:
    """Parse with defusedxml, which refuses entity declarations and external references."""
    try:
        root: Element = SafeET.fromstring(image)
    except EntitiesForbidden as exc:
        raise Invalid("SVG image refused: it declares XML entities") from exc
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise Invalid(f"not a well-formed SVG image: {exc}") from exc
    if root.tag.rpartition("}")[2] != "svg":
        raise Invalid("not an SVG image: the root element is not <svg>")
    return root


def _credential_element(payload: str) -> bytes:
    if payload.strip().startswith("{"):
        body = payload.replace("]]>", "]]]]><![CDATA[>").replace("\r", "]]>&#13;<![CDATA[")
        content, attribute = f"<![CDATA[{body}]]>", ""
    else:
        entities = {'"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
        content, attribute = "", f' verify="{escape(payload, entities)}"'
    return f"<openbadges:credential{attribute}>{content}</openbadges:credential>".encode()


def _credential_value(element: Element) -> str:
    verify = element.get("verify")
    return verify if verify is not None else (element.text or "")


def _without_credentials(image: bytes, pos: int, names: set[bytes]) -> bytes:
    """image[pos:] with every element named in ``names`` cut out (CDATA-aware)."""
    out, last, depth, start = [], pos, 0, pos
    for m in _MARKUP.finditer(image, pos):
        if m.group(2) not in names:
            continue
        if depth == 0:
            start = m.start()
        if m.group(1):
            depth -= 1
        elif not m.group(0).endswith(b"/>"):
            depth += 1
        if depth == 0:
            out.append(image[last:start])
            last = m.end()
    out.append(image[last:])
    return b"".join(out)


def bake_svg(image: bytes, payload: str) -> bytes:
    """Insert one <openbadges:credential> right after the <svg> start tag, by text insertion."""
    _check_payload(payload)
    _check_xml_text(payload, "the credential")
    encoding = _ENCODING.match(image)
    if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
        raise Invalid("SVG image refused: only a UTF-8 SVG document can be baked")
    _parse_svg(image)
    prolog = _PROLOG.match(image, len(_BOM) if image.startswith(_BOM) else 0)
    root = _ROOT.match(image, prolog.end()) if prolog else None
    if root is None:
        raise Invalid("not an SVG image: no <svg> root element found")
    tag, namespace = root.group(0), re.escape(SVG_NAMESPACE.encode())
    declared = re.search(rb"\sxmlns:openbadges\s*=\s*([\"'])(.*?)\1", tag, re.S)
    if declared and declared.group(2) != SVG_NAMESPACE.encode():
        raise Invalid("SVG image refused: it binds the openbadges prefix to another namespace")
    bound = re.finditer(rb"\sxmlns:([^\s=]+)\s*=\s*([\"'])" + namespace + rb"\2", tag)
    names = {b"openbadges:credential"} | {m.group(1) + b":credential" for m in bound}
    empty = tag.endswith(b"/>")
    head = tag[:-2] if empty else tag[:-1]
    if not declared:
        head += f' xmlns:openbadges="{SVG_NAMESPACE}"'.encode()
    close = b"</" + root.group(2) + b">" if empty else b""
    rest = _without_credentials(image, root.end(), names)
    baked = image[: root.start()] + head + b">" + _credential_element(payload) + close + rest
    found = list(_parse_svg(baked).iter(f"{{{SVG_NAMESPACE}}}credential"))
    if len(found) != 1 or _credential_value(found[0]) != payload:
        raise Invalid("SVG image refused: it holds a credential element that cannot be replaced")
    return baked


def unbake_svg(image: bytes) -> str | None:
    """The first openbadges:credential: its ``verify`` attribute, else its text; or None."""
    element = next(_parse_svg(image).iter(f"{{{SVG_NAMESPACE}}}credential"), None)
    return None if element is None else _credential_value(element)


# --- demo images ---------------------------------------------------------------------


def demo_badge_png(label: str = "credstack") -> bytes:
    """A 64x64 RGBA disc on a transparent background; its colour and Title come from label."""
    title = _utf8(label, "the label")
    seed = zlib.crc32(title)
    colour = bytes(0x30 + ((seed >> shift) & 0x9F) for shift in (0, 8, 16)) + b"\xff"
    inside = [[(x - 31.5) ** 2 + (y - 31.5) ** 2 <= 30.5**2 for x in range(64)] for y in range(64)]
    rows = b"".join(b"\0" + b"".join(colour if i else bytes(4) for i in row) for row in inside)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 6, 0, 0, 0))
        + _chunk(b"iTXt", b"Title\0\0\0\0\0" + title)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def demo_badge_svg(label: str) -> bytes:
    """A simple round SVG badge showing label, with a <title> for assistive technology."""
    _check_xml_text(label, "the label")
    text = escape(label)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" '
        'viewBox="0 0 200 200" role="img" aria-labelledby="badge-title">\n'
        f'  <title id="badge-title">{text}</title>\n'
        '  <circle cx="100" cy="100" r="90" fill="#2f6fb3" stroke="#1b3f66" stroke-width="8"/>\n'
        '  <text x="100" y="108" font-family="sans-serif" font-size="20" fill="#ffffff" '
        f'text-anchor="middle">{text}</text>\n'
        "</svg>\n"
    ).encode()
