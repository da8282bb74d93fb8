"""The home page and the issuer console's placeholder (roles from the staff lists)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from credstack.web.pages.session import (
    BrowserDep,
    PageError,
    PageRoute,
    UserDep,
    csrf_protect,
    page,
)

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)


@router.get("/")
def home(request: Request, _who: BrowserDep) -> Response:
    return page(request, "home.html")


@router.get("/console")
def console(request: Request, who: BrowserDep, _user: UserDep) -> Response:
    """The organizations the signed-in person works for, with their role in each."""
    if not who.roles:
        raise PageError(
            403,
            "Not allowed",
            "the issuer console is for the staff of an organization: none lists your "
            "(confirmed) email address",
        )
    return page(request, "console.html")
