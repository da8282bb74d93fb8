"""Account pages: sign up, confirm the address, sign in and out, reset the password, and
the account page (resend the confirmation, link a DID).

Handlers return the form again (with a 4xx status) for input problems instead of raising,
so that what must be kept (a failed sign-in counts toward the throttle) is committed.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from credstack.domain.accounts import Throttled, safe_next
from credstack.domain.errors import Invalid
from credstack.services import accounts
from credstack.web.pages.session import (
    AccountsDep,
    BrowserDep,
    PageError,
    PageRoute,
    UserDep,
    csrf_protect,
    page,
    redirect,
)

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
Text = Annotated[str, Form(max_length=1000)]
LINK_PROBLEM = "This link cannot be used"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- sign up ----------------------------------------------------------------------------


@router.get("/sign-up")
def sign_up_form(request: Request, who: BrowserDep, next: str = "") -> Response:
    if who.user is not None:
        return redirect(request, safe_next(next))
    return page(request, "sign_up.html", email="", error="", next=safe_next(next, ""))


@router.post("/sign-up")
def sign_up(
    request: Request,
    ctx: AccountsDep,
    _who: BrowserDep,
    email: Text = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Text = "",
) -> Response:
    try:
        accounts.sign_up(ctx, email, password)
    except Invalid as exc:
        return page(
            request, "sign_up.html", 422, email=email, error=exc.message, next=safe_next(next, "")
        )
    except Throttled:
        pass  # an existing account's owner was told recently; say nothing more
    target = "/sign-in" + (f"?next={quote(safe_next(next), safe='/')}" if next else "")
    return redirect(
        request,
        target,
        f"Check your inbox: we sent a link to {email.strip()} to confirm the address. "
        "Open it, then sign in.",
    )


# --- confirming the address -------------------------------------------------------------


@router.get("/account/verify-email/{token}")
def verify_email(request: Request, token: str, ctx: AccountsDep, who: BrowserDep) -> Response:
    try:
        accounts.verify_email(ctx, token)
    except Invalid as exc:
        raise PageError(400, LINK_PROBLEM, exc.message) from exc
    message = "Your email address is confirmed."
    if who.user is None:
        return redirect(request, "/sign-in", message + " Sign in to see your wallet.")
    return redirect(request, "/wallet", message)


@router.post("/account/verify-email")
def resend_verification(request: Request, ctx: AccountsDep, user: UserDep) -> Response:
    try:
        sent = accounts.resend_verification(ctx, user)
    except Throttled as exc:
        return redirect(request, "/account", exc.message[0].upper() + exc.message[1:] + ".")
    if not sent:
        return redirect(request, "/account", "Your email address is already confirmed.")
    return redirect(request, "/account", f"We sent a new confirmation link to {user.email}.")


# --- signing in and out -----------------------------------------------------------------


@router.get("/sign-in")
def sign_in_form(request: Request, who: BrowserDep, next: str = "") -> Response:
    if who.user is not None:
        return redirect(request, safe_next(next))
    return page(request, "sign_in.html", email="", error="", next=safe_next(next, ""))


@router.post("/sign-in")
def sign_in(
    request: Request,
    ctx: AccountsDep,
    who: BrowserDep,
    email: Text = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Text = "",
) -> Response:
    back = safe_next(next, "")
    try:
        user = accounts.sign_in(ctx, email, password, _client(request))
    except Throttled as exc:
        response = page(request, "sign_in.html", 429, email=email, error=exc.message, next=back)
        response.headers["Retry-After"] = str(int(exc.retry_after.total_seconds()))
        return response
    except Invalid as exc:
        return page(request, "sign_in.html", 422, email=email, error=exc.message, next=back)
    if who.user is not None:
        accounts.end_session(ctx, who.key)
    who.signed_in(accounts.start_session(ctx, user), user, accounts.memberships(ctx, user))
    return redirect(request, safe_next(next))


@router.post("/sign-out")
def sign_out(request: Request, ctx: AccountsDep, who: BrowserDep) -> Response:
    accounts.end_session(ctx, who.key)
    who.signed_out()
    return redirect(request, "/", "You are signed out.")


# --- password reset ---------------------------------------------------------------------


@router.get("/account/reset")
def reset_request_form(request: Request, _who: BrowserDep) -> Response:
    return page(request, "reset_request.html", email="")


@router.post("/account/reset")
def reset_request(
    request: Request, ctx: AccountsDep, _who: BrowserDep, email: Text = ""
) -> Response:
    with suppress(Throttled):  # the same answer whatever happened: it tells nobody's account
        accounts.request_reset(ctx, email)
    return redirect(
        request,
        "/sign-in",
        "If an account uses that address, we have emailed it a link to choose a new "
        "password. The link works for one hour.",
    )


@router.get("/account/reset/{token}")
def reset_form(request: Request, token: str, ctx: AccountsDep, _who: BrowserDep) -> Response:
    try:
        accounts.reset_token(ctx, token)
    except Invalid as exc:
        raise PageError(400, LINK_PROBLEM, exc.message) from exc
    return page(request, "reset_form.html", token=token, error="")


@router.post("/account/reset/{token}")
def reset_password(
    request: Request,
    token: str,
    ctx: AccountsDep,
    _who: BrowserDep,
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        accounts.reset_password(ctx, token, password)
    except Invalid as exc:
        if exc.code.startswith("token."):
            raise PageError(400, LINK_PROBLEM, exc.message) from exc
        return page(request, "reset_form.html", 422, token=token, error=exc.message)
    return redirect(request, "/sign-in", "Your password is changed. Sign in with the new one.")


# --- the account page -------------------------------------------------------------------


@router.get("/account")
def account(request: Request, user: UserDep) -> Response:
    return page(request, "account.html", did=user.did or "", error="")


@router.post("/account/did")
def link_did(request: Request, ctx: AccountsDep, user: UserDep, did: Text = "") -> Response:
    try:
        updated = accounts.link_did(ctx, user, did)
    except Invalid as exc:
        return page(request, "account.html", 422, did=did, error=exc.message)
    if updated.did is None:
        return redirect(request, "/account", "Your account has no DID linked now.")
    return redirect(request, "/account", f"Linked {updated.did} to your account.")
