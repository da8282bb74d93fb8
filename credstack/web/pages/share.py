"""Sharing from the wallet: the learner's public profile (``/wallet/profile`` to edit,
``/p/{handle}`` once published) and share links of chosen credentials (``/wallet/shares``
to make and revoke them, ``/s/{token}`` to open one). Nothing is public by default.

Every credential on a public page is verified when the page is served (stacks with
their components). Public pages carry ``X-Robots-Tag: noindex`` (a share link is for the
people it is sent to) and ``Referrer-Policy: no-referrer`` (the token stays out of other
sites' logs). Unknown, revoked and expired links answer the same 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from credstack.domain.accounts import User
from credstack.domain.errors import CredstackError, NotFound
from credstack.services import sharing
from credstack.services.sharing import EXPIRY_DAYS, ItemRef, Sharing
from credstack.web.pages.session import (
    BrowserDep,
    PageRoute,
    UserDep,
    csrf_protect,
    page,
    redirect,
)
from credstack.web.pages.wallet_views import KINDS, SharingDep, card_of

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
PUBLIC_HEADERS: Final = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}
Items = Annotated[list[str], Form(max_length=200)]


def _public(response: Response) -> Response:
    response.headers.update(PUBLIC_HEADERS)
    return response


# --- the public profile -----------------------------------------------------------------


def _profile_form(
    request: Request, share: Sharing, user: User, status: int = 200, **extra: Any
) -> Response:
    profile = sharing.profile_of(share, user)
    form = {
        "handle": profile.handle if profile else "",
        "display_name": profile.display_name if profile else "",
        "headline": (profile.headline or "") if profile else "",
        "published": profile.published if profile else False,
        "findable": profile.findable if profile else False,
        "items": {r.key for r in profile.items} if profile else set(),
    }
    form.update(extra.pop("form", {}))
    return page(
        request,
        "profile.html",
        status,
        profile=profile,
        items=sharing.wallet_items(share, user),
        form=form,
        **extra,
    )


@router.get("/wallet/profile")
def profile_page(request: Request, user: UserDep, share: SharingDep) -> Response:
    return _profile_form(request, share, user)


@router.post("/wallet/profile")
def profile_save(
    request: Request,
    user: UserDep,
    share: SharingDep,
    handle: Annotated[str, Form(max_length=100)] = "",
    display_name: Annotated[str, Form(max_length=300)] = "",
    headline: Annotated[str, Form(max_length=600)] = "",
    published: Annotated[str, Form(max_length=10)] = "",
    findable: Annotated[str, Form(max_length=10)] = "",
    items: Items = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    try:
        saved = sharing.save_profile(
            share,
            user,
            handle=handle,
            display_name=display_name,
            headline=headline,
            published=bool(published),
            findable=bool(findable),
            items=items,
        )
    except CredstackError as exc:
        form = {
            "handle": handle,
            "display_name": display_name,
            "headline": headline,
            "published": bool(published),
            "findable": bool(findable),
            "items": set(items),
        }
        return _profile_form(request, share, user, 422, form=form, error=exc.message)
    if saved.published:
        message = f"Your public profile is at /p/{saved.handle}."
    else:
        message = "Profile saved. It stays hidden until you publish it."
    return redirect(request, "/wallet/profile", message)


@router.get("/p/{handle}")
def public_profile(request: Request, handle: str, _who: BrowserDep, share: SharingDep) -> Response:
    profile, items = sharing.public_profile(share, handle)
    cards = [card_of(request, share, item, owner=False) for item in items]
    return _public(page(request, "profile_public.html", profile=profile, cards=cards))


# --- share links ------------------------------------------------------------------------


def _links_page(
    request: Request, share: Sharing, user: User, status: int = 200, **extra: Any
) -> Response:
    now = share.now()
    items = sharing.wallet_items(share, user)
    names = {i.ref: i.facts.name for i in items}
    links = [
        {
            "link": k,
            "url": sharing.share_url(share, k),
            "active": k.active(now),
            "names": [names.get(r, "a credential no longer in your wallet") for r in k.items],
        }
        for k in sharing.links_of(share, user)
    ]
    return page(
        request,
        "share_links.html",
        status,
        links=links,
        items=items,
        expiry_days=EXPIRY_DAYS,
        now=now,
        **extra,
    )


@router.get("/wallet/shares")
def shares(request: Request, user: UserDep, share: SharingDep) -> Response:
    return _links_page(request, share, user)


@router.post("/wallet/shares")
def share_create(
    request: Request,
    user: UserDep,
    share: SharingDep,
    items: Items = [],  # noqa: B006 - FastAPI copies defaults
    label: Annotated[str, Form(max_length=300)] = "",
    display_name: Annotated[str, Form(max_length=300)] = "",
    expires: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        days = int(expires) if expires.strip() else None
        link = sharing.create_link(
            share, user, items=items, label=label, display_name=display_name, expires_in_days=days
        )
    except (CredstackError, ValueError) as exc:
        message = exc.message if isinstance(exc, CredstackError) else "choose an expiry"
        chosen = {"items": set(items), "label": label, "display_name": display_name}
        return _links_page(request, share, user, 422, error=message, chosen=chosen)
    return redirect(
        request, "/wallet/shares", f"Share link created: {sharing.share_url(share, link)}"
    )


@router.post("/wallet/shares/{link_id}/revoke")
def share_revoke(request: Request, link_id: str, user: UserDep, share: SharingDep) -> Response:
    link = sharing.revoke_link(share, user, link_id)
    return redirect(request, "/wallet/shares", f"Revoked the share link “{link.label}”.")


@router.get("/s/{token}")
def shared(request: Request, token: str, _who: BrowserDep, share: SharingDep) -> Response:
    link, items = sharing.open_link(share, token)
    cards = [card_of(request, share, item, owner=False) for item in items]
    return _public(page(request, "share.html", link=link, cards=cards, token=token))


@router.get("/s/{token}/{segment}/{item_id}.json")
def shared_json(token: str, segment: str, item_id: str, share: SharingDep) -> Response:
    """One shared credential exactly as stored, to verify with any other tool."""
    link, items = sharing.open_link(share, token, count=False)
    kind = KINDS.get(segment)
    wanted = ItemRef(kind, item_id) if kind is not None else None
    item = next((i for i in items if i.ref == wanted), None)
    if item is None or not item.document.lstrip().startswith("{"):
        raise NotFound("no such credential in this share link")
    del link
    return _public(
        Response(
            item.document,
            media_type="application/vc+ld+json",
            headers={
                "Content-Disposition": f'attachment; filename="credential-{item_id}.json"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
    )
