"""The OAuth 2.0 endpoints of the OB 3.0 API: register, authorize, token, revoke.

``POST /oauth/register`` (RFC 7591), ``GET|POST /oauth/authorize`` (the resource owner
signs in and consents), ``POST /oauth/token`` (authorization code with PKCE, refresh) and
``POST /oauth/revoke`` (RFC 7009). Errors are OAuth's own ``{"error",
"error_description"}`` (or a redirect to the client, where RFC 6749 says so).

Signing in (docs/decisions/0007-ob-api-oauth.md): there are no user accounts yet, so the
resource owner is a person identified by an email address they prove they control. The
authorize page asks for the address, emails an 8-digit one-time code (valid 10 minutes,
5 tries, at most 3 codes pending per address), then asks for the code and the consent.
Every form carries a signed CSRF token bound to a cookie and to the authorization request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    InsecureTransportError,
    OAuth2Error,
)
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from credstack.db.oauth import GrantRecord, OAuthStore
from credstack.domain.errors import CredstackError
from credstack.domain.messages import Email, check_email_address
from credstack.domain.ports import Mailer
from credstack.notify import mailer_from_settings
from credstack.services.platform import Platform
from credstack.settings import Settings
from credstack.web import deps
from credstack.web.api import obv3_pages as pages
from credstack.web.oauth import OAuthServer, json_request, oauth2_request
from credstack.web.oauth_grants import Subject
from credstack.web.oauth_registration import Registration
from credstack.web.signing import Signer

router = APIRouter(prefix="/oauth", tags=["ob-v3p0 oauth"])
COOKIE = "credstack_oauth"
FORM_SECONDS = 1800
LOGIN_LIFETIME = timedelta(minutes=10)
MAX_PENDING_CODES = 3
MAX_ATTEMPTS = 5


def unit_of_work(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response leaves (scope=function)."""
    factory = request.app.state.sessions
    with factory() as db, db.begin():
        yield db


SessionDep = Annotated[Session, Depends(unit_of_work, scope="function")]


@dataclass(frozen=True, slots=True)
class OAuthContext:
    platform: Platform
    store: OAuthStore
    server: OAuthServer
    settings: Settings
    secret: bytes

    @property
    def base_url(self) -> str:
        return self.platform.base_url


def oauth_context(request: Request, db: SessionDep) -> OAuthContext:
    found = deps.platform(request, db)
    store = OAuthStore(db)
    server = OAuthServer(store, found.now)
    server.register_endpoint(Registration)
    settings: Settings = request.app.state.settings
    return OAuthContext(found, store, server, settings, request.app.state.secret)


Context = Annotated[OAuthContext, Depends(oauth_context)]


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


async def raw_body(request: Request) -> bytes:
    return await request.body()


FormDep = Annotated[list[tuple[str, str]], Depends(form_pairs)]


def _insecure(exc: OAuth2Error) -> JSONResponse:
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})


def _as_response(value: object) -> Response:
    assert isinstance(value, Response)
    return value


@router.post("/register", status_code=201)
def register(request: Request, body: Annotated[bytes, Depends(raw_body)], ctx: Context) -> Response:
    """RFC 7591 Dynamic Client Registration, as the OB 3.0 API profiles it."""
    try:
        data = json.loads(body) if body else None
    except (ValueError, RecursionError):
        data = None
    jreq = json_request(request, ctx.base_url, data if isinstance(data, dict) else None)
    return _as_response(ctx.server.create_endpoint_response("client_registration", jreq))


@router.post("/token")
def token(request: Request, form: FormDep, ctx: Context) -> Response:
    """Authorization code (Basic client auth, PKCE code_verifier) or refresh token."""
    try:
        oreq = oauth2_request(request, ctx.base_url, form, form)
    except InsecureTransportError as exc:
        return _insecure(exc)
    return _as_response(ctx.server.create_token_response(oreq))


@router.post("/revoke")
def revoke(request: Request, form: FormDep, ctx: Context) -> Response:
    """RFC 7009: 200 whether or not the token was known."""
    try:
        oreq = oauth2_request(request, ctx.base_url, form, form)
    except InsecureTransportError as exc:
        return _insecure(exc)
    return _as_response(ctx.server.create_endpoint_response("revocation", oreq))


