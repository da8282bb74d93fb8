"""Recognition of other issuers' credentials: trust lists, imports, articulation agreements.

A learner imports an OB 3.0 credential from another issuer (JSON, VC-JWT or a baked
image). It is verified like any credential (signature, status, validity) and must be
issued to that learner; only then is it kept. Whether it counts toward a pathway is
decided at evaluation time: its issuer must be on the trust list of the organization that
owns the pathway, and an equivalency rule (an external component) or an articulation
agreement must match it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from credstack.crypto.jwt import issuer_id
from credstack.crypto.loader import default_loader
from credstack.domain.credentials import hash_identity, normalize_email
from credstack.domain.errors import Invalid, NotFound
from credstack.domain.platform import Organization
from credstack.domain.ports import StackingRepository
from credstack.domain.stack_records import Articulation, ImportedCredential, TrustedIssuer
from credstack.services.awards import PlatformStatusLists, parse_optional, resolver
from credstack.services.checks import VerificationResult
from credstack.services.platform import Platform
from credstack.services.verifying import VerifyOptions, verify

_DID_PREFIX = "did:"


def store(platform: Platform) -> StackingRepository:
    if platform.stacking is None:
        raise Invalid("this platform was built without the stacking store")
    return platform.stacking


def learner_id(reference: str) -> str:
    """The learner key: a DID as given, an email normalised (as awards store it)."""
    text = reference.strip()
    if text.startswith(_DID_PREFIX):
        return text
    if "@" not in text:
        raise Invalid(f"learner {reference!r} is neither an email address nor a DID")
    return normalize_email(text)


def trust_issuer(platform: Platform, org: Organization, issuer: str, name: str) -> TrustedIssuer:
    if not issuer.startswith(_DID_PREFIX) and not issuer.startswith("https://"):
        raise Invalid(f"issuer {issuer!r} must be a DID or an https URL")
    entry = TrustedIssuer(org.id, issuer, name.strip() or issuer, platform.now())
    store(platform).trust(entry)
    return entry


def distrust_issuer(platform: Platform, org: Organization, issuer: str) -> None:
    store(platform).distrust(org.id, issuer)


def add_articulation(
    platform: Platform,
    org: Organization,
    *,
    program: str,
    issuer: str,
    credits: float,
    achievement_id: str | None = None,
    alignment: str | None = None,
    note: str | None = None,
) -> Articulation:
    """``issuer``'s credential counts ``credits`` toward ``program`` (a pathway IRI)."""
    if (achievement_id is None) == (alignment is None):
        raise Invalid("an agreement names exactly one of an achievement id or an alignment")
    if not 0 < credits <= 1000:
        raise Invalid(f"credits must be a positive number up to 1000, not {credits!r}")
    pathway = store(platform).pathway(program)
    if pathway is None or pathway.org_id != org.id:
        raise NotFound(f"{org.slug!r} has no published pathway {program!r}")
    if achievement_id is not None:
        from credstack.services.pathway_catalog import stable_of  # noqa: PLC0415

        achievement_id = stable_of(platform, achievement_id)
    agreement = Articulation(
        id=str(uuid.uuid4()),
        org_id=org.id,
        program=program,
        issuer=issuer,
        credits=float(credits),
        created_at=platform.now(),
        achievement_id=achievement_id,
        alignment=alignment,
        note=note,
    )
    store(platform).add_articulation(agreement)
    return agreement


def verify_for(platform: Platform, data: bytes | str | Mapping[str, Any]) -> VerificationResult:
    """Verify as the platform does: its own keys and lists from storage, others remotely."""
    options = VerifyOptions(
        now=platform.now(),
        loader=default_loader(),
        resolve=resolver(platform),
        status=PlatformStatusLists(platform),
    )
    return verify(data, options)


def _issued_to(credential: Mapping[str, Any], learner: str) -> bool:
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    for item in subjects:
        if not isinstance(item, Mapping):
            continue
        if item.get("id") == learner:
            return True
        identifiers = item.get("identifier")
        listed = identifiers if isinstance(identifiers, list) else [identifiers]
        for ident in listed:
            if not isinstance(ident, Mapping) or ident.get("identityType") != "emailAddress":
                continue
            value = str(ident.get("identityHash", ""))
            if ident.get("hashed") and value == hash_identity(learner, str(ident.get("salt", ""))):
                return True
            if not ident.get("hashed") and normalize_email(value) == learner:
                return True
    return False


def achievement_of(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = credential.get("credentialSubject")
    first = subject[0] if isinstance(subject, list) and subject else subject
    achievement = first.get("achievement") if isinstance(first, Mapping) else None
    return achievement if isinstance(achievement, Mapping) else {}


def import_credential(
    platform: Platform, learner: str, data: bytes | str | Mapping[str, Any]
) -> ImportedCredential:
    """Verify another issuer's credential and keep it for ``learner`` (raises Invalid)."""
    who = learner_id(learner)
    result = verify_for(platform, data)
    credential = result.credential
    if credential is None or not result.verified:
        failed = "; ".join(f"{c.code}: {c.message}" for c in result.failed()) or "unreadable"
        raise Invalid(f"the credential did not verify, so it was not imported ({failed})")
    if not _issued_to(credential, who):
        raise Invalid(f"the credential was not issued to {who}")
    credential_id = str(credential.get("id") or "")
    if not credential_id:
        raise Invalid("the credential has no id, so it cannot be told apart from others")
    issuer = issuer_id(credential) or ""
    until = credential.get("validUntil")
    imported = ImportedCredential(
        id=str(uuid.uuid4()),
        learner=who,
        credential_id=credential_id,
        issuer=issuer,
        achievement_id=str(achievement_of(credential).get("id") or "") or None,
        document=json.dumps(credential, ensure_ascii=False, separators=(",", ":")),
        checks=[c.to_json() for c in result.checks],
        verified=True,
        imported_at=platform.now(),
        valid_until=parse_optional(until),
    )
    store(platform).add_import(imported)
    return imported
