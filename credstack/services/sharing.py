"""Sharing a wallet: public profiles, share links, employer search, LinkedIn settings.

Nothing is public by default. A learner chooses what to show:

* a **public profile** at ``/p/{handle}`` (a chosen display name and chosen credentials),
  visible only once published; listed in employer search only when also marked
  *findable by employers*, and then only through the credentials it shows;
* **share links** ``/s/{token}`` for a chosen set of credentials: the token is an
  HMAC-SHA256 of the link's random id under the platform secret (256 bits; the learner can
  copy the link again later, and the database holds only its SHA-256), with an optional
  expiry, revocable at any time; revoked, expired and unknown links look the same (404).

Wallet items are the awards an account claimed and the credentials it imported from other
issuers (``services.recognition``), named by :class:`ItemRef` (``award:{id}``,
``import:{id}``). Public pages re-check that the account still holds each item.
Employer search is for signed-in accounts with a confirmed address, rate limited per
account in the database (several processes serve one site).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Protocol
from urllib.parse import urlsplit

from credstack.crypto.jwt import is_compact_jws
from credstack.domain.accounts import AccountRepository, Throttled, User, UserId
from credstack.domain.baking import sniff, unbake
from credstack.domain.errors import Forbidden, Invalid, NotFound
from credstack.domain.platform import Award, AwardId, OrgId
from credstack.domain.stack_records import ImportedCredential
from credstack.services import recognition, stacking
from credstack.services.certificates import (
    CredentialFacts,
    check_linkedin_organization_id,
    facts_of_text,
    matches,
    search_text,
    terms_of,
)
from credstack.services.platform import Platform

#: Employer searches per account within :data:`SEARCH_WINDOW`.
MAX_SEARCHES: Final = 30
SEARCH_WINDOW: Final = timedelta(minutes=10)
#: Learners (profiles) one search returns at most.
MAX_HITS: Final = 20
MAX_LINKS: Final = 100  # live share links per account
MAX_ITEMS: Final = 200  # credentials per share link or profile
EXPIRY_DAYS: Final = (7, 30, 90, 365)
_HANDLE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,28}[a-z0-9])")
RESERVED: Final = frozenset({"admin", "api", "employer", "p", "s", "static", "verify", "wallet"})


class ItemKind(StrEnum):
    AWARD = "award"
    IMPORT = "import"


@dataclass(frozen=True, slots=True, order=True)
class ItemRef:
    """A credential of a wallet: an award claimed here, or an import."""

    kind: ItemKind
    id: str

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @classmethod
    def parse(cls, key: str) -> ItemRef:
        kind, _, ident = key.strip().partition(":")
        if kind in ItemKind.__members__.values() and ident and len(ident) <= 36:
            return cls(ItemKind(kind), ident)
        raise Invalid(f"{key[:60]!r} names no credential of a wallet", code="item.invalid")


@dataclass(frozen=True, slots=True)
class WalletItem:
    """One credential of a wallet: its stored text (as signed) and its facts."""

    ref: ItemRef
    document: str
    facts: CredentialFacts
    added_at: datetime
    award: Award | None = None
    imported: ImportedCredential | None = None


@dataclass(frozen=True, slots=True)
class PublicProfile:
    user_id: UserId
    handle: str
    display_name: str
    updated_at: datetime
    headline: str | None = None
    published: bool = False
    findable: bool = False
    items: tuple[ItemRef, ...] = ()


@dataclass(frozen=True, slots=True)
class ShareLink:
    id: str
    user_id: UserId
    label: str
    created_at: datetime
    items: tuple[ItemRef, ...]
    display_name: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    views: int = 0

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class SharingRepository(Protocol):
    """Storage of profiles, share links, organization settings and employer searches
    (``credstack.db.sharing.SharingStore``); flushes, never commits."""

    def profile(self, user_id: UserId) -> PublicProfile | None: ...
    def profile_by_handle(self, handle: str) -> PublicProfile | None: ...
    def save_profile(self, profile: PublicProfile, texts: Mapping[ItemRef, str]) -> None:
        """Insert or replace the profile and its items (Conflict when the handle is taken)."""
        ...

    def add_link(self, link: ShareLink, token_hash: str) -> None: ...
    def links_of(self, user_id: UserId) -> list[ShareLink]: ...
    def link(self, link_id: str) -> ShareLink | None: ...
    def link_by_token(self, token_hash: str) -> ShareLink | None: ...
    def revoke_link(self, link_id: str, at: datetime) -> None: ...
    def count_view(self, link_id: str) -> None: ...
    def search(self, terms: Sequence[str], limit: int) -> list[tuple[PublicProfile, list[ItemRef]]]:
        """Published, findable profiles whose shown items' search text holds every term."""
        ...

    def linkedin_organization_id(self, org_id: OrgId) -> str | None: ...
    def set_linkedin_organization_id(
        self, org_id: OrgId, value: str | None, at: datetime
    ) -> None: ...

    def keep_original(self, import_id: str, document: str, at: datetime) -> None:
        """Keep an import as received (a VC-JWT), beside recognition's JSON of it."""
        ...

    def originals(self, import_ids: Sequence[str]) -> dict[str, str]: ...
    def prime(self, achievement_ids: Sequence[str]) -> list[object]:
        """Load these achievements at once before they are read one by one; the lookups
        are fast while the caller holds what this returns."""
        ...

    def searches_since(self, user_id: UserId, since: datetime) -> int: ...
    def add_search(self, user_id: UserId, at: datetime, prune_before: datetime) -> None: ...


