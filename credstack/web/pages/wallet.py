"""The learner's wallet: every credential (claimed here, or imported from another issuer)
with its live verification state and downloads, those waiting to be claimed, the map of
each pathway the learner touches, a form to import another issuer's credential, and the
claim link of the award email.

``wallet.html`` is a template of blocks (``wallet_intro``, ``waiting``, ``credentials``,
``pathways``, ``wallet_aside``). Downloads are in ``downloads``, sharing in ``share``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from credstack.domain.accounts import User
from credstack.domain.errors import CredstackError
from credstack.domain.platform import Award
from credstack.services import accounts, sharing
from credstack.services.platform import Platform
from credstack.web.deps import PlatformDep
from credstack.web.pages.explain import ResultView
from credstack.web.pages.session import (
    AccountsDep,
    BrowserDep,
    PageRoute,
    UserDep,
    csrf_protect,
    page,
    redirect,
)
from credstack.web.pages.verify import MAX_TEXT, check_award
from credstack.web.pages.wallet_map import maps_for
from credstack.web.pages.wallet_views import SharingDep, card_of, held_item, live

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)


@dataclass(frozen=True, slots=True)
class Card:
    """A credential waiting to be claimed (or opened from a claim link)."""

    award: Award
    result: ResultView
    claimed_at: datetime | None = None


def _card(found: Platform, award: Award, claimed_at: datetime | None = None) -> Card:
    return Card(award, check_award(found, award), claimed_at)


def _wallet(
    request: Request,
    user: User,
    ctx: accounts.Accounts,
    share: sharing.Sharing,
    status: int = 200,
    **extra: Any,
) -> Response:
    known: dict[str, str | None] = {}  # the issuers' LinkedIn ids, each read once
    items = sharing.wallet_items(share, user)
    loaded = share.store.prime(
        [a.achievement_id for i in items if (a := i.award) and a.achievement_id]
    )
    cards = [card_of(request, share, item, owner=True, known=known) for item in items]
    maps = maps_for(share.platform, user.email)
    del loaded  # held until the maps were drawn (see SharingStore.prime)
    waiting = [_card(share.platform, award) for award in accounts.pending(ctx, user)]
    links = [k for k in sharing.links_of(share, user) if k.active(share.now())]
    return page(
        request,
        "wallet.html",
        status,
        cards=cards,
        waiting=waiting,
        maps=maps,
        profile=sharing.profile_of(share, user),
        live_links=len(links),
        **extra,
    )


@router.get("/wallet")
def wallet(request: Request, user: UserDep, ctx: AccountsDep, share: SharingDep) -> Response:
    return _wallet(request, user, ctx, share)


@router.post("/wallet/claim")
def claim(
    request: Request,
    user: UserDep,
    ctx: AccountsDep,
    award_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Claim one waiting credential (``award_id``), or all of them."""
    if award_id:
        accounts.claim(ctx, user, accounts.pending_award(ctx, user, award_id))
        added = 1
    else:
        added = len(accounts.claim_all(ctx, user))
    noun = "credential" if added == 1 else "credentials"
    return redirect(request, "/wallet", f"Added {added} {noun} to your wallet.")


@router.post("/wallet/import")
def import_credential(
    request: Request,
    user: UserDep,
    ctx: AccountsDep,
    share: SharingDep,
    credential: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Import another issuer's credential: pasted JSON or VC-JWT, or a baked PNG/SVG."""
    data: bytes | str | None = None
    if upload is not None and upload.filename:
        data = upload.file.read()
    elif credential.strip():
        data = credential
    if data is None:
        problem = "paste a credential (JSON or JWT) or choose a badge image that carries one"
        return _wallet(request, user, ctx, share, 422, import_error=problem)
    try:
        item = sharing.import_into_wallet(share, user, data)
    except CredstackError as exc:
        return _wallet(request, user, ctx, share, 422, import_error=exc.message)
    message = f"Imported “{item.facts.name}” from {item.facts.issuer_name}."
    return redirect(request, "/wallet", message)


@router.get("/wallet/credentials/{award_id}.json")
def download(award_id: str, user: UserDep, ctx: AccountsDep) -> Response:
    """The credential exactly as signed, as a file to keep or to import elsewhere."""
    award = accounts.claimed_award(ctx, user, award_id)
    return Response(
        award.document,
        media_type="application/vc+ld+json",
        headers={
            "Content-Disposition": f'attachment; filename="credential-{award.id}.json"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/wallet/{segment}/{item_id}/status")
def status(
    request: Request, segment: str, item_id: str, user: UserDep, share: SharingDep
) -> Response:
    """The live verification state of one wallet credential (htmx "Check again")."""
    item = held_item(share, user, segment, item_id)
    result = live(request, share.platform, item.document, brief=True)
    return page(request, "_wallet_status.html", card={"result": result})


# --- the claim link of the award email --------------------------------------------------


@router.get("/claim/{token}")
def claim_page(
    request: Request, token: str, who: BrowserDep, ctx: AccountsDep, found: PlatformDep
) -> Response:
    award = accounts.by_claim_token(ctx, token)
    problem, held = "", False
    if who.user is not None:
        try:
            held = accounts.check_claimable(ctx, who.user, award)
        except CredstackError as exc:
            problem = exc.message
    return page(
        request,
        "claim.html",
        card=_card(found, award),
        token=token,
        problem=problem,
        held=held,
        here=quote(f"/claim/{token}", safe="/"),
    )


@router.post("/claim/{token}")
def claim_by_link(request: Request, token: str, user: UserDep, ctx: AccountsDep) -> Response:
    accounts.claim(ctx, user, accounts.by_claim_token(ctx, token))
    return redirect(request, "/wallet", "The credential is in your wallet now.")
