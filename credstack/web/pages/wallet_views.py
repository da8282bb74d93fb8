"""What the wallet, sharing and employer pages have in common: the sharing context, live
verification of wallet items, and the cards those pages show.

Live verification goes through the per-process verification cache of the HTTP API
(``app.state.verify_cache``, decision 0013): this platform's DID documents and decoded
status lists are kept for ``CREDSTACK_VERIFY_CACHE_SECONDS`` and a list is revalidated by
its version, so checking the 200 cards of a large wallet costs signatures, not database
reads. A revocation made by this process shows at once; one made by another process
within that time. Other issuers' credentials resolve as ``/verify`` resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request

from credstack.db.accounts import AccountStore
from credstack.db.sharing import SharingStore
from credstack.domain.accounts import User
from credstack.domain.errors import NotFound
from credstack.services.certificates import CredentialFacts, linkedin_url
from credstack.services.platform import Platform
from credstack.services.sharing import (
    ItemKind,
    ItemRef,
    Sharing,
    WalletItem,
    item_of,
    linkedin_organization_id,
)
from credstack.services.stack_verify import verify_stack
from credstack.web import deps
from credstack.web.api.vcapi import VerifyCache, options_for
from credstack.web.pages.explain import VERDICTS, ResultView, explain, verdict_of

#: The URL segment of each kind of wallet item (``/wallet/{segment}/{id}…``).
SEGMENTS: Final = {ItemKind.AWARD: "credentials", ItemKind.IMPORT: "imports"}
KINDS: Final = {segment: kind for kind, segment in SEGMENTS.items()}


def held_item(ctx: Sharing, user: User, segment: str, item_id: str) -> WalletItem:
    """The wallet item at ``/wallet/{segment}/{item_id}`` of ``user`` (else NotFound)."""
    kind = KINDS.get(segment)
    if kind is None:
        raise NotFound("no such credential in your wallet")
    return item_of(ctx, user, ItemRef(kind, item_id))


def sharing_context(request: Request, found: deps.PlatformDep, db: deps.SessionDep) -> Sharing:
    del request
    return Sharing(found, SharingStore(db), AccountStore(db))


SharingDep = Annotated[Sharing, Depends(sharing_context)]


def live(request: Request, found: Platform, document: str, *, brief: bool = False) -> ResultView:
    """Verify a stored credential now (stacks and CLRs with every component).

    ``brief``: only the verdict (what a wallet card shows), without the sentences of
    every check and the pretty-printed document a full view renders.
    """
    cache: VerifyCache | None = getattr(request.app.state, "verify_cache", None)
    options = cache.options(found.now()) if cache is not None else options_for(found)
    result = verify_stack(found, document, options)
    if not brief:
        return explain(result)
    credential = result.credential
    verdict = verdict_of(result.codes(), result.verified, isinstance(credential, Mapping))
    title, summary = VERDICTS[verdict]
    until = credential.get("validUntil") if isinstance(credential, Mapping) else None
    return ResultView(verdict, title, summary, (), valid_until=str(until or ""))


@dataclass(frozen=True, slots=True)
class Download:
    label: str
    href: str
    filename: str


@dataclass(frozen=True, slots=True)
class ItemCard:
    """One wallet credential as a page shows it: facts, live state, downloads, links."""

    item: WalletItem
    result: ResultView
    downloads: tuple[Download, ...] = ()
    linkedin: str = ""
    verify_url: str = ""

    @property
    def facts(self) -> CredentialFacts:
        return self.item.facts

    @property
    def key(self) -> str:
        return self.item.ref.key

    @property
    def dom_id(self) -> str:
        return f"{self.item.ref.kind.value}-{self.item.ref.id}"

    @property
    def segment(self) -> str:
        return SEGMENTS[self.item.ref.kind]

    @property
    def base(self) -> str:
        """The wallet path of the item (``/wallet/credentials/{id}``, ``/wallet/imports/{id}``)."""
        return f"/wallet/{self.segment}/{self.item.ref.id}"


def verify_url(found: Platform, item: WalletItem) -> str:
    """Where anyone verifies the credential: its URL here (browsers get the verification
    page), else the credential's own https id, else the /verify page."""
    if item.award is not None:
        return f"{found.base_url.rstrip('/')}/credentials/{item.award.id}"
    own = item.facts.credential_id
    return own if own.startswith("https://") else f"{found.base_url.rstrip('/')}/verify"


def downloads_of(item: WalletItem) -> tuple[Download, ...]:
    """The files a learner can download for one item (see ``downloads``)."""
    base = f"/wallet/{SEGMENTS[item.ref.kind]}/{item.ref.id}"
    stem = f"credential-{item.ref.id}"
    jwt = not item.document.lstrip().startswith("{")
    found = [
        Download("VC-JWT", f"{base}.jwt", f"{stem}.jwt")
        if jwt
        else Download("JSON", f"{base}.json", f"{stem}.json"),
        Download("badge (PNG)", f"{base}/badge.png", f"{stem}.png"),
        Download("badge (SVG)", f"{base}/badge.svg", f"{stem}.svg"),
    ]
    if item.award is not None:
        found.append(Download("certificate (PDF)", f"{base}/certificate.pdf", f"{stem}.pdf"))
    return tuple(found)


def linkedin_of(
    ctx: Sharing, item: WalletItem, cert_url: str, known: dict[str, str | None] | None = None
) -> str:
    """LinkedIn's "Add to profile" link for a credential issued here (others: none);
    ``known`` caches the organizations' LinkedIn ids over one page."""
    if item.award is None:
        return ""
    known = {} if known is None else known
    org = item.award.org_id
    if org not in known:
        known[org] = linkedin_organization_id(ctx, org)
    return linkedin_url(
        item.facts, cert_url=cert_url, cert_id=item.award.id, organization_id=known[org]
    )


def card_of(
    request: Request,
    ctx: Sharing,
    item: WalletItem,
    *,
    owner: bool,
    known: dict[str, str | None] | None = None,
) -> ItemCard:
    """The card of ``item``, verified now. ``owner``: the wallet's card (the verdict only,
    downloads, the LinkedIn link); else the public one (every check, every component)."""
    url = verify_url(ctx.platform, item)
    return ItemCard(
        item=item,
        result=live(request, ctx.platform, item.document, brief=owner),
        downloads=downloads_of(item) if owner else (),
        linkedin=linkedin_of(ctx, item, url, known) if owner else "",
        verify_url=url,
    )
