"""Who is browsing: the session cookie, the signed-in account, CSRF tokens, flash messages
and the pages' error handling (docs/decisions/0014-web-pages.md).

Every visitor's browser holds one cookie, ``credstack_session`` (``__Host-`` prefixed when
the base URL is https): a random 256-bit key and an HMAC of it under the platform secret,
HttpOnly, SameSite=Lax, Secure on https. Signing in stores the SHA-256 of a *new* key in
``web_sessions`` (so sign-out, a password reset or expiry ends a session on the server)
and signing out replaces the key. The CSRF token of every form is an HMAC of the session
key (a synchronizer token: the server derives it from the session it holds, it is never
a cookie of its own, and it changes whenever the key does); every POST, PUT, PATCH and
DELETE of the pages must send it, as the ``csrf_token`` field or, from htmx, as the
``X-CSRF-Token`` header (``hx-headers`` on ``<body>``).
"""

from __future__ import annotations

import hmac
import inspect
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from credstack.db.accounts import AccountStore
from credstack.domain.accounts import Membership, Throttled, User
from credstack.domain.errors import Conflict, CredstackError, Forbidden, Invalid, NotFound
from credstack.services import accounts
from credstack.services.accounts import Accounts, Argon2Passwords
from credstack.services.platform import utc_now
from credstack.settings import Settings
from credstack.web import deps
from credstack.web.pages import render
from credstack.web.signing import Signer

log = logging.getLogger("credstack.web.pages")
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
FLASH_COOKIE: Final = "credstack_flash"
API_PREFIXES: Final = ("/api/", "/ims/", "/oauth/", "/orgs/", "/healthz", "/static/")


def cookie_name(secure: bool) -> str:
    return "__Host-credstack_session" if secure else "credstack_session"


def passwords(app: FastAPI) -> Argon2Passwords:
    found = getattr(app.state, "passwords", None)
    if found is None:
        found = app.state.passwords = Argon2Passwords()
    assert isinstance(found, Argon2Passwords)
    return found


def accounts_context(request: Request, found: deps.PlatformDep, db: deps.SessionDep) -> Accounts:
    settings: Settings = request.app.state.settings
    return Accounts(
        found,
        AccountStore(db),
        passwords=passwords(request.app),
        session_lifetime=timedelta(days=settings.session_days),
    )


AccountsDep = Annotated[Accounts, Depends(accounts_context)]
R = TypeVar("R", bound=Response)


@dataclass(slots=True)
class Browser:
    """The visitor of one request: session key, account, roles, CSRF token, flashes."""

    key: str
    secret: bytes
    secure: bool
    max_age: int
    user: User | None = None
    roles: list[Membership] = field(default_factory=list)
    fresh: bool = False  # the cookie must be (re)sent
    flashes: list[tuple[str, str]] = field(default_factory=list)
    outgoing: list[tuple[str, str]] = field(default_factory=list)
    had_flashes: bool = False

    @property
    def csrf(self) -> str:
        return Signer(self.secret, "pages-csrf").mac(self.key)

    def csrf_ok(self, sent: str | None) -> bool:
        return not self.fresh and bool(sent) and hmac.compare_digest(str(sent), self.csrf)

    def cookie_value(self) -> str:
        return f"{self.key}.{Signer(self.secret, 'pages-session').mac(self.key)}"

    def key_of(self, value: str | None) -> str | None:
        key, _, mac = (value or "").partition(".")
        if not key or len(key) > 100:
            return None
        expected = Signer(self.secret, "pages-session").mac(key)
        return key if hmac.compare_digest(mac, expected) else None

    def signed_in(self, key: str, user: User, roles: list[Membership]) -> None:
        """Switch to a new session key (no session fixation; the CSRF token changes)."""
        self.key, self.user, self.roles = key, user, roles
        self.fresh = True

    def signed_out(self) -> None:
        self.key, self.user, self.roles = accounts.new_secret(), None, []
        self.fresh = True

    def flash(self, text: str, level: str = "info") -> None:
        self.outgoing.append((level, text))

    def take_flashes(self) -> list[tuple[str, str]]:
        shown, self.flashes = self.flashes, []
        return shown

    def finish(self, response: R) -> R:
        """Send the cookies this request changed."""
        if self.fresh:
            response.set_cookie(
                cookie_name(self.secure),
                self.cookie_value(),
                max_age=self.max_age if self.user is not None else None,
                path="/",
                secure=self.secure,
                httponly=True,
                samesite="lax",
            )
        if self.outgoing:
            signer = Signer(self.secret, "pages-flash")
            token = signer.sign({"m": self.outgoing}, now=utc_now(), seconds=300)
            response.set_cookie(
                FLASH_COOKIE, token, path="/", secure=self.secure, httponly=True, samesite="lax"
            )
        elif self.had_flashes:
            response.delete_cookie(
                FLASH_COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax"
            )
        return response


def _flashes(request: Request, secret: bytes) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    found = Signer(secret, "pages-flash").unsign(raw, now=utc_now())
    listed = found.get("m") if found else None
    if not isinstance(listed, list):
        return []
    return [(str(m[0]), str(m[1])) for m in listed[:5] if isinstance(m, list) and len(m) == 2]


