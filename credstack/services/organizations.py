"""Organizations (issuers): their profile, staff, did:web identity and signing keys.

Each organization's DID is ``did:web`` at ``{base_url}/orgs/{slug}`` (document served at
``/orgs/{slug}/did.json``). Signing keys are Ed25519, sealed at rest under the platform
secret; rotating adds a new key and keeps the old ones in the DID document (marked
inactive for signing) so that credentials signed before still verify.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from credstack.crypto.did import DidResolver, VerificationMethod, did_document, did_web
from credstack.crypto.keys import Ed25519Key, PublicKey, ed25519_from_seed
from credstack.crypto.sealing import seal, unseal
from credstack.domain.achievements import Profile
from credstack.domain.errors import Invalid, NotFound
from credstack.domain.platform import Organization, OrgId, Role, StaffMember, StoredKey
from credstack.domain.ports import KeyRepository, OrganizationRepository

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
_ANY_BASE = "https://credstack.invalid"


@dataclass(frozen=True, slots=True)
class Issuer:
    """What signing needs: the organization, its DID, its active key and its profile."""

    org: Organization
    did: str
    key: Ed25519Key
    profile: Profile


def org_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/orgs/{slug}"


def org_did(base_url: str, slug: str) -> str:
    return did_web(org_url(base_url, slug))


def profile_of(org: Organization, base_url: str) -> Profile:
    return Profile(
        id=org_did(base_url, org.slug),
        name=org.name,
        url=org.url or org_url(base_url, org.slug),
        email=org.email,
        description=org.description,
    )


def create_organization(
    orgs: OrganizationRepository,
    keys: KeyRepository,
    *,
    slug: str,
    name: str,
    secret: bytes,
    now: datetime,
    url: str | None = None,
    email: str | None = None,
    description: str | None = None,
    owner: str | None = None,
) -> Organization:
    if not SLUG.match(slug):
        raise Invalid(f"slug {slug!r} must be 1-64 lowercase letters, digits or inner hyphens")
    if not name.strip():
        raise Invalid("an organization needs a name")
    org = Organization(OrgId(str(uuid.uuid4())), slug, name.strip(), now, url, email, description)
    profile_of(org, _ANY_BASE)  # refuse what would break every credential it signs
    orgs.add(org)
    if owner:
        orgs.add_staff(StaffMember(org.id, owner.strip().lower(), Role.OWNER))
    add_key(keys, org, secret=secret, now=now)
    return org


def add_key(keys: KeyRepository, org: Organization, *, secret: bytes, now: datetime) -> StoredKey:
    """A new active Ed25519 key; earlier keys stay published but no longer sign."""
    seed = os.urandom(32)
    public = ed25519_from_seed(seed).public
    stored = StoredKey(
        id=str(uuid.uuid4()),
        org_id=org.id,
        fragment=f"key-{now.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}",
        public_multibase=public.multibase,
        sealed_secret=seal(secret, seed, org.id.encode()),
        created_at=now,
    )
    keys.deactivate_all(org.id)
    keys.add(stored)
    return stored


def rotate_key(
    keys: KeyRepository, org: Organization, *, secret: bytes, now: datetime
) -> StoredKey:
    return add_key(keys, org, secret=secret, now=now)


def issuer_for(
    orgs: OrganizationRepository,
    keys: KeyRepository,
    org: Organization,
    *,
    secret: bytes,
    base_url: str,
) -> Issuer:
    active = [k for k in keys.of(org.id) if k.active]
    if not active:
        raise NotFound(f"organization {org.slug!r} has no active signing key")
    stored = active[-1]
    did = org_did(base_url, org.slug)
    seed = unseal(secret, stored.sealed_secret, org.id.encode())
    key = ed25519_from_seed(seed, did, f"{did}#{stored.fragment}")
    return Issuer(org, did, key, profile_of(org, base_url))


def org_by_slug(orgs: OrganizationRepository, slug: str) -> Organization:
    org = orgs.by_slug(slug)
    if org is None:
        raise NotFound(f"no organization {slug!r}")
    return org


def document_for(keys: KeyRepository, org: Organization, base_url: str) -> dict[str, Any]:
    """The organization's DID document: every key it ever had (rotation keeps old ones)."""
    did = org_did(base_url, org.slug)
    methods = [
        VerificationMethod(f"{did}#{k.fragment}", did, PublicKey.from_multibase(k.public_multibase))
        for k in keys.of(org.id)
    ]
    return did_document(did, methods)


def update_profile(orgs: OrganizationRepository, org: Organization, **changes: Any) -> Organization:
    allowed = {"name", "url", "email", "description"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(f"cannot change {sorted(unknown)}; profile fields are {sorted(allowed)}")
    updated = replace(org, **{k: v for k, v in changes.items() if v is not None})
    profile_of(updated, _ANY_BASE)  # refuse what would break every credential it signs
    orgs.update(updated)
    return updated


class PlatformDidResolver:
    """Resolves this platform's own did:web keys from storage; anything else elsewhere."""

    def __init__(
        self,
        orgs: OrganizationRepository,
        keys: KeyRepository,
        base_url: str,
        fallback: Callable[[str], VerificationMethod | None] | None = None,
    ) -> None:
        self._orgs, self._keys, self._base = orgs, keys, base_url
        self._prefix = org_did(base_url, "x")[: -len("x")]
        self._fallback = fallback or DidResolver()
        self._cache: dict[str, DidResolver] = {}

    def __call__(self, method_id: str) -> VerificationMethod | None:
        did = method_id.partition("#")[0]
        if did.startswith(self._prefix):
            slug = did.removeprefix(self._prefix)
            if slug not in self._cache:
                org = self._orgs.by_slug(slug)
                if org is None:
                    return None
                self._cache[slug] = DidResolver([document_for(self._keys, org, self._base)])
            return self._cache[slug](method_id)
        return self._fallback(method_id)