# --- the authorize page -----------------------------------------------------------------


def _request_digest(params: list[tuple[str, str]]) -> str:
    return hashlib.sha256(urlencode(sorted(params)).encode("utf-8")).hexdigest()


@dataclass(slots=True)
class _Authorization:
    """One validated authorization request and what the page needs to answer it."""

    ctx: OAuthContext
    request: Request
    params: list[tuple[str, str]]
    oreq: Any
    grant: Any
    cookie: str
    new_cookie: bool

    @property
    def digest(self) -> str:
        return _request_digest(self.params)

    @property
    def action(self) -> str:
        return f"{self.ctx.base_url.rstrip('/')}/oauth/authorize?{self.request.url.query}"

    @property
    def cookie_digest(self) -> str:
        return hashlib.sha256(self.cookie.encode("utf-8")).hexdigest()

    def signer(self, purpose: str) -> Signer:
        return Signer(self.ctx.secret, f"oauth-{purpose}")

    def csrf(self) -> str:
        payload = {"c": self.cookie_digest, "q": self.digest}
        return self.signer("csrf").sign(payload, now=self.ctx.platform.now(), seconds=FORM_SECONDS)

    def csrf_ok(self, token: str | None) -> bool:
        if self.new_cookie or not token:
            return False
        found = self.signer("csrf").unsign(token, now=self.ctx.platform.now())
        return (
            found is not None
            and found.get("c") == self.cookie_digest
            and (found.get("q") == self.digest)
        )

    def page(self, html: str, status: int = 200) -> Response:
        response = pages.html_response(html, status)
        if self.new_cookie:
            response.set_cookie(
                COOKIE,
                self.cookie,
                max_age=FORM_SECONDS,
                path="/oauth",
                secure=self.ctx.base_url.startswith("https://"),
                httponly=True,
                samesite="lax",
            )
        return response

    def client_view(self) -> pages.ClientView:
        return pages.ClientView.of(self.grant.client.metadata, str(self.grant.request.scope))

    def email_page(self, error: str | None = None, email: str = "") -> Response:
        html = pages.email_form(self.client_view(), self.action, self.csrf(), email, error)
        return self.page(html, 400 if error else 200)

    def code_page(self, login: str, email: str, error: str | None = None) -> Response:
        html = pages.code_form(self.client_view(), self.action, self.csrf(), login, email, error)
        return self.page(html, 400 if error else 200)

    def finish(self, subject: Subject | None) -> Response:
        return _as_response(
            self.ctx.server.create_authorization_response(
                self.oreq, grant_user=subject, grant=self.grant
            )
        )


def _authorization(ctx: OAuthContext, request: Request) -> _Authorization | Response:
    """Validate the authorization request with authlib, or answer the error as RFC 6749 says.

    Errors about the client or its redirect URI are shown here (never redirected to an
    unverified URI); the others go back to the client's redirect URI with ``state``.
    """
    params = list(request.query_params.multi_items())
    try:
        oreq = oauth2_request(request, ctx.base_url, params)
    except InsecureTransportError as exc:
        return pages.html_response(pages.error_page(str(exc.description)), 400)
    try:
        grant = ctx.server.get_consent_grant(oreq)
    except OAuth2Error as error:
        if error.redirect_uri:
            return _as_response(ctx.server.handle_error_response(oreq, error))
        message = str(error.get_error_description() or error.error)
        return pages.html_response(pages.error_page(message), 400)
    cookie = request.cookies.get(COOKIE)
    new = not cookie or len(cookie) > 100
    return _Authorization(
        ctx, request, params, oreq, grant, secrets.token_urlsafe(32) if new else str(cookie), new
    )


@router.get("/authorize", response_class=Response)
def authorize_page(request: Request, ctx: Context) -> Response:
    """Show who asks for what, and ask the user for their email address."""
    found = _authorization(ctx, request)
    return found if isinstance(found, Response) else found.email_page()


