"""Repositories: every query lives here; they map rows to domain records and back.

They flush at most; the entrypoint (a request, a CLI command, a job) commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credstack.db.tables import (
    AchievementRow,
    ApiTokenRow,
    AwardRow,
    OrganizationRow,
    SigningKeyRow,
    StaffRow,
    StatusListRow,
)
from credstack.domain.errors import Conflict
from credstack.domain.platform import (
    AchievementId,
    AchievementVersion,
    ApiToken,
    Award,
    AwardId,
    Organization,
    OrgId,
    Role,
    StaffMember,
    StatusListState,
    StatusPurpose,
    StoredKey,
)
from credstack.services.platform import Platform


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    result = utc(value)
    assert result is not None
    return result


def _flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} already exists") from exc


class Organizations:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _record(row: OrganizationRow) -> Organization:
        return Organization(
            OrgId(row.id),
            row.slug,
            row.name,
            _utc(row.created_at),
            row.url,
            row.email,
            row.description,
        )

    def add(self, org: Organization) -> None:
        if self.by_slug(org.slug) is not None:
            raise Conflict(f"an organization with slug {org.slug!r} already exists")
        self.session.add(OrganizationRow(**asdict(org)))
        _flush(self.session, f"organization {org.slug!r}")

    def get(self, org_id: OrgId) -> Organization | None:
        row = self.session.get(OrganizationRow, org_id)
        return self._record(row) if row else None

    def by_slug(self, slug: str) -> Organization | None:
        row = self.session.scalar(select(OrganizationRow).where(OrganizationRow.slug == slug))
        return self._record(row) if row else None

    def all(self) -> list[Organization]:
        rows = self.session.scalars(select(OrganizationRow).order_by(OrganizationRow.slug))
        return [self._record(r) for r in rows]

    def update(self, org: Organization) -> None:
        row = self.session.get(OrganizationRow, org.id)
        if row is None:
            raise Conflict(f"organization {org.slug!r} vanished")
        row.name, row.url, row.email, row.description = (
            org.name,
            org.url,
            org.email,
            org.description,
        )
        self.session.flush()

    def add_staff(self, member: StaffMember) -> None:
        existing = self.session.get(StaffRow, (member.org_id, member.email))
        if existing is not None:
            existing.role = member.role
        else:
            self.session.add(StaffRow(org_id=member.org_id, email=member.email, role=member.role))
        self.session.flush()

    def staff(self, org_id: OrgId) -> list[StaffMember]:
        rows = self.session.scalars(select(StaffRow).where(StaffRow.org_id == org_id))
        return [StaffMember(OrgId(r.org_id), r.email, Role(r.role)) for r in rows]


class Keys:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, key: StoredKey) -> None:
        self.session.add(SigningKeyRow(**asdict(key)))
        self.session.flush()

    def of(self, org_id: OrgId) -> list[StoredKey]:
        rows = self.session.scalars(
            select(SigningKeyRow)
            .where(SigningKeyRow.org_id == org_id)
            .order_by(SigningKeyRow.created_at)
        )
        return [
            StoredKey(
                r.id,
                OrgId(r.org_id),
                r.fragment,
                r.public_multibase,
                r.sealed_secret,
                _utc(r.created_at),
                r.active,
            )
            for r in rows
        ]

    def deactivate_all(self, org_id: OrgId) -> None:
        self.session.execute(
            update(SigningKeyRow).where(SigningKeyRow.org_id == org_id).values(active=False)
        )


class Achievements:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _record(row: AchievementRow) -> AchievementVersion:
        return AchievementVersion(
            AchievementId(row.id),
            OrgId(row.org_id),
            row.key,
            row.version,
            row.published,
            dict(row.definition),
            _utc(row.created_at),
            row.validity_days,
        )

    def add(self, achievement: AchievementVersion) -> None:
        self.session.add(AchievementRow(**asdict(achievement)))
        _flush(self.session, f"achievement {achievement.key!r} v{achievement.version}")

    def get(self, achievement_id: AchievementId) -> AchievementVersion | None:
        row = self.session.get(AchievementRow, achievement_id)
        return self._record(row) if row else None

    def latest(self, org_id: OrgId, key: str) -> AchievementVersion | None:
        row = self.session.scalar(
            select(AchievementRow)
            .where(AchievementRow.org_id == org_id, AchievementRow.key == key)
            .order_by(AchievementRow.version.desc())
            .limit(1)
        )
        return self._record(row) if row else None

    def of(self, org_id: OrgId) -> list[AchievementVersion]:
        rows = self.session.scalars(
            select(AchievementRow)
            .where(AchievementRow.org_id == org_id)
            .order_by(AchievementRow.key, AchievementRow.version)
        )
        return [self._record(r) for r in rows]

    def publish(self, achievement_id: AchievementId) -> None:
        self.session.execute(
            update(AchievementRow).where(AchievementRow.id == achievement_id).values(published=True)
        )


class Awards:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _record(row: AwardRow) -> Award:
        return Award(
            id=AwardId(row.id),
            org_id=OrgId(row.org_id),
            achievement_id=AchievementId(row.achievement_id) if row.achievement_id else None,
            recipient=row.recipient,
            recipient_kind=row.recipient_kind,
            document=row.document,
            issued_at=_utc(row.issued_at),
            status_index=row.status_index,
            revocation_list_id=row.revocation_list_id,
            suspension_list_id=row.suspension_list_id,
            valid_until=utc(row.valid_until),
            idempotency_key=row.idempotency_key,
            claim_token=row.claim_token,
            revoked_at=utc(row.revoked_at),
            revocation_reason=row.revocation_reason,
            suspended=row.suspended,
            learner_name=row.learner_name,
        )

    def add(self, award: Award) -> None:
        self.session.add(AwardRow(**asdict(award)))
        _flush(self.session, "an award with this idempotency key or status index")

    def get(self, award_id: AwardId) -> Award | None:
        row = self.session.get(AwardRow, award_id)
        return self._record(row) if row else None

    def by_idempotency_key(self, org_id: OrgId, key: str) -> Award | None:
        row = self.session.scalar(
            select(AwardRow).where(AwardRow.org_id == org_id, AwardRow.idempotency_key == key)
        )
        return self._record(row) if row else None

    def _query(self, org_id: OrgId, since: datetime | None) -> Any:
        query = select(AwardRow).where(AwardRow.org_id == org_id)
        return query.where(AwardRow.issued_at >= since) if since else query

    def of(
        self, org_id: OrgId, *, limit: int = 100, offset: int = 0, since: datetime | None = None
    ) -> list[Award]:
        query = self._query(org_id, since).order_by(AwardRow.issued_at, AwardRow.id)
        return [self._record(r) for r in self.session.scalars(query.limit(limit).offset(offset))]

    def count(self, org_id: OrgId, *, since: datetime | None = None) -> int:
        query = self._query(org_id, since).with_only_columns(func.count())
        return int(self.session.scalar(query) or 0)

    def for_recipient(self, org_id: OrgId, recipients: Sequence[str]) -> list[Award]:
        rows = self.session.scalars(
            select(AwardRow).where(
                AwardRow.org_id == org_id, AwardRow.recipient.in_(list(recipients))
            )
        )
        return [self._record(r) for r in rows]

    def set_revoked(self, award_id: AwardId, at: datetime, reason: str | None) -> None:
        self.session.execute(
            update(AwardRow)
            .where(AwardRow.id == award_id)
            .values(revoked_at=at, revocation_reason=reason)
        )

    def set_suspended(self, award_id: AwardId, suspended: bool) -> None:
        self.session.execute(
            update(AwardRow).where(AwardRow.id == award_id).values(suspended=suspended)
        )

    def index_taken(self, list_id: str, index: int) -> bool:
        found = self.session.scalar(
            select(AwardRow.id).where(
                AwardRow.revocation_list_id == list_id, AwardRow.status_index == index
            )
        )
        return found is not None

    def expiring(self, start: datetime, end: datetime) -> list[Award]:
        rows = self.session.scalars(
            select(AwardRow).where(
                AwardRow.valid_until >= start,
                AwardRow.valid_until < end,
                AwardRow.revoked_at.is_(None),
            )
        )
        return [self._record(r) for r in rows]


class StatusLists:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _record(row: StatusListRow) -> StatusListState:
        return StatusListState(
            row.id,
            OrgId(row.org_id),
            StatusPurpose(row.purpose),
            bytes(row.bits),
            row.version,
            _utc(row.updated_at),
            row.entries_used,
        )

    def add(self, state: StatusListState) -> None:
        self.session.add(StatusListRow(**asdict(state)))
        self.session.flush()

    def get(self, list_id: str) -> StatusListState | None:
        row = self.session.get(StatusListRow, list_id)
        return self._record(row) if row else None

    def lock(self, list_id: str) -> StatusListState | None:
        """Read a list for update, holding the lock until the transaction ends.

        The no-op UPDATE takes the row lock on PostgreSQL and the write lock on SQLite
        (whose driver starts a transaction only at the first write, so a plain read
        there would hold nothing and a concurrent change could be overwritten).
        """
        self.session.execute(
            update(StatusListRow)
            .where(StatusListRow.id == list_id)
            .values(version=StatusListRow.version)
        )
        row = self.session.scalar(
            select(StatusListRow)
            .where(StatusListRow.id == list_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self._record(row) if row else None

    def current(self, org_id: OrgId, purpose: StatusPurpose) -> StatusListState | None:
        row = self.session.scalar(
            select(StatusListRow)
            .where(StatusListRow.org_id == org_id, StatusListRow.purpose == purpose)
            .order_by(StatusListRow.updated_at.desc(), StatusListRow.id)
            .limit(1)
        )
        return self._record(row) if row else None

    def of(self, org_id: OrgId) -> list[StatusListState]:
        rows = self.session.scalars(select(StatusListRow).where(StatusListRow.org_id == org_id))
        return [self._record(r) for r in rows]

    def save(self, state: StatusListState) -> None:
        self.session.execute(
            update(StatusListRow)
            .where(StatusListRow.id == state.id)
            .values(
                bits=state.bits,
                version=state.version,
                updated_at=state.updated_at,
                entries_used=state.entries_used,
            )
        )


class Tokens:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: ApiToken, token_hash: str) -> None:
        self.session.add(
            ApiTokenRow(
                id=token.id,
                org_id=token.org_id,
                name=token.name,
                token_hash=token_hash,
                scopes=" ".join(sorted(token.scopes)),
                created_at=token.created_at,
                revoked_at=token.revoked_at,
            )
        )
        self.session.flush()

    def by_hash(self, token_hash: str) -> ApiToken | None:
        row = self.session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))
        if row is None:
            return None
        return ApiToken(
            row.id,
            OrgId(row.org_id),
            row.name,
            frozenset(row.scopes.split()),
            _utc(row.created_at),
            utc(row.revoked_at),
        )

    def revoke(self, token_id: str, at: datetime) -> None:
        self.session.execute(
            update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(revoked_at=at)
        )


class Repositories:
    """Every repository over one session (one unit of work)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.orgs = Organizations(session)
        self.keys = Keys(session)
        self.achievements = Achievements(session)
        self.awards = Awards(session)
        self.status_lists = StatusLists(session)
        self.tokens = Tokens(session)


def platform_for(session: Session, *, base_url: str, secret: bytes, **world: Any) -> Platform:
    """The services' Platform over one session's repositories (``world``: clock, rng,
    remote resolvers, outbox)."""
    from credstack.db.stacking import Stacking  # noqa: PLC0415 - it imports this module
    from credstack.services import stacking  # noqa: PLC0415 - keeps start-up light

    repos = Repositories(session)
    world.setdefault("stacking", Stacking(session))
    world.setdefault("on_change", stacking.react)
    return Platform(
        orgs=repos.orgs,
        keys=repos.keys,
        achievements=repos.achievements,
        awards=repos.awards,
        status_lists=repos.status_lists,
        tokens=repos.tokens,
        base_url=base_url,
        secret=secret,
        **world,
    )
