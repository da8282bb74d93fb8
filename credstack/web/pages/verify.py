"""The public verification page: paste JSON or a VC-JWT, upload a baked PNG/SVG, or open
a credential URL of this site, and read every check in plain language. No account needed.

``GET /credentials/{id}`` shows this page to browsers (see ``credstack.web.api.public``).
htmx posts the form and swaps in the result only; without JavaScript the form posts and
the whole page comes back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from credstack.domain.errors import CredstackError, NotFound
from credstack.domain.platform import Award
from credstack.services import awards
from credstack.services.platform import Platform
from credstack.services.stack_verify import verify_stack
from credstack.web.api.vcapi import options_for
from credstack.web.deps import PlatformDep
from credstack.web.pages import render
from credstack.web.pages.explain import ResultView, explain
from credstack.web.pages.session import (
    BrowserDep,
    PageError,
    PageRoute,
    accounts_context,
    browser,
    csrf_protect,
    error_page,
    page,
)

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
MAX_TEXT = 1_000_000


def check_award(found: Platform, award: Award) -> ResultView:
    """Verify a credential of this platform as anyone would (its stored bytes)."""
    return explain(verify_stack(found, award.document, options_for(found)))


def own_credential(found: Platform, url: str) -> Award:
    """The award behind a credential URL of this site (NotFound for anything else)."""
    prefix = f"{found.base_url.rstrip('/')}/credentials/"
    if not url.startswith(prefix):
        raise NotFound(
            f"this page opens credential addresses of this site ({prefix}…) only; for "
            "another issuer's credential, paste its JSON or upload its badge image"
        )
    return awards.find(found, url.removeprefix(prefix))


def _answer(
    request: Request, result: ResultView | None, url: str = "", error: str = "", status: int = 200
) -> Response:
    template = "_verify_result.html" if render.is_htmx(request) else "verify.html"
    return page(request, template, status, result=result, url=url, error=error)


@router.get("/verify")
def verify_page(request: Request, _who: BrowserDep, found: PlatformDep, url: str = "") -> Response:
    if not url:
        return _answer(request, None)
    try:
        result = check_award(found, own_credential(found, url.strip()))
    except CredstackError as exc:
        return _answer(request, None, url, exc.message, 404)
    return _answer(request, result, url)


@router.post("/verify")
def verify_submit(
    request: Request,
    _who: BrowserDep,
    found: PlatformDep,
    credential: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    data: bytes | str | None = None
    if upload is not None and upload.filename:
        data = upload.file.read()
    elif credential.strip():
        data = credential
    elif url.strip():
        try:
            return _answer(request, check_award(found, own_credential(found, url.strip())), url)
        except CredstackError as exc:
            return _answer(request, None, url, exc.message, 404)
    if data is None:
        message = "paste a credential, choose a badge image or enter a credential address"
        return _answer(request, None, url, message, 422)
    return _answer(request, explain(verify_stack(found, data, options_for(found))), url)


def credential_page(request: Request, found: Platform, db: Session, award_id: str) -> Response:
    """``GET /credentials/{id}`` for a browser: the verification page of that credential."""
    who = browser(request, accounts_context(request, found, db))
    del who  # kept in request.state for the navigation
    try:
        award = awards.get_award(found, award_id)
    except CredstackError as exc:
        return error_page(request, PageError(404, "Credential not found", exc.message))
    url = awards.credential_url(found.base_url, award.id)
    response = page(request, "verify.html", result=check_award(found, award), url=url, error="")
    response.headers["Vary"] = "Accept"
    return response
