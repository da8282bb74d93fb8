"""The employer view: verify a learner's share link in one step, and search the learners
who opted in by verified competency or credential name.

* **Verify a share link** (no account needed): paste the link (or its code); every shared
  credential is verified now, a stacked credential or a CLR with each of its components
  and the pathway it claims. The summary says how many verified.
* **Search** (signed in with a confirmed address, any role; at most
  ``sharing.MAX_SEARCHES`` per ``sharing.SEARCH_WINDOW`` per account): learners whose
  profile is published *and* marked findable by employers, through the credentials that
  profile shows, matched on achievement and credential names, alignments (competencies:
  targetName, targetUrl, framework) and tags. A credential counts as a match only if it
  verifies right now; learners without such a credential are left out.

Both are POST forms (CSRF token; the link and the query stay out of URLs and logs); htmx
swaps in the results, and without JavaScript the whole page comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from credstack.domain.errors import CredstackError, Forbidden
from credstack.services import sharing
from credstack.services.certificates import Alignment, matched_alignments
from credstack.services.sharing import PublicProfile, ShareLink
from credstack.web.pages import render
from credstack.web.pages.session import BrowserDep, PageRoute, UserDep, csrf_protect, page
from credstack.web.pages.share import PUBLIC_HEADERS
from credstack.web.pages.wallet_views import ItemCard, SharingDep, card_of

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)


@dataclass(frozen=True, slots=True)
class Verified:
    """A share link verified as a whole."""

    link: ShareLink
    cards: tuple[ItemCard, ...]

    @property
    def verified(self) -> int:
        return sum(1 for c in self.cards if c.result.ok)

    @property
    def all_ok(self) -> bool:
        return bool(self.cards) and self.verified == len(self.cards)


@dataclass(frozen=True, slots=True)
class Match:
    card: ItemCard
    why: tuple[Alignment, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    profile: PublicProfile
    matches: tuple[Match, ...]


def _answer(request: Request, status: int = 200, **context: Any) -> Response:
    partial = render.is_htmx(request) and context.get("part")
    template = "employer_results.html" if partial else "employer.html"
    context.setdefault("link_text", "")
    context.setdefault("query", "")
    response = page(request, template, status, **context)
    response.headers.update(PUBLIC_HEADERS)
    return response


@router.get("/employer")
def employer(request: Request, _who: BrowserDep) -> Response:
    return _answer(request)


@router.post("/employer/verify")
def verify_link(
    request: Request,
    _who: BrowserDep,
    share: SharingDep,
    link: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Verify every credential of a share link, in one step."""
    try:
        token = sharing.token_in(link, share.platform.base_url)
        found, items = sharing.open_link(share, token)
    except CredstackError as exc:
        return _answer(request, 404, part="verify", link_text=link, verify_error=exc.message)
    cards = tuple(card_of(request, share, item, owner=False) for item in items)
    return _answer(request, part="verify", link_text=link, checked=Verified(found, cards))


@router.post("/employer/search")
def search(
    request: Request,
    user: UserDep,
    share: SharingDep,
    q: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Learners who opted in, with the matching credentials that verify now."""
    try:
        terms, candidates = sharing.search(share, user, q)
    except CredstackError as exc:
        if exc.code == "throttled":
            raise
        status = 403 if isinstance(exc, Forbidden) else 422
        return _answer(request, status, part="search", query=q, search_error=exc.message)
    hits = []
    for candidate in candidates:
        found = []
        for item in candidate.items:
            card = card_of(request, share, item, owner=False)
            if card.result.ok:
                found.append(Match(card, tuple(matched_alignments(item.facts, terms))))
        if found:
            hits.append(Hit(candidate.profile, tuple(found)))
    return _answer(request, part="search", query=q, hits=hits, searched=True)
