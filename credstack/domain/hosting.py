"""Credentials and profiles a Host keeps for its users (the OB 3.0 Host role).

A held credential is stored exactly as it was verified: a Data Integrity credential as
compact JSON, a VC-JWT as its compact JWS. Two credentials are "the same" under the
1EdTech credential equality algorithm when their issuer ``id`` and credential ``id`` are
equal after percent-unescaping and trimming whitespace
(https://www.imsglobal.org/spec/ob/v3p0/#credential-equality-and-comparison); the newer
``validFrom`` is the more up-to-date representation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from credstack.domain.errors import Invalid

OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


class HeldForm(StrEnum):
    JSON = "json"  # a Data Integrity credential (the GetOpenBadgeCredentialsResponse.credential)
    JWT = "jwt"  # a VC-JWT compact JWS (GetOpenBadgeCredentialsResponse.compactJwsString)


@dataclass(frozen=True, slots=True)
class HeldCredential:
    """One credential in a user's wallet; ``document`` is the bytes of record."""

    id: str
    subject: str
    key: str
    credential_id: str
    issuer_id: str
    form: HeldForm
    document: str
    issued_at: datetime | None
    added_at: datetime
    updated_at: datetime


def normalize_identifier(value: str) -> str:
    """Percent-unescape (RFC 3986), then trim leading and trailing whitespace."""
    return unquote(value).strip()


def equality_key(issuer_id: str, credential_id: str) -> str:
    """A fixed-length key that is equal exactly when the two credentials are equal."""
    joined = f"{normalize_identifier(issuer_id)}\x00{normalize_identifier(credential_id)}"
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def supersedes(new_valid_from: datetime | None, old_valid_from: datetime | None) -> bool:
    """Whether a new representation replaces the stored one (it is not older)."""
    if new_valid_from is None or old_valid_from is None:
        return True
    return new_valid_from >= old_valid_from


def default_profile(subject: str) -> dict[str, Any]:
    """The profile of a user who has not written one: their verified email address."""
    return {
        "@context": [OB_CONTEXT],
        "id": f"mailto:{subject}",
        "type": ["Profile"],
        "email": subject,
    }


def check_profile(profile: object) -> dict[str, Any]:
    """A Profile as the OB 3.0 API exchanges it: an object with an ``id`` and type Profile.

    The profile is the user's own assertion about themselves: credstack stores it as
    given and vouches for none of it (https://www.imsglobal.org/spec/ob/v3p0/#profile).
    """
    if not isinstance(profile, Mapping):
        raise Invalid("a Profile must be a JSON object")
    identifier = profile.get("id")
    if not isinstance(identifier, str) or ":" not in identifier.strip():
        raise Invalid("a Profile needs an id that is a URI")
    kinds = profile.get("type")
    listed = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(listed, list) or "Profile" not in listed:
        raise Invalid("a Profile's type must include 'Profile'")
    return dict(profile)
