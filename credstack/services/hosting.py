"""The OB 3.0 Host: keep the credentials and the profile of each authenticated user.

``upsert_credential`` is the ``upsertCredential`` operation of the Open Badges API
(https://www.imsglobal.org/spec/ob/v3p0/#upsertcredential): the credential must verify
(proof, issuer binding, validity window, status) and be an OpenBadgeCredential with an
``id``; it is then stored under the user and its equality key. An equal credential that is
already held is replaced, unless the stored one has a newer ``validFrom``; either way the
answer is "replaced" (HTTP 200) and a later ``getCredentials`` returns an equal credential.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from credstack.crypto import jwt
from credstack.domain.credentials import credential_types, parse_datetime
from credstack.domain.errors import Invalid
from credstack.domain.hosting import (
    HeldCredential,
    HeldForm,
    check_profile,
    default_profile,
    equality_key,
    supersedes,
)
from credstack.domain.ports import HeldCredentialRepository, ProfileRepository
from credstack.services.verifying import OB_TYPES, VerifyOptions, verify


@dataclass(frozen=True, slots=True)
class Upserted:
    """The held credential, whether it was new, and the request's credential as stored."""

    held: HeldCredential
    created: bool
    document: str


def _issued_at(credential: Mapping[str, Any]) -> datetime | None:
    value = credential.get("validFrom", credential.get("issuanceDate"))
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except Invalid:
        return None


def _parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Invalid("the body is not JSON", code="credential.invalid") from exc
    if not isinstance(value, dict):
        raise Invalid("an AchievementCredential must be a JSON object", code="credential.invalid")
    return value


def upsert_credential(
    held: HeldCredentialRepository,
    subject: str,
    body: str,
    *,
    form: HeldForm,
    options: VerifyOptions,
) -> Upserted:
    """Verify ``body`` (JSON credential or compact JWS) and keep it for ``subject``."""
    text = body.strip().lstrip("\ufeff")
    if form is HeldForm.JWT:
        if not jwt.is_compact_jws(text):
            raise Invalid("text/plain must be a compact JWS (VC-JWT)", code="credential.invalid")
        result = verify(text, options)
        document = text
    else:
        parsed = _parse_json(text)
        result = verify(parsed, options)
        document = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    credential = result.credential
    if not result.verified or credential is None:
        failed = "; ".join(f"{c.code}: {c.message}" for c in result.failed())
        raise Invalid(
            f"the credential does not verify ({failed or 'no credential'})",
            code="credential.unverified",
        )
    if not credential_types(credential) & OB_TYPES:
        raise Invalid(
            "only OpenBadgeCredential / AchievementCredential can be held",
            code="credential.invalid",
        )
    credential_id, issuer_id = credential.get("id"), jwt.issuer_id(credential)
    if not isinstance(credential_id, str) or not credential_id.strip() or issuer_id is None:
        raise Invalid(
            "a held credential needs an id and an issuer id (credential equality uses them)",
            code="credential.invalid",
        )
    now = options.now
    key = equality_key(issuer_id, credential_id)
    issued_at = _issued_at(credential)
    existing = held.get(subject, key)
    if existing is not None:
        if supersedes(issued_at, existing.issued_at):
            updated = replace(
                existing,
                form=form,
                document=document,
                issued_at=issued_at,
                credential_id=credential_id,
                issuer_id=issuer_id,
                updated_at=now,
            )
            held.replace(updated)
            return Upserted(updated, False, document)
        return Upserted(existing, False, document)
    record = HeldCredential(
        id=str(uuid.uuid4()),
        subject=subject,
        key=key,
        credential_id=credential_id,
        issuer_id=issuer_id,
        form=form,
        document=document,
        issued_at=issued_at,
        added_at=now,
        updated_at=now,
    )
    held.add(record)
    return Upserted(record, True, document)


def list_credentials(
    held: HeldCredentialRepository,
    subject: str,
    *,
    limit: int,
    offset: int,
    since: datetime | None = None,
) -> tuple[list[HeldCredential], int]:
    """One page of the user's credentials (oldest first) and the total count."""
    items = held.page(subject, limit=limit, offset=offset, since=since)
    return items, held.count(subject, since=since)


def get_profile(profiles: ProfileRepository, subject: str) -> dict[str, Any]:
    stored = profiles.get(subject)
    return stored if stored is not None else default_profile(subject)


def put_profile(
    profiles: ProfileRepository, subject: str, profile: object, now: datetime
) -> dict[str, Any]:
    """Replace the user's profile with ``profile`` (the whole of it, as the API says)."""
    checked = check_profile(profile)
    profiles.put(subject, checked, now)
    return checked
