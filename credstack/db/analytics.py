"""Reports of one organization (``domain.ports.AnalyticsRepository``) for the issuer console.

Every count is computed by the database with portable SQL (``CASE`` sums, ``GROUP BY``,
``MIN``), so the same queries run on SQLite and PostgreSQL; no backend's date functions.
Long ``IN`` lists are sent in chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, Final

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from credstack.db.repositories import Awards, _utc
from credstack.db.stacking import _pathway
from credstack.db.tables import (
    AchievementRow,
    AwardRow,
    EnrollmentRow,
    PathwayRow,
    StackAwardRow,
)
from credstack.domain.platform import Award, OrgId
from credstack.domain.stack_records import PathwayVersion, StackState

CHUNK: Final = 500


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _int(value: Any) -> int:
    return int(value or 0)


class Analytics:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _credentials(self, org_id: OrgId) -> list[Any]:
        return [AwardRow.org_id == org_id, AwardRow.achievement_id.is_not(None)]

    def awards_per_period(self, org_id: OrgId, edges: Sequence[datetime]) -> list[int]:
        if len(edges) < 2:
            return []
        bounds = [_as_utc(e) for e in edges]
        issued = AwardRow.issued_at
        sums = [
            func.sum(case((and_(issued >= start, issued < end), 1), else_=0))
            for start, end in pairwise(bounds)
        ]
        query = select(*sums).where(
            *self._credentials(org_id), issued >= bounds[0], issued < bounds[-1]
        )
        row = self.session.execute(query).one()
        return [_int(value) for value in row]

    def learner_counts(self, org_id: OrgId) -> tuple[int, int]:
        per_learner = (
            select(AwardRow.recipient, func.count().label("held"))
            .where(*self._credentials(org_id), AwardRow.revoked_at.is_(None))
            .group_by(AwardRow.recipient)
            .subquery()
        )
        query = select(
            func.count(), func.sum(case((per_learner.c.held >= 2, 1), else_=0))
        ).select_from(per_learner)
        one, two = self.session.execute(query).one()
        return _int(one), _int(two)

    def expiring(self, org_id: OrgId, now: datetime, horizons: Sequence[datetime]) -> list[int]:
        if not horizons:
            return []
        ends = [_as_utc(h) for h in horizons]
        until = AwardRow.valid_until
        sums = [func.sum(case((until <= end, 1), else_=0)) for end in ends]
        query = select(*sums).where(
            *self._credentials(org_id),
            AwardRow.revoked_at.is_(None),
            until > _as_utc(now),
            until <= max(ends),
        )
        return [_int(value) for value in self.session.execute(query).one()]

    def enrolled(self, iri: str) -> int:
        query = select(func.count()).where(EnrollmentRow.pathway_iri == iri)
        return _int(self.session.scalar(query))

    def milestones_met(self, iri: str) -> dict[str, int]:
        query = (
            select(StackAwardRow.milestone, func.count())
            .where(
                StackAwardRow.pathway_iri == iri,
                StackAwardRow.state == StackState.ACTIVE.value,
            )
            .group_by(StackAwardRow.milestone)
        )
        return {milestone: _int(n) for milestone, n in self.session.execute(query)}

    def completions(self, iri: str, milestone: str) -> list[tuple[str, datetime]]:
        query = (
            select(StackAwardRow.learner, AwardRow.issued_at)
            .join(AwardRow, AwardRow.id == StackAwardRow.award_id)
            .where(
                StackAwardRow.pathway_iri == iri,
                StackAwardRow.milestone == milestone,
                StackAwardRow.state == StackState.ACTIVE.value,
            )
            .order_by(StackAwardRow.learner)
        )
        return [(learner, _utc(at)) for learner, at in self.session.execute(query)]

    def first_credentials(
        self, org_id: OrgId, keys: Sequence[str], learners: Sequence[str]
    ) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        wanted = sorted(set(learners))
        if not keys or not wanted:
            return found
        for start in range(0, len(wanted), CHUNK):
            query = (
                select(AwardRow.recipient, func.min(AwardRow.issued_at))
                .join(AchievementRow, AchievementRow.id == AwardRow.achievement_id)
                .where(
                    AchievementRow.org_id == org_id,
                    AchievementRow.key.in_(sorted(set(keys))),
                    AwardRow.recipient.in_(wanted[start : start + CHUNK]),
                )
                .group_by(AwardRow.recipient)
            )
            for learner, first in self.session.execute(query):
                if first is not None:
                    found[learner] = _utc(first)
        return found

    def pathway_versions(self, org_id: OrgId) -> list[PathwayVersion]:
        rows = self.session.scalars(
            select(PathwayRow)
            .where(PathwayRow.org_id == org_id)
            .order_by(PathwayRow.name, PathwayRow.iri, PathwayRow.version)
        )
        return [_pathway(row) for row in rows]

    def recent_awards(self, org_id: OrgId, *, limit: int, offset: int = 0) -> list[Award]:
        rows = self.session.scalars(
            select(AwardRow)
            .where(AwardRow.org_id == org_id)
            .order_by(AwardRow.issued_at.desc(), AwardRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [Awards._record(row) for row in rows]
