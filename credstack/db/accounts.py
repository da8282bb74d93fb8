"""Storage of web accounts: users, sessions, emailed tokens, failed sign-ins and claims.

Implements :class:`credstack.domain.accounts.AccountRepository` over one SQLAlchemy
session; it flushes, never commits (the request owns the transaction).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from credstack.db.repositories import Awards, _flush, utc
from credstack.db.tables import (
    AccountTokenRow,
    AwardRow,
    CredentialClaimRow,
    LoginFailureRow,
    OrganizationRow,
    StaffRow,
    UserRow,
    WebSessionRow,
)
from credstack.domain.accounts import (
    AccountToken,
    Claim,
    Membership,
    TokenPurpose,
    User,
    UserId,
    WebSession,
)
from credstack.domain.platform import Award, AwardId, OrgId, Role


def _at(value: datetime) -> datetime:
    found = utc(value)
    assert found is not None
    return found


class AccountStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- users

    @staticmethod
    def _user(row: UserRow) -> User:
        return User(
            id=UserId(row.id),
            email=row.email,
            password_hash=row.password_hash,
            created_at=_at(row.created_at),
            email_verified_at=utc(row.email_verified_at),
            did=row.did,
        )

    def add_user(self, user: User) -> None:
        self.session.add(
            UserRow(
                id=user.id,
                email=user.email,
                password_hash=user.password_hash,
                created_at=user.created_at,
                email_verified_at=user.email_verified_at,
                did=user.did,
            )
        )
        _flush(self.session, f"an account for {user.email!r}")

    def user(self, user_id: UserId) -> User | None:
        row = self.session.get(UserRow, user_id, populate_existing=True)
        return self._user(row) if row else None

    def user_by_email(self, email: str) -> User | None:
        row = self.session.scalar(select(UserRow).where(UserRow.email == email))
        return self._user(row) if row else None

    def _set(self, user_id: UserId, **values: Any) -> None:
        self.session.execute(update(UserRow).where(UserRow.id == user_id).values(**values))

    def set_password(self, user_id: UserId, password_hash: str) -> None:
        self._set(user_id, password_hash=password_hash)

    def mark_verified(self, user_id: UserId, at: datetime) -> None:
        self._set(user_id, email_verified_at=at)

    def set_did(self, user_id: UserId, did: str | None) -> None:
        self._set(user_id, did=did)

    # --- emailed tokens

    def add_token(self, token: AccountToken) -> None:
        self.session.add(
            AccountTokenRow(
                token_hash=token.token_hash,
                user_id=token.user_id,
                purpose=token.purpose.value,
                email=token.email,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
            )
        )
        self.session.flush()

    def token(self, token_hash: str) -> AccountToken | None:
        row = self.session.get(AccountTokenRow, token_hash, populate_existing=True)
        if row is None:
            return None
        return AccountToken(
            token_hash=row.token_hash,
            user_id=UserId(row.user_id),
            purpose=TokenPurpose(row.purpose),
            email=row.email,
            created_at=_at(row.created_at),
            expires_at=_at(row.expires_at),
            used_at=utc(row.used_at),
        )

    def use_token(self, token_hash: str, at: datetime) -> bool:
        result = self.session.execute(
            update(AccountTokenRow)
            .where(AccountTokenRow.token_hash == token_hash, AccountTokenRow.used_at.is_(None))
            .values(used_at=at)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    def tokens_since(self, user_id: UserId, purpose: TokenPurpose, since: datetime) -> int:
        found = self.session.scalar(
            select(func.count()).where(
                AccountTokenRow.user_id == user_id,
                AccountTokenRow.purpose == purpose.value,
                AccountTokenRow.created_at >= since,
            )
        )
        return int(found or 0)

    # --- sessions

    def add_session(self, session: WebSession) -> None:
        self.session.add(
            WebSessionRow(
                id_hash=session.id_hash,
                user_id=session.user_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )
        self.session.flush()

    def find_session(self, id_hash: str) -> WebSession | None:
        row = self.session.get(WebSessionRow, id_hash)
        if row is None:
            return None
        return WebSession(
            row.id_hash, UserId(row.user_id), _at(row.created_at), _at(row.expires_at)
        )

    def delete_session(self, id_hash: str) -> None:
        self.session.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == id_hash))

    def delete_sessions_of(self, user_id: UserId) -> None:
        self.session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))

    # --- failed sign-ins

    def add_failure(self, key: str, at: datetime) -> None:
        self.session.add(LoginFailureRow(id=str(uuid.uuid4()), key=key, at=at))
        self.session.flush()

    def failures_since(self, key: str, since: datetime) -> int:
        found = self.session.scalar(
            select(func.count()).where(LoginFailureRow.key == key, LoginFailureRow.at >= since)
        )
        return int(found or 0)

    def clear_failures(self, key: str) -> None:
        self.session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))

    def prune(self, keys: Sequence[str], user_id: UserId | None, before: datetime) -> None:
        if keys:
            self.session.execute(
                delete(LoginFailureRow).where(
                    LoginFailureRow.key.in_(list(keys)), LoginFailureRow.at < before
                )
            )
        if user_id is not None:
            self.session.execute(
                delete(WebSessionRow).where(
                    WebSessionRow.user_id == user_id, WebSessionRow.expires_at < before
                )
            )

    # --- roles and claims

    def memberships(self, email: str) -> list[Membership]:
        rows = self.session.execute(
            select(StaffRow.role, OrganizationRow.id, OrganizationRow.slug, OrganizationRow.name)
            .join(OrganizationRow, OrganizationRow.id == StaffRow.org_id)
            .where(func.lower(StaffRow.email) == email.lower())
        )
        return [
            Membership(OrgId(org_id), slug, name, Role(role)) for role, org_id, slug, name in rows
        ]

    def awards_for_email(self, email: str) -> list[Award]:
        rows = self.session.scalars(
            select(AwardRow).where(AwardRow.recipient_kind == "email", AwardRow.recipient == email)
        )
        return [Awards._record(row) for row in rows]

    def award_by_claim_token(self, claim_token: str) -> Award | None:
        row = self.session.scalar(select(AwardRow).where(AwardRow.claim_token == claim_token))
        return Awards._record(row) if row else None

    def add_claim(self, award_id: AwardId, user_id: UserId, at: datetime) -> None:
        self.session.add(CredentialClaimRow(award_id=award_id, user_id=user_id, claimed_at=at))
        _flush(self.session, "a claim of this credential")

    def claimant(self, award_id: AwardId) -> UserId | None:
        row = self.session.get(CredentialClaimRow, award_id)
        return UserId(row.user_id) if row else None

    def claims_of(self, user_id: UserId) -> list[Claim]:
        rows = self.session.execute(
            select(AwardRow, CredentialClaimRow.claimed_at)
            .join(CredentialClaimRow, CredentialClaimRow.award_id == AwardRow.id)
            .where(CredentialClaimRow.user_id == user_id)
            .order_by(CredentialClaimRow.claimed_at.desc(), AwardRow.id)
        )
        return [Claim(Awards._record(award), _at(at)) for award, at in rows]