@router.post("/authorize", response_class=Response)
def authorize_submit(request: Request, form: FormDep, ctx: Context) -> Response:
    """Step ``email`` sends a one-time code; step ``code`` checks it and consents."""
    found = _authorization(ctx, request)
    if isinstance(found, Response):
        return found
    fields = dict(reversed(form))  # the first value of each field wins
    if not found.csrf_ok(fields.get("csrf")):
        message = "This form expired or did not come from this page. Start again from the app."
        return found.page(pages.error_page(message), 400)
    if fields.get("decision") == "deny":
        return found.finish(None)
    if fields.get("step") == "email":
        return _send_code(found, fields.get("email", ""))
    if fields.get("step") == "code":
        return _check_code(found, fields.get("login", ""), fields.get("code", ""))
    return found.page(pages.error_page("Unknown step. Start again from the app."), 400)


def _mailer(request: Request, settings: Settings) -> Mailer:
    configured = getattr(request.app.state, "mailer", None)
    return configured if configured is not None else mailer_from_settings(settings)


def _send_code(auth: _Authorization, raw_email: str) -> Response:
    ctx, now = auth.ctx, auth.ctx.platform.now()
    email = raw_email.strip().lower()
    try:
        check_email_address(email)
    except CredstackError:
        return auth.email_page("Enter a valid email address.", raw_email[:320])
    if ctx.store.active("login", email, now) >= MAX_PENDING_CODES:
        return auth.email_page(
            "Too many codes were sent to this address. Use the last one, or wait 10 minutes.",
            email,
        )
    code = f"{secrets.randbelow(10**8):08d}"
    login_id = str(uuid.uuid4())
    ctx.store.add_grant(
        GrantRecord(
            id=login_id,
            kind="login",
            value_hash=auth.signer("login-code").mac(f"{login_id}:{code}"),
            client_id=auth.grant.client.client_id,
            subject=email,
            scope=str(auth.grant.request.scope),
            expires_at=now + LOGIN_LIFETIME,
            data={"attempts": 0},
        )
    )
    message = Email(
        to=email,
        subject="Your credstack sign-in code",
        text=pages.code_email_text(code, auth.client_view().name),
    )
    try:
        _mailer(auth.request, ctx.settings).send(message)
    except CredstackError:
        return auth.email_page("The email could not be sent. Try again later.", email)
    login = auth.signer("login").sign(
        {"l": login_id, "e": email, "q": auth.digest, "c": auth.cookie_digest},
        now=now,
        seconds=int(LOGIN_LIFETIME.total_seconds()),
    )
    return auth.code_page(login, email)


def _check_code(auth: _Authorization, login: str, raw_code: str) -> Response:
    ctx, now = auth.ctx, auth.ctx.platform.now()
    state = auth.signer("login").unsign(login, now=now)
    if not state or state.get("q") != auth.digest or state.get("c") != auth.cookie_digest:
        return auth.email_page("The code expired. Ask for a new one.")
    email = str(state.get("e", ""))
    record = ctx.store.grant(str(state.get("l", "")))
    if (
        record is None
        or record.kind != "login"
        or record.subject != email
        or record.client_id != auth.grant.client.client_id
        or record.used_at is not None
        or record.revoked_at is not None
        or record.expires_at <= now
    ):
        return auth.email_page("The code expired. Ask for a new one.", email)
    code = "".join(raw_code.split())[:32]
    expected = auth.signer("login-code").mac(f"{record.id}:{code}")
    if not hmac.compare_digest(expected, record.value_hash):
        attempts = int(record.data.get("attempts", 0)) + 1
        ctx.store.set_data(record.id, {**record.data, "attempts": attempts})
        if attempts >= MAX_ATTEMPTS:
            ctx.store.claim(record.id, now)
            return auth.email_page("Too many wrong codes. Ask for a new one.", email)
        return auth.code_page(login, email, "That code is not right. Check the email again.")
    if not ctx.store.claim(record.id, now):
        return auth.email_page("The code was already used. Ask for a new one.", email)
    return auth.finish(Subject(email))