def browser(request: Request, ctx: AccountsDep) -> Browser:
    """The visitor (a dependency of every page; also kept in ``request.state.browser``)."""
    settings: Settings = request.app.state.settings
    secure = settings.base_url.startswith("https://")
    who = Browser(
        key="",
        secret=request.app.state.secret,
        secure=secure,
        max_age=settings.session_days * 86400,
    )
    key = who.key_of(request.cookies.get(cookie_name(secure)))
    if key is None:
        who.key, who.fresh = accounts.new_secret(), True
    else:
        who.key = key
        who.user = accounts.session_user(ctx, key)
        if who.user is not None:
            who.roles = accounts.memberships(ctx, who.user)
    who.flashes = _flashes(request, who.secret)
    who.had_flashes = bool(request.cookies.get(FLASH_COOKIE))
    request.state.browser = who
    return who


BrowserDep = Annotated[Browser, Depends(browser)]


async def csrf_protect(request: Request, who: BrowserDep) -> None:
    """Refuse (403) an unsafe request that lacks this session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not who.csrf_ok(sent):
        raise Forbidden(
            "the form expired or came from another site; reload the page and try again",
            code="csrf",
        )


def signed_in_user(request: Request, who: BrowserDep) -> User:
    """The signed-in account, or a redirect to the sign-in page."""
    if who.user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInFirst(target)
    return who.user


UserDep = Annotated[User, Depends(signed_in_user)]


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page for the current visitor (navigation, CSRF token, flashes, cookies)."""
    who: Browser | None = getattr(request.state, "browser", None)
    settings: Settings = request.app.state.settings
    base = {
        "request": request,
        "who": who,
        "user": who.user if who else None,
        "roles": who.roles if who else [],
        "csrf": who.csrf if who else "",
        "flashes": who.take_flashes() if who else [],
        "base_url": settings.base_url.rstrip("/"),
        "path": request.url.path,
    }
    response = render.html(template, {**base, **context}, status)
    return who.finish(response) if who else response


def redirect(request: Request, url: str, message: str | None = None) -> Response:
    """303 to ``url`` (htmx: ``HX-Redirect``), with an optional flash message."""
    who: Browser | None = getattr(request.state, "browser", None)
    if who is not None and message:
        who.flash(message)
    if render.is_htmx(request):
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    return who.finish(response) if who else response


# --- errors -----------------------------------------------------------------------------


class SignInFirst(Exception):
    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class PageError(Exception):
    """An error of a page, answered with the HTML error page."""

    def __init__(self, status: int, title: str, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.retry_after = retry_after


TITLES: Final = {
    400: "This request cannot be used",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "That cannot be done now",
    413: "Too large",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
}


def as_page_error(exc: Exception) -> PageError:
    if isinstance(exc, PageError):
        return exc
    if isinstance(exc, Throttled):
        return PageError(429, TITLES[429], exc.message, int(exc.retry_after.total_seconds()))
    if isinstance(exc, CredstackError):
        kinds = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (Invalid, 422))
        status = next((code for kind, code in kinds if isinstance(exc, kind)), 400)
        return PageError(status, TITLES[status], exc.message)
    if isinstance(exc, RequestValidationError):
        fields = [str(e.get("loc", ("", ""))[-1]) for e in exc.errors()[:3]]
        return PageError(400, TITLES[400], f"missing or unusable: {', '.join(fields)}")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        return PageError(status, TITLES.get(status, TITLES[400]), str(exc.detail))
    log.error("unhandled error in a page: %s", type(exc).__name__, exc_info=exc)
    return PageError(500, TITLES[500], "the server failed to show this page; try again later")


class PageRoute(APIRoute):
    """Every error of a page (its dependencies and validation included) becomes a
    ``PageError``, which propagates (the unit of work rolls back) to the HTML handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except (PageError, SignInFirst):
                raise
            except Exception as exc:  # re-raised as PageError: never swallowed
                raise as_page_error(exc) from exc

        return route


def error_page(request: Request, error: PageError) -> HTMLResponse:
    response = page(request, "error.html", error.status, title=error.title, message=error.message)
    if error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def wants_page(request: Request) -> bool:
    """An unmatched URL gets the HTML error page when a browser asks for a page."""
    path = request.url.path
    return render.prefers_html(request.headers.get("accept")) and not path.startswith(API_PREFIXES)


def install_errors(app: FastAPI) -> None:
    """HTML answers for the pages' errors; the JSON API keeps ``{"error", "detail"}``."""

    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return error_page(request, exc)

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInFirst)
        return redirect(request, f"/sign-in?next={quote(exc.target, safe='/')}")

    json_http_error = app.exception_handlers[HTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405) and wants_page(request):
            request.state.browser = None
            return error_page(request, as_page_error(exc))
        answered = json_http_error(request, exc)
        if inspect.isawaitable(answered):
            answered = await answered
        assert isinstance(answered, Response)
        return answered

    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(SignInFirst, sign_in_first)
    app.add_exception_handler(HTTPException, http_error)


def json_of(value: Any) -> str:
    """Pretty JSON for a ``<pre>`` block or a download."""
    return json.dumps(value, indent=2, ensure_ascii=False)