@dataclass(slots=True)
class Sharing:
    """What the sharing use cases run over: the platform (awards, imports, clock, secret,
    base URL), the sharing storage and the account storage (claims)."""

    platform: Platform
    store: SharingRepository
    accounts: AccountRepository

    def now(self) -> datetime:
        return self.platform.now()


# --- wallet items -----------------------------------------------------------------------


def learner_key(user: User) -> str:
    """The learner an account's imports are kept for: its address (once confirmed).

    Not its DID: linking a DID proves no control of it, so credentials issued to a DID
    are claimed through the issuer, not imported by whoever links the DID.
    """
    return user.email


def _award_item(award: Award, added_at: datetime) -> WalletItem:
    return WalletItem(
        ItemRef(ItemKind.AWARD, award.id),
        award.document,
        facts_of_text(award.document),
        added_at,
        award=award,
    )


def _import_item(item: ImportedCredential, original: str | None = None) -> WalletItem:
    document = original or item.document
    return WalletItem(
        ItemRef(ItemKind.IMPORT, item.id),
        document,
        facts_of_text(document),
        item.imported_at,
        imported=item,
    )


def _import_items(ctx: Sharing, user: User) -> list[WalletItem]:
    """The account's imports, newest first, each as received (a VC-JWT stays a JWT)."""
    store = ctx.platform.stacking
    if store is None or not user.verified:
        return []
    found = sorted(store.imports(learner_key(user)), key=lambda i: i.imported_at, reverse=True)
    originals = ctx.store.originals([i.id for i in found]) if found else {}
    return [_import_item(i, originals.get(i.id)) for i in found]


def wallet_items(ctx: Sharing, user: User) -> list[WalletItem]:
    """Every credential of the account: claimed awards, then imports (newest first)."""
    claimed = sorted(ctx.accounts.claims_of(user.id), key=lambda c: c.claimed_at, reverse=True)
    return [_award_item(c.award, c.claimed_at) for c in claimed] + _import_items(ctx, user)


def jwt_payload(data: bytes | str) -> str | None:
    """The compact JWS in ``data`` (pasted, or baked into a PNG/SVG), else None."""
    if isinstance(data, bytes):
        if sniff(data) is not None:
            try:
                baked = unbake(data)
            except Invalid:
                return None
            text = baked or ""
        else:
            text = data.decode("utf-8", "replace")
    else:
        text = data
    return text.strip() if is_compact_jws(text.strip()) else None


def import_into_wallet(ctx: Sharing, user: User, data: bytes | str) -> WalletItem:
    """Verify another issuer's credential (JSON, VC-JWT or a baked image) issued to the
    account's confirmed address and keep it (``services.recognition``); the stacking engine
    then re-evaluates the learner's pathways.

    Recognition keeps the credential's JSON (what pathways read); a VC-JWT is also kept
    as received, since its signature is the JWS itself: the wallet verifies, shows and
    offers that one.
    """
    if not user.verified:
        raise Forbidden(
            "confirm your email address before importing credentials", code="import.unconfirmed"
        )
    imported = recognition.import_credential(ctx.platform, learner_key(user), data)
    stacking.sweep(ctx.platform, [imported.learner])
    kept = next(
        (
            i
            for i in _import_items(ctx, user)
            if i.imported and i.imported.credential_id == imported.credential_id
        ),
        None,
    )
    if kept is None:
        raise NotFound("the imported credential was not kept")
    token = jwt_payload(data)
    if token is not None:
        ctx.store.keep_original(kept.ref.id, token, ctx.now())
        return replace(kept, document=token, facts=facts_of_text(token))
    return kept


