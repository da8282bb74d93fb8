"""Downloads of a wallet credential: the signed document, baked badge images and a PDF
certificate with a QR code to its verification page.

* **JSON** (``/wallet/credentials/{id}.json``, in ``wallet``) or **VC-JWT** (``….jwt``):
  the credential exactly as stored. credstack signs with Data Integrity proofs, so its
  own credentials are JSON; a VC-JWT is offered only for an item stored as a JWT. Signing
  a second, JWT-secured copy would issue a new credential, not download the one held.
* **Baked badges** (``…/badge.svg``, ``…/badge.png``): a badge drawn for the credential
  (its name, issuer and year on a disc) with the stored credential baked in
  (``credstack.domain.baking``: SVG ``openbadges:credential``, PNG ``iTXt``), so
  ``credstack.unbake`` gives back the exact stored text. The PNG is drawn with Pillow,
  which fpdf2 needs anyway.
* **Certificate** (``…/certificate.pdf``, credentials issued here): fpdf2, A4 landscape,
  with a QR code (segno, drawn as vector squares) and a link annotation to the
  credential's URL, which browsers open as its verification page.
"""

from __future__ import annotations

import io
import unicodedata
import zlib
from datetime import datetime
from typing import Final
from xml.sax.saxutils import escape

import segno
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from credstack.domain.baking import bake
from credstack.domain.errors import NotFound
from credstack.services import sharing
from credstack.services.certificates import CredentialFacts
from credstack.web.pages.session import PageRoute, UserDep, csrf_protect
from credstack.web.pages.wallet_views import SharingDep, held_item, verify_url

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
#: Badge colours: white text on each contrasts more than 7:1.
PALETTE: Final = ("#1f4e8c", "#1e6b34", "#6b2d7a", "#8a3417", "#155e63", "#3f3f8f")
SIZE: Final = 400


def _colour(facts: CredentialFacts) -> str:
    return PALETTE[zlib.crc32(f"{facts.issuer_id}|{facts.name}".encode()) % len(PALETTE)]


def wrap(text: str, width: int, lines: int) -> list[str]:
    """Words in lines of at most ``width`` characters, at most ``lines`` (ellipsis)."""
    out: list[str] = []
    for whole in text.split():
        word = whole
        while len(word) > width:  # a very long word: cut it
            out.append(word[: width - 1] + "-")
            word = word[width - 1 :]
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return out or [""]


def _year(facts: CredentialFacts) -> str:
    return str(facts.valid_from.year) if facts.valid_from else ""


# --- badge images -----------------------------------------------------------------------


def badge_svg(facts: CredentialFacts) -> bytes:
    """An SVG badge naming the credential, its issuer and year (with a <title>)."""
    lines = wrap(facts.name, 18, 4)
    top = 200 - (len(lines) - 1) * 17
    texts = "".join(
        f'  <text x="200" y="{top + i * 34}" font-size="28" font-weight="700" '
        f'text-anchor="middle" fill="#ffffff">{escape(line)}</text>\n'
        for i, line in enumerate(lines)
    )
    issuer = escape(wrap(facts.issuer_name, 30, 1)[0])
    title = escape(f"{facts.name}, issued by {facts.issuer_name}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}" role="img" aria-labelledby="badge-title">\n'
        f'  <title id="badge-title">{title}</title>\n'
        f'  <circle cx="200" cy="200" r="192" fill="{_colour(facts)}"/>\n'
        '  <circle cx="200" cy="200" r="172" fill="none" stroke="#ffffff" stroke-width="4" '
        'stroke-opacity="0.8"/>\n'
        '  <g font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">\n'
        f"{texts}"
        f'  <text x="200" y="{top + len(lines) * 34 + 20}" font-size="17" text-anchor="middle" '
        f'fill="#ffffff">{issuer}</text>\n'
        f'  <text x="200" y="336" font-size="17" text-anchor="middle" '
        f'fill="#ffffff">{escape(_year(facts))}</text>\n'
        "  </g>\n"
        "</svg>\n"
    ).encode()


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def badge_png(facts: CredentialFacts) -> bytes:
    """The same badge drawn as a PNG (Pillow, its bundled scalable font)."""
    scale = 2  # drawn at twice the size, then reduced: smooth edges
    size = SIZE * scale
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    fill = _rgb(_colour(facts))
    draw.ellipse((16, 16, size - 16, size - 16), fill=(*fill, 255))
    ring = 56
    draw.ellipse((ring, ring, size - ring, size - ring), outline=(255, 255, 255, 210), width=8)
    big = ImageFont.load_default(size=28 * scale)
    small = ImageFont.load_default(size=17 * scale)
    lines = wrap(facts.name, 18, 4)
    top = (200 - (len(lines) - 1) * 17) * scale
    for i, line in enumerate(lines):
        draw.text((size / 2, top + i * 34 * scale), line, font=big, fill="white", anchor="ms")
    issuer_y = top + (len(lines) * 34 + 20) * scale
    issuer = wrap(facts.issuer_name, 30, 1)[0]
    draw.text((size / 2, issuer_y), issuer, font=small, fill="white", anchor="ms")
    draw.text((size / 2, 336 * scale), _year(facts), font=small, fill="white", anchor="ms")
    out = io.BytesIO()
    image.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- the PDF certificate ----------------------------------------------------------------

