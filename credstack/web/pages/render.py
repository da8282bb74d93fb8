"""Rendering server-side pages: the Jinja2 environment, security headers, content
negotiation and htmx detection.

Templates live in ``credstack/web/templates`` and autoescape every value. Pages load
nothing from other sites: the stylesheet and htmx are served from ``/static``, and the
Content-Security-Policy allows nothing else (no inline script, no eval).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

WEB = Path(__file__).resolve().parent.parent
STATIC: Final = WEB / "static"
HEADERS: Final[dict[str, str]] = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
}
HTML_TYPES: Final = ("text/html", "application/xhtml+xml")
JSON_TYPES: Final = (
    "application/json",
    "application/ld+json",
    "application/vc+ld+json",
    "application/vc",
)


def _date(value: object) -> str:
    """A readable UTC date for an ISO 8601 string or a datetime ('' when unusable)."""
    if isinstance(value, datetime):
        return value.strftime("%d %B %Y")
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%d %B %Y")
        except ValueError:
            return value
    return ""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("credstack.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _date
    return env


TEMPLATES: Final = _environment()


def html(template: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    """Render ``template`` with ``context`` and the pages' security headers."""
    body = TEMPLATES.get_template(template).render(context)
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def is_htmx(request: Request) -> bool:
    """A request htmx made (it wants a fragment, not the whole page)."""
    return request.headers.get("hx-request") == "true"


def _ranges(accept: str) -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        found.append((media.lower(), quality))
    return found


def prefers_html(accept: str | None) -> bool:
    """Does this Accept header prefer an HTML page to JSON?

    Only when ``text/html`` (or XHTML) is named, ranks above every JSON type named and
    no lower than ``*/*``: a browser's ``text/html,...,*/*;q=0.8`` does; API clients'
    ``*/*``, ``application/json`` or ``application/json, text/html`` do not.
    """
    if not accept:
        return False
    ranges = _ranges(accept)
    html_q = max((q for m, q in ranges if m in HTML_TYPES), default=0.0)
    if html_q <= 0:
        return False
    json_q = max((q for m, q in ranges if m in JSON_TYPES or m == "application/*"), default=0.0)
    any_q = max((q for m, q in ranges if m == "*/*"), default=0.0)
    return html_q > json_q and html_q >= any_q