def item_of(ctx: Sharing, user: User, ref: ItemRef) -> WalletItem:
    """One credential the account holds (NotFound for anything else)."""
    found = held(ctx, user.id, [ref], user)
    if not found:
        raise NotFound("no such credential in your wallet")
    return found[0]


def held(
    ctx: Sharing, user_id: UserId, refs: Iterable[ItemRef], user: User | None = None
) -> list[WalletItem]:
    """The items of ``refs`` the account still holds, in the order given."""
    owner = user or ctx.accounts.user(user_id)
    if owner is None:
        return []
    imports: dict[str, WalletItem] | None = None
    out: list[WalletItem] = []
    for ref in refs:
        if ref.kind is ItemKind.AWARD:
            award = ctx.platform.awards.get(AwardId(ref.id))
            if award is not None and ctx.accounts.claimant(award.id) == owner.id:
                out.append(_award_item(award, award.issued_at))
        else:
            if imports is None:
                imports = {i.ref.id: i for i in _import_items(ctx, owner)}
            if ref.id in imports:
                out.append(imports[ref.id])
    return out


def _refs(ctx: Sharing, user: User, keys: Iterable[str]) -> list[WalletItem]:
    refs = sorted({ItemRef.parse(k) for k in keys})
    if len(refs) > MAX_ITEMS:
        raise Invalid(f"choose at most {MAX_ITEMS} credentials")
    found = held(ctx, user.id, refs, user)
    if len(found) != len(refs):
        raise NotFound("some of the chosen credentials are not in your wallet")
    return found


# --- public profile ---------------------------------------------------------------------


def check_handle(value: str) -> str:
    handle = value.strip().lower()
    if not _HANDLE.fullmatch(handle) or "--" in handle or handle in RESERVED:
        raise Invalid(
            "a profile address is 3 to 30 lower-case letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
            code="handle.invalid",
        )
    return handle


def _name(value: str, what: str, limit: int, required: bool = True) -> str | None:
    text = " ".join(value.split())
    if not text:
        if required:
            raise Invalid(f"enter {what}", code="profile.invalid")
        return None
    if len(text) > limit:
        raise Invalid(f"{what} is at most {limit} characters", code="profile.invalid")
    return text


def profile_of(ctx: Sharing, user: User) -> PublicProfile | None:
    return ctx.store.profile(user.id)


def save_profile(
    ctx: Sharing,
    user: User,
    *,
    handle: str,
    display_name: str,
    headline: str = "",
    published: bool = False,
    findable: bool = False,
    items: Iterable[str] = (),
) -> PublicProfile:
    """Create or change the account's public profile (Conflict when the handle is taken)."""
    chosen = _refs(ctx, user, items)
    name = _name(display_name, "the name to show", 100)
    assert name is not None
    profile = PublicProfile(
        user_id=user.id,
        handle=check_handle(handle),
        display_name=name,
        headline=_name(headline, "the headline", 200, required=False),
        published=published,
        findable=findable,
        updated_at=ctx.now(),
        items=tuple(i.ref for i in chosen),
    )
    ctx.store.save_profile(profile, {i.ref: search_text(i.facts) for i in chosen})
    return profile


def public_profile(ctx: Sharing, handle: str) -> tuple[PublicProfile, list[WalletItem]]:
    """A published profile and the credentials it shows (NotFound until published)."""
    try:
        found = ctx.store.profile_by_handle(check_handle(handle))
    except Invalid:
        found = None
    if found is None or not found.published:
        raise NotFound("there is no public profile at this address")
    return found, held(ctx, found.user_id, found.items)


# --- share links ------------------------------------------------------------------------


def _token_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"credstack/share-link", hashlib.sha256).digest()