_ASCII: Final = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "•": "-"}
)


def latin1(text: str) -> str:
    """What the PDF core fonts can show: Latin-1 (accents kept, others transliterated
    where Unicode decomposes them, else '?')."""
    out = []
    for char in text.translate(_ASCII):
        if ord(char) < 256:
            out.append(char)
            continue
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(plain if plain and all(ord(c) < 256 for c in plain) else "?")
    return "".join(out)


def _date(value: datetime | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def _qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    """A QR code of ``url`` as filled squares (crisp at any zoom), linked to ``url``."""
    qr = segno.make(url, error="m")
    matrix = qr.matrix
    cell = size / (len(matrix) + 2)  # a quiet zone of one module each side (white page)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row, bits in enumerate(matrix):
        col = 0
        while col < len(bits):
            if bits[col] & 1:
                start = col
                while col < len(bits) and bits[col] & 1:
                    col += 1
                pdf.rect(
                    x + (start + 1) * cell, y + (row + 1) * cell, (col - start) * cell, cell, "F"
                )
            else:
                col += 1
    pdf.link(x, y, size, size, url)


INK: Final = (27, 27, 27)
MUTED: Final = (74, 74, 74)
LINK: Final = (31, 78, 140)


def _text(
    pdf: FPDF,
    y: float,
    text: str,
    size: float,
    *,
    style: str = "",
    colour: tuple[int, int, int] = INK,
    align: str = "C",
    height: float = 8,
    link: str = "",
) -> None:
    """One line of text across the certificate (left: beside the QR code)."""
    pdf.set_xy(24, y)
    pdf.set_font("Helvetica", style, size)
    pdf.set_text_color(*colour)
    width = 249 if align == "C" else 199
    pdf.cell(width, height, latin1(text), align=align, link=link)


def certificate_pdf(facts: CredentialFacts, url: str, learner: str, credential_id: str) -> bytes:
    """An A4 landscape certificate of ``facts`` with a QR code to ``url``."""
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_title(latin1(f"{facts.name}: certificate"))
    pdf.set_author(latin1(facts.issuer_name))
    pdf.set_subject(latin1(f"Verify at {url}"))
    pdf.set_lang("en")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    colour = _rgb(_colour(facts))
    pdf.set_draw_color(*colour)
    pdf.set_line_width(1.5)
    pdf.rect(10, 10, 277, 190)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, 269, 182)
    _text(pdf, 26, facts.issuer_name.upper(), 14, style="B", colour=colour)
    _text(pdf, 42, facts.achievement_type or "Certificate", 30, height=14)
    if learner:
        _text(pdf, 62, "This certifies that", 13)
        _text(pdf, 72, learner, 22, style="B", height=12)
    else:
        _text(pdf, 66, "The holder of this credential", 13)
    _text(pdf, 88, "has earned", 13)
    pdf.set_xy(24, 98)
    pdf.set_font("Helvetica", "B", 24)
    pdf.multi_cell(249, 11, latin1(" ".join(wrap(facts.name, 60, 2))), align="C")
    if facts.description:
        pdf.set_xy(44, pdf.get_y() + 2)
        pdf.set_font("Helvetica", "", 11)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(209, 6, latin1(" ".join(wrap(facts.description, 110, 3))), align="C")
    details = [f"Issued {_date(facts.valid_from)}" if facts.valid_from else ""]
    if facts.valid_until:
        details.append(f"valid until {_date(facts.valid_until)}")
    if facts.credits:
        details.append(f"{facts.credits:g} credits")
    _text(pdf, 150, " · ".join(d for d in details if d), 11, align="L", height=6)
    _text(pdf, 160, "Verify this credential:", 11, style="B", align="L", height=6)
    _text(pdf, 167, url, 10, style="U", colour=LINK, align="L", height=6, link=url)
    _text(pdf, 176, f"Credential {credential_id}", 8, colour=MUTED, align="L", height=5)
    _text(
        pdf,
        181,
        "A digitally signed Open Badge 3.0: the QR code and the link open its live verification.",
        8,
        colour=MUTED,
        align="L",
        height=5,
    )
    _qr(pdf, url, 240, 148, 40)
    return bytes(pdf.output())


