"""The HTML of the OAuth authorize page: sign in with an emailed code, then consent.

Plain server-rendered HTML: every interpolated value is escaped, nothing is loaded but the
client's https logo, the page cannot be framed (clickjacking) or cached, and it sends no
Referer (the authorization request's query stays on this site).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

from credstack.web.oauth import SCOPE_TEXT

HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;"
    "color:#1b1b1b}img{max-height:48px;vertical-align:middle;margin-right:.5rem}"
    "label,input,button{display:block;font-size:1rem;margin:.5rem 0}input{padding:.5rem;"
    "width:100%;box-sizing:border-box}button{padding:.5rem 1rem}.row{display:flex;gap:1rem}"
    ".error{color:#a00000;font-weight:600}small{color:#555}"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str, limit: int = 100) -> str:
    """A client-supplied name fit for a page title or an email: one line, bounded."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class ClientView:
    name: str
    client_uri: str
    logo_uri: str
    tos_uri: str
    policy_uri: str
    scopes: tuple[str, ...]

    @classmethod
    def of(cls, metadata: Mapping[str, Any], scope: str) -> ClientView:
        def text(key: str) -> str:
            return str(metadata.get(key) or "")

        return cls(
            one_line(text("client_name")) or "An application",
            text("client_uri"),
            text("logo_uri"),
            text("tos_uri"),
            text("policy_uri"),
            tuple(scope.split()),
        )


def html_response(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def error_page(message: str) -> str:
    return _document(
        "credstack: authorization failed",
        f'<h1>Authorization failed</h1><p class="error">{escape(message)}</p>',
    )


def _client(view: ClientView) -> str:
    logo = f'<img src="{escape(view.logo_uri)}" alt="">' if view.logo_uri else ""
    scopes = "".join(f"<li>{escape(SCOPE_TEXT.get(s, s))}</li>" for s in view.scopes)
    return (
        f"<h1>{logo}{escape(view.name)}</h1>"
        f'<p><a href="{escape(view.client_uri)}" rel="noopener">{escape(view.client_uri)}</a>'
        " wants to use your credstack wallet to:</p>"
        f"<ul>{scopes}</ul>"
        f'<p><small>Its <a href="{escape(view.tos_uri)}" rel="noopener">terms of service</a>'
        f' and <a href="{escape(view.policy_uri)}" rel="noopener">privacy policy</a>.'
        "</small></p>"
    )


def _error(message: str | None) -> str:
    return f'<p class="error" role="alert">{escape(message)}</p>' if message else ""


def _hidden(**fields: str) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )


def _deny() -> str:
    return '<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>'


def email_form(
    view: ClientView, action: str, csrf: str, email: str = "", error: str | None = None
) -> str:
    body = (
        _client(view)
        + _error(error)
        + f'<form method="post" action="{escape(action)}">'
        + _hidden(csrf=csrf, step="email")
        + '<label for="email">Your email address</label>'
        + f'<input id="email" type="email" name="email" value="{escape(email)}" required'
        ' autocomplete="email" autofocus>'
        + "<small>We email you a one-time code to prove the address is yours.</small>"
        + '<div class="row"><button type="submit" name="decision" value="allow">'
        "Email me a code</button>" + _deny() + "</div></form>"
    )
    return _document(f"credstack: sign in for {view.name}", body)


def code_form(
    view: ClientView,
    action: str,
    csrf: str,
    login: str,
    email: str,
    error: str | None = None,
) -> str:
    body = (
        _client(view)
        + _error(error)
        + f"<p>We sent a code to <strong>{escape(email)}</strong>. It works for 10 minutes.</p>"
        + f'<form method="post" action="{escape(action)}">'
        + _hidden(csrf=csrf, step="code", login=login)
        + '<label for="code">Code</label>'
        + '<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code"'
        ' pattern="[0-9 ]*" required autofocus>'
        + '<div class="row"><button type="submit" name="decision" value="allow">'
        f"Allow {escape(view.name)}</button>" + _deny() + "</div></form>"
    )
    return _document(f"credstack: allow {view.name}", body)


def code_email_text(code: str, client_name: str) -> str:
    return (
        f"Your credstack sign-in code: {code}\n\n"
        "Enter it on the credstack page that asked for it. It lets the application\n"
        f'"{one_line(client_name, 60)}" use your Open Badges wallet, once you allow it.\n'
        "The code works for 10 minutes.\n\n"
        "If you did not ask for it, ignore this email.\n"
    )
