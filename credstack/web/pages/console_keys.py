"""Console: the organization's signing keys, its DID document and its status lists; an
owner rotates the signing key here (the old keys stay in the DID document, so that what
they signed still verifies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from credstack.domain.platform import Scope, StatusListState
from credstack.services import sharing, status_registry
from credstack.services.organizations import document_for, org_did, rotate_key
from credstack.web.deps import PlatformDep
from credstack.web.pages.console import StaffDep, console_page
from credstack.web.pages.session import PageRoute, csrf_protect, json_of, redirect
from credstack.web.pages.wallet_views import SharingDep

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)


@dataclass(frozen=True, slots=True)
class ListView:
    state: StatusListState
    url: str

    @property
    def size(self) -> int:
        return len(self.state.bits) * 8

    @property
    def set_bits(self) -> int:
        """Entries set now (revoked, or suspended, credentials)."""
        return int.from_bytes(self.state.bits, "big").bit_count()


@router.get("/console/{slug}/keys")
def keys(request: Request, who: StaffDep, found: PlatformDep, share: SharingDep) -> Response:
    org = who.org
    lists = sorted(
        found.status_lists.of(org.id), key=lambda s: (s.purpose.value, s.updated_at, s.id)
    )
    return console_page(
        request,
        who,
        "console_keys.html",
        "keys",
        did=org_did(found.base_url, org.slug),
        document=json_of(document_for(found.keys, org, found.base_url)),
        keys=list(reversed(found.keys.of(org.id))),
        lists=[ListView(s, status_registry.list_url(found.base_url, org, s.id)) for s in lists],
        linkedin=sharing.linkedin_organization_id(share, org.id) or "",
    )


@router.post("/console/{slug}/keys/rotate")
def rotate(request: Request, who: StaffDep, found: PlatformDep) -> Response:
    """A new signing key; earlier ones stay published (what they signed still verifies)."""
    who.require(Scope.ORG_WRITE, "rotate the signing key")
    key = rotate_key(found.keys, who.org, secret=found.secret, now=found.now())
    return redirect(
        request,
        f"/console/{who.org.slug}/keys",
        f"New signing key {key.fragment}. Earlier keys stay in the DID document.",
    )


@router.post("/console/{slug}/linkedin")
def linkedin(
    request: Request,
    who: StaffDep,
    share: SharingDep,
    organization_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The LinkedIn organization id that learners' "Add to profile" links carry."""
    who.require(Scope.ORG_WRITE, "set the LinkedIn organization id")
    value = sharing.set_linkedin_organization_id(share, who.org.id, organization_id.strip() or None)
    said = (
        f"LinkedIn organization id set to {value}."
        if value
        else "LinkedIn organization id cleared."
    )
    return redirect(request, f"/console/{who.org.slug}/keys", said)