# --- routes -----------------------------------------------------------------------------


def _file(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.get("/wallet/imports/{item_id}.json")
def imported_json(item_id: str, user: UserDep, ctx: SharingDep) -> Response:
    """An imported credential as it was verified and kept."""
    item = held_item(ctx, user, "imports", item_id)
    if not item.document.lstrip().startswith("{"):
        raise NotFound("this credential is kept as a VC-JWT; download the .jwt file")
    return _file(item.document.encode(), "application/vc+ld+json", f"credential-{item_id}.json")


@router.get("/wallet/{segment}/{item_id}.jwt")
def jwt(segment: str, item_id: str, user: UserDep, ctx: SharingDep) -> Response:
    """The credential as a VC-JWT, when that is how it is stored (else 404: see above)."""
    item = held_item(ctx, user, segment, item_id)
    if item.document.lstrip().startswith("{"):
        raise NotFound("this credential is secured with a Data Integrity proof: download its JSON")
    return _file(item.document.strip().encode(), "application/vc+jwt", f"credential-{item_id}.jwt")


@router.get("/wallet/{segment}/{item_id}/badge.svg")
def svg(segment: str, item_id: str, user: UserDep, ctx: SharingDep) -> Response:
    item = held_item(ctx, user, segment, item_id)
    baked = bake(badge_svg(item.facts), item.document)
    return _file(baked, "image/svg+xml", f"credential-{item_id}.svg")


@router.get("/wallet/{segment}/{item_id}/badge.png")
def png(segment: str, item_id: str, user: UserDep, ctx: SharingDep) -> Response:
    item = held_item(ctx, user, segment, item_id)
    baked = bake(badge_png(item.facts), item.document)
    return _file(baked, "image/png", f"credential-{item_id}.png")


@router.get("/wallet/{segment}/{item_id}/certificate.pdf")
def certificate(segment: str, item_id: str, user: UserDep, ctx: SharingDep) -> Response:
    item = held_item(ctx, user, segment, item_id)
    if item.award is None:
        raise NotFound("certificates are made for credentials issued here")
    profile = sharing.profile_of(ctx, user)
    learner = item.award.learner_name or (profile.display_name if profile else "")
    url = verify_url(ctx.platform, item)
    body = certificate_pdf(item.facts, url, learner, item.facts.credential_id or url)
    return _file(body, "application/pdf", f"certificate-{item_id}.pdf")
