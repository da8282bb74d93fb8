"""Storage of the OB 3.0 API's OAuth 2.0 server: registered clients and grants.

Secrets never reach the database: client secrets, sign-in codes, authorization codes and
tokens are stored as SHA-256 (or HMAC) hex digests in ``value_hash``. Spending a code or
a refresh token is one conditional UPDATE (``claim``), so that two concurrent requests
cannot both spend it. The web layer (``credstack.web.oauth``) maps these records to
authlib's models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from credstack.db.repositories import utc
from credstack.db.tables import OAuthClientRow, OAuthGrantRow


@dataclass(frozen=True, slots=True)
class ClientRecord:
    client_id: str
    secret_hash: str
    metadata: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """A sign-in code (``login``), authorization ``code``, ``access`` or ``refresh`` token."""

    id: str
    kind: str
    value_hash: str
    client_id: str
    subject: str | None
    scope: str
    expires_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    family_id: str | None = None


def _record(row: OAuthGrantRow) -> GrantRecord:
    expires = utc(row.expires_at)
    assert expires is not None
    return GrantRecord(
        id=row.id,
        kind=row.kind,
        value_hash=row.value_hash,
        client_id=row.client_id,
        subject=row.subject,
        scope=row.scope,
        expires_at=expires,
        data=dict(row.data or {}),
        used_at=utc(row.used_at),
        revoked_at=utc(row.revoked_at),
        family_id=row.family_id,
    )


class OAuthStore:
    """Every query of the OAuth server; flushes at most (the request commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_client(self, client: ClientRecord) -> None:
        self.session.add(
            OAuthClientRow(
                client_id=client.client_id,
                secret_hash=client.secret_hash,
                metadata_json=client.metadata,
                created_at=client.created_at,
            )
        )
        self.session.flush()

    def client(self, client_id: str) -> ClientRecord | None:
        row = self.session.get(OAuthClientRow, client_id)
        if row is None:
            return None
        created = utc(row.created_at)
        assert created is not None
        return ClientRecord(row.client_id, row.secret_hash, dict(row.metadata_json), created)

    def add_grant(self, grant: GrantRecord) -> None:
        self.session.add(
            OAuthGrantRow(
                id=grant.id,
                kind=grant.kind,
                value_hash=grant.value_hash,
                client_id=grant.client_id,
                subject=grant.subject,
                scope=grant.scope,
                data=grant.data or None,
                expires_at=grant.expires_at,
                used_at=grant.used_at,
                revoked_at=grant.revoked_at,
                family_id=grant.family_id,
            )
        )
        self.session.flush()

    def grant(self, grant_id: str) -> GrantRecord | None:
        row = self.session.get(OAuthGrantRow, grant_id)
        return _record(row) if row is not None else None

    def by_hash(self, kinds: Iterable[str], value_hash: str) -> GrantRecord | None:
        row = self.session.scalar(
            select(OAuthGrantRow).where(
                OAuthGrantRow.value_hash == value_hash, OAuthGrantRow.kind.in_(list(kinds))
            )
        )
        return _record(row) if row is not None else None

    def claim(self, grant_id: str, at: datetime) -> bool:
        """Spend a code or token once: True for the one caller that marked it used."""
        result = self.session.execute(
            update(OAuthGrantRow)
            .where(
                OAuthGrantRow.id == grant_id,
                OAuthGrantRow.used_at.is_(None),
                OAuthGrantRow.revoked_at.is_(None),
            )
            .values(used_at=at)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    def set_data(self, grant_id: str, data: dict[str, Any]) -> None:
        self.session.execute(
            update(OAuthGrantRow).where(OAuthGrantRow.id == grant_id).values(data=data)
        )

    def revoke(self, grant_id: str, at: datetime) -> None:
        self.session.execute(
            update(OAuthGrantRow)
            .where(OAuthGrantRow.id == grant_id, OAuthGrantRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    def revoke_family(self, family_id: str, at: datetime) -> None:
        """Revoke every token issued under one authorization (code replay, refresh reuse)."""
        self.session.execute(
            update(OAuthGrantRow)
            .where(OAuthGrantRow.family_id == family_id, OAuthGrantRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    def active(self, kind: str, subject: str, now: datetime) -> int:
        """How many unexpired, unspent grants of ``kind`` a subject has (rate limits)."""
        query = select(func.count()).where(
            OAuthGrantRow.subject == subject,
            OAuthGrantRow.kind == kind,
            OAuthGrantRow.expires_at > now,
            OAuthGrantRow.used_at.is_(None),
        )
        return int(self.session.scalar(query) or 0)