def token_of(ctx: Sharing, link: ShareLink) -> str:
    """The token of a link's URL: HMAC-SHA256 of its id under the platform secret."""
    mac = hmac.new(_token_key(ctx.platform.secret), link.id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def share_url(ctx: Sharing, link: ShareLink) -> str:
    return f"{ctx.platform.base_url.rstrip('/')}/s/{token_of(ctx, link)}"


def create_link(
    ctx: Sharing,
    user: User,
    *,
    items: Iterable[str],
    label: str = "",
    display_name: str = "",
    expires_in_days: int | None = None,
) -> ShareLink:
    """A new share link of the chosen credentials (at least one)."""
    chosen = _refs(ctx, user, items)
    if not chosen:
        raise Invalid("choose at least one credential to share", code="share.empty")
    if expires_in_days is not None and expires_in_days not in EXPIRY_DAYS:
        raise Invalid(f"a link expires after {', '.join(map(str, EXPIRY_DAYS))} days, or never")
    live = [link for link in ctx.store.links_of(user.id) if link.active(ctx.now())]
    if len(live) >= MAX_LINKS:
        raise Invalid(f"you have {MAX_LINKS} share links already; revoke some first")
    now = ctx.now()
    link = ShareLink(
        id=str(uuid.uuid4()),
        user_id=user.id,
        label=_name(label, "the label", 100, required=False) or f"Shared on {now:%d %B %Y}",
        created_at=now,
        items=tuple(i.ref for i in chosen),
        display_name=_name(display_name, "the name to show", 100, required=False),
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    ctx.store.add_link(link, token_hash(token_of(ctx, link)))
    return link


def links_of(ctx: Sharing, user: User) -> list[ShareLink]:
    return sorted(ctx.store.links_of(user.id), key=lambda k: k.created_at, reverse=True)


def revoke_link(ctx: Sharing, user: User, link_id: str) -> ShareLink:
    link = ctx.store.link(link_id)
    if link is None or link.user_id != user.id:
        raise NotFound("no such share link of yours")
    if link.revoked_at is None:
        ctx.store.revoke_link(link.id, ctx.now())
    return replace(link, revoked_at=link.revoked_at or ctx.now())


def token_in(text: str, base_url: str) -> str:
    """The token of a pasted share link: its full URL, ``/s/{token}`` or the token alone."""
    value = text.strip()
    if "/" in value:
        parts = urlsplit(value)
        own = urlsplit(base_url)
        if parts.netloc and parts.netloc != own.netloc:
            raise Invalid("this is not a share link of this site", code="share.foreign")
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2 or segments[0] != "s":
            raise Invalid("a share link looks like …/s/ followed by a code", code="share.invalid")
        value = segments[1]
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,100}", value):
        raise Invalid("a share link looks like …/s/ followed by a code", code="share.invalid")
    return value


def open_link(ctx: Sharing, token: str, count: bool = True) -> tuple[ShareLink, list[WalletItem]]:
    """The link of ``token`` and its credentials still held; NotFound when the link is
    unknown, revoked or expired (all alike)."""
    link = ctx.store.link_by_token(token_hash(token)) if token else None
    if link is None or not link.active(ctx.now()):
        raise NotFound("this share link does not exist, was revoked or has expired")
    if count:
        ctx.store.count_view(link.id)
    return link, held(ctx, link.user_id, link.items)


# --- employer search --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A learner who opted in, with the shown credentials that match a search (to be
    verified live before they count)."""

    profile: PublicProfile
    items: tuple[WalletItem, ...]


def search(ctx: Sharing, user: User, query: str) -> tuple[list[str], list[Candidate]]:
    """Opted-in learners whose public credentials match ``query`` (every term, in names,
    alignments and tags); the terms and the candidates. Rate limited per account."""
    if not user.verified:
        raise Forbidden("confirm your email address to search learners", code="search.unconfirmed")
    terms = terms_of(query)
    if not terms:
        raise Invalid("enter a competency or a credential name (two letters or more)")
    now = ctx.now()
    since = now - SEARCH_WINDOW
    if ctx.store.searches_since(user.id, since) >= MAX_SEARCHES:
        raise Throttled(
            f"at most {MAX_SEARCHES} searches in {SEARCH_WINDOW.seconds // 60} minutes; "
            "try again later",
            SEARCH_WINDOW,
        )
    ctx.store.add_search(user.id, now, since)
    found: list[Candidate] = []
    for profile, refs in ctx.store.search(terms, MAX_HITS):
        items = [
            i for i in held(ctx, profile.user_id, refs) if matches(search_text(i.facts), terms)
        ]
        if items:
            found.append(Candidate(profile, tuple(items)))
    return terms, found


# --- organization settings --------------------------------------------------------------


def linkedin_organization_id(ctx: Sharing, org_id: str) -> str | None:
    return ctx.store.linkedin_organization_id(OrgId(org_id))


def set_linkedin_organization_id(ctx: Sharing, org_id: str, value: str | None) -> str | None:
    """Set (or clear, with None or '') the LinkedIn organization id of an organization."""
    if ctx.platform.orgs.get(OrgId(org_id)) is None:
        raise NotFound("no such organization")
    checked = check_linkedin_organization_id(value)
    ctx.store.set_linkedin_organization_id(OrgId(org_id), checked, ctx.now())
    return checked
