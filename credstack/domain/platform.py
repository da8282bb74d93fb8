"""Records of the issuing platform: organizations, keys, achievements, awards, lists.

Plain frozen dataclasses; the db adapter maps its rows to and from them
(see ``credstack.domain.ports``). Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NewType

OrgId = NewType("OrgId", str)
AwardId = NewType("AwardId", str)
AchievementId = NewType("AchievementId", str)


class Role(StrEnum):
    OWNER = "owner"
    ISSUER = "issuer"
    VIEWER = "viewer"


class Scope(StrEnum):
    """Scopes of admin API tokens (least privilege: ask only for what a client needs)."""

    ORG_READ = "org:read"
    ORG_WRITE = "org:write"
    ACHIEVEMENTS_WRITE = "achievements:write"
    AWARDS_READ = "awards:read"
    AWARDS_ISSUE = "awards:issue"
    STATUS_WRITE = "status:write"
    BULK = "bulk:issue"
    PATHWAYS_WRITE = "pathways:write"


ALL_SCOPES = frozenset(Scope)
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.OWNER: ALL_SCOPES,
    Role.ISSUER: frozenset(ALL_SCOPES - {Scope.ORG_WRITE}),
    Role.VIEWER: frozenset({Scope.ORG_READ, Scope.AWARDS_READ}),
}


class StatusPurpose(StrEnum):
    REVOCATION = "revocation"
    SUSPENSION = "suspension"


@dataclass(frozen=True, slots=True)
class Organization:
    id: OrgId
    slug: str
    name: str
    created_at: datetime
    url: str | None = None
    email: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class StaffMember:
    org_id: OrgId
    email: str
    role: Role


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A signing key of an organization; the secret is sealed (AES-GCM) at rest."""

    id: str
    org_id: OrgId
    fragment: str
    public_multibase: str
    sealed_secret: bytes
    created_at: datetime
    active: bool = True


@dataclass(frozen=True, slots=True)
class AchievementVersion:
    """One version of a credential definition; a published version never changes."""

    id: AchievementId
    org_id: OrgId
    key: str
    version: int
    published: bool
    definition: dict[str, Any]
    created_at: datetime
    validity_days: int | None = None


@dataclass(frozen=True, slots=True)
class Award:
    """An issued credential; ``document`` is the credential exactly as signed."""

    id: AwardId
    org_id: OrgId
    achievement_id: AchievementId | None
    recipient: str
    recipient_kind: str
    document: str
    issued_at: datetime
    status_index: int
    revocation_list_id: str
    suspension_list_id: str
    valid_until: datetime | None = None
    idempotency_key: str | None = None
    claim_token: str | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    suspended: bool = False
    learner_name: str | None = None


@dataclass(frozen=True, slots=True)
class StatusListState:
    id: str
    org_id: OrgId
    purpose: StatusPurpose
    bits: bytes
    version: int
    updated_at: datetime
    entries_used: int = field(default=0)


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    org_id: OrgId
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None = None
