"""Bulk jobs and their rows (``bulk_jobs``, ``bulk_rows``): the repository of
``services.bulk``.

Rows are the unit of exactly-once: a row is pending until it has an award id or an error,
and :meth:`BulkJobs.claim` hands pending rows to one runner at a time (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; on SQLite the claim takes the database write lock, which serialises
batches). Writes go in batches (one multi-row INSERT per chunk of rows and per batch of
awards, one executemany UPDATE per batch of marks) rather than one round trip a row.
Flushes at most; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CursorResult,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credstack.db.repositories import utc
from credstack.db.tables import AwardRow, Base, BulkJobRow, BulkRowRow
from credstack.domain.errors import Conflict
from credstack.domain.platform import AchievementId, Award, AwardId, OrgId
from credstack.services.bulk import ACTIVE, BatchOutcome, BulkJob, JobState, StoredRow

_ROWS = Base.metadata.tables["bulk_rows"]
_AWARDS = Base.metadata.tables["awards"]
#: Bound values per IN (...) list: well below SQLite's limit of 32,766 variables.
_IN_CHUNK = 1000
#: PostgreSQL: rows of a job after which the planner's statistics are refreshed.
_ANALYZE_AT = (500, 2_000, 8_000, 32_000, 128_000, 512_000, 2_048_000)
_PENDING = and_(BulkRowRow.award_id.is_(None), BulkRowRow.error.is_(None))
_UNFINISHED = (JobState.VALIDATED, JobState.QUEUED, JobState.RUNNING)


def _aware(value: datetime) -> datetime:
    result = utc(value)
    assert result is not None
    return result


def _record(row: BulkJobRow) -> BulkJob:
    return BulkJob(
        id=row.id,
        org_id=OrgId(row.org_id),
        achievement_id=AchievementId(row.achievement_id),
        filename=row.filename,
        file_sha256=row.file_sha256,
        state=JobState(row.state),
        created_at=_aware(row.created_at),
        total=row.total,
        done=row.done,
        failed=row.failed,
        existing=row.existing,
        finished_at=utc(row.finished_at),
        updated_at=utc(row.updated_at),
        report=dict(row.report) if row.report is not None else None,
        error=row.error,
    )


def _award_values(award: Award) -> dict[str, Any]:
    return {
        "id": award.id,
        "org_id": award.org_id,
        "achievement_id": award.achievement_id,
        "recipient": award.recipient,
        "recipient_kind": award.recipient_kind,
        "learner_name": award.learner_name,
        "document": award.document,
        "issued_at": award.issued_at,
        "valid_until": award.valid_until,
        "status_index": award.status_index,
        "revocation_list_id": award.revocation_list_id,
        "suspension_list_id": award.suspension_list_id,
        "idempotency_key": award.idempotency_key,
        "claim_token": award.claim_token,
        "revoked_at": award.revoked_at,
        "revocation_reason": award.revocation_reason,
        "suspended": award.suspended,
    }


def _count(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class BulkJobs:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._sqlite = session.get_bind().dialect.name == "sqlite"

    def add(self, job: BulkJob) -> None:
        self.session.execute(
            insert(BulkJobRow).values(
                id=job.id,
                org_id=job.org_id,
                achievement_id=job.achievement_id,
                filename=job.filename,
                file_sha256=job.file_sha256,
                state=str(job.state),
                total=job.total,
                done=job.done,
                failed=job.failed,
                existing=job.existing,
                created_at=job.created_at,
                finished_at=job.finished_at,
                updated_at=job.updated_at,
                report=job.report,
                error=job.error,
            )
        )

    def add_rows(self, job_id: str, rows: Sequence[StoredRow]) -> None:
        """One multi-row INSERT for the chunk (the caller chunks, e.g. by 1,000)."""
        if not rows:
            return
        self.session.execute(
            insert(_ROWS),
            [
                {
                    "job_id": job_id,
                    "number": row.number,
                    "data": row.data,
                    "fingerprint": row.fingerprint,
                    "award_id": None,
                    "error": None,
                }
                for row in rows
            ],
        )

    def set_totals(self, job_id: str, total: int, report: dict[str, Any]) -> None:
        self.session.execute(
            update(BulkJobRow)
            .where(BulkJobRow.id == job_id)
            .values(total=total, report=report)
            .execution_options(synchronize_session=False)
        )

    def discard(self, job_id: str) -> None:
        self.session.execute(delete(_ROWS).where(_ROWS.c.job_id == job_id))
        self.session.execute(
            delete(BulkJobRow)
            .where(BulkJobRow.id == job_id)
            .execution_options(synchronize_session=False)
        )

    def get(self, job_id: str) -> BulkJob | None:
        row = self.session.scalar(
            select(BulkJobRow)
            .where(BulkJobRow.id == job_id)
            .execution_options(populate_existing=True)
        )
        return _record(row) if row is not None else None

    def of(self, org_id: OrgId, *, limit: int = 50) -> list[BulkJob]:
        rows = self.session.scalars(
            select(BulkJobRow)
            .where(BulkJobRow.org_id == org_id)
            .order_by(BulkJobRow.created_at.desc(), BulkJobRow.id)
            .limit(limit)
        )
        return [_record(r) for r in rows]

    def unfinished(
        self, org_id: OrgId, achievement_id: AchievementId, file_sha256: str
    ) -> BulkJob | None:
        row = self.session.scalar(
            select(BulkJobRow)
            .where(
                BulkJobRow.org_id == org_id,
                BulkJobRow.achievement_id == achievement_id,
                BulkJobRow.file_sha256 == file_sha256,
                BulkJobRow.state.in_([str(s) for s in _UNFINISHED]),
            )
            .order_by(BulkJobRow.created_at.desc())
            .limit(1)
        )
        return _record(row) if row is not None else None

    def active(self, *, idle_before: datetime | None = None) -> list[BulkJob]:
        query = select(BulkJobRow).where(BulkJobRow.state.in_([str(s) for s in ACTIVE]))
        if idle_before is not None:
            query = query.where(
                (BulkJobRow.updated_at.is_(None)) | (BulkJobRow.updated_at < idle_before)
            )
        return [_record(r) for r in self.session.scalars(query.order_by(BulkJobRow.created_at))]

    def set_state(
        self,
        job_id: str,
        state: JobState,
        *,
        when: Collection[JobState],
        now: datetime,
        error: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"state": str(state), "updated_at": now}
        if state in (JobState.DONE, JobState.FAILED):
            values["finished_at"] = now
        if error is not None:
            values["error"] = error
        result = self.session.execute(
            update(BulkJobRow)
            .where(BulkJobRow.id == job_id, BulkJobRow.state.in_([str(s) for s in when]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return _count(result) == 1

    @property
    def parallel_writers(self) -> bool:
        return not self._sqlite

    def _lock_database(self, job_id: str, now: datetime) -> None:
        if self._sqlite:
            # A write first: it takes the database lock for the batch (waiting out another
            # runner's batch), so what follows sees its marks and savepoints nest.
            self.session.execute(
                update(BulkJobRow)
                .where(BulkJobRow.id == job_id)
                .values(updated_at=now)
                .execution_options(synchronize_session=False)
            )

    def _held(self, query: Any) -> list[StoredRow]:
        if not self._sqlite:
            query = query.with_for_update(skip_locked=True)
        return [
            StoredRow(number, fingerprint, dict(data))
            for number, fingerprint, data in self.session.execute(query)
        ]

    def claim(
        self, job_id: str, limit: int, now: datetime, *, after: int | None = None
    ) -> list[StoredRow]:
        self._lock_database(job_id, now)
        query = select(BulkRowRow.number, BulkRowRow.fingerprint, BulkRowRow.data).where(
            BulkRowRow.job_id == job_id, _PENDING
        )
        if after is not None:
            query = query.where(BulkRowRow.number > after)
        return self._held(query.order_by(BulkRowRow.number).limit(limit))

    def reclaim(self, job_id: str, numbers: Collection[int], now: datetime) -> list[StoredRow]:
        """The rows come back without their data: the caller has it from the claim."""
        self._lock_database(job_id, now)
        wanted = sorted(numbers)
        if not wanted:
            return []
        query = (
            select(BulkRowRow.number, BulkRowRow.fingerprint)
            .where(
                BulkRowRow.job_id == job_id,
                _PENDING,
                BulkRowRow.number >= wanted[0],
                BulkRowRow.number <= wanted[-1],
            )
            .order_by(BulkRowRow.number)
        )
        if not self._sqlite:
            query = query.with_for_update(skip_locked=True)
        chosen = set(wanted)
        return [
            StoredRow(number, fingerprint, {})
            for number, fingerprint in self.session.execute(query)
            if number in chosen
        ]

    def taken_indices(self, list_id: str, indices: Sequence[int]) -> set[int]:
        """The indices among ``indices`` that awards on the revocation list ``list_id`` hold."""
        found: set[int] = set()
        for start in range(0, len(indices), _IN_CHUNK):
            found.update(
                self.session.scalars(
                    select(AwardRow.status_index).where(
                        AwardRow.revocation_list_id == list_id,
                        AwardRow.status_index.in_(indices[start : start + _IN_CHUNK]),
                    )
                )
            )
        return found

    def add_awards(self, awards: Sequence[Award]) -> None:
        """One multi-row INSERT (executemany) for the batch; Conflict when a unique key
        (idempotency key, status index, claim token) is taken. Call it in a savepoint."""
        if not awards:
            return
        try:
            self.session.execute(insert(_AWARDS), [_award_values(a) for a in awards])
        except IntegrityError as exc:
            raise Conflict("an award of the batch collides with one already stored") from exc

    def pending(self, job_id: str) -> int:
        found = self.session.scalar(
            select(func.count())
            .select_from(BulkRowRow)
            .where(BulkRowRow.job_id == job_id, _PENDING)
        )
        return int(found or 0)

    def awards_by_key(self, org_id: OrgId, keys: Collection[str]) -> dict[str, AwardId]:
        if not keys:
            return {}
        rows = self.session.execute(
            select(AwardRow.idempotency_key, AwardRow.id).where(
                AwardRow.org_id == org_id, AwardRow.idempotency_key.in_(list(keys))
            )
        )
        return {key: AwardId(award_id) for key, award_id in rows if key is not None}

    def record(self, job_id: str, outcome: BatchOutcome, now: datetime) -> None:
        """Mark the batch's rows (one executemany each) and bump the job's counters."""
        marked = [*outcome.issued, *outcome.existing]
        if marked:
            self.session.execute(
                update(_ROWS)
                .where(_ROWS.c.job_id == bindparam("j"), _ROWS.c.number == bindparam("n"))
                .values(award_id=bindparam("a")),
                [{"j": job_id, "n": number, "a": award_id} for number, award_id in marked],
            )
        if outcome.failed:
            self.session.execute(
                update(_ROWS)
                .where(_ROWS.c.job_id == bindparam("j"), _ROWS.c.number == bindparam("n"))
                .values(error=bindparam("e")),
                [{"j": job_id, "n": number, "e": error} for number, error in outcome.failed],
            )
        settled = len(marked) + len(outcome.failed)
        statement = (
            update(BulkJobRow)
            .where(BulkJobRow.id == job_id)
            .values(
                done=BulkJobRow.done + len(marked),
                existing=BulkJobRow.existing + len(outcome.existing),
                failed=BulkJobRow.failed + len(outcome.failed),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if self._sqlite:
            self.session.execute(statement)
            return
        after = self.session.scalar(statement.returning(BulkJobRow.done + BulkJobRow.failed))
        if after is not None and any(after - settled < at <= after for at in _ANALYZE_AT):
            self._analyze()

    def _analyze(self) -> None:
        """PostgreSQL: refresh the planner's statistics of the tables a job grows.

        A job can take ``awards`` from empty to 100,000 rows in a minute, faster than
        autovacuum looks; a statement prepared while the table looked empty keeps a plan
        that scans it whole (each batch's ``IN`` of 1,000 keys against every row). ANALYZE
        replaces the statistics and invalidates such plans.
        """
        self.session.execute(text("ANALYZE awards, bulk_rows, outbox"))

    def finish(self, job_id: str, now: datetime) -> bool:
        left = exists().where(BulkRowRow.job_id == job_id, _PENDING)
        result = self.session.execute(
            update(BulkJobRow)
            .where(
                BulkJobRow.id == job_id,
                BulkJobRow.state == str(JobState.RUNNING),
                ~left,
            )
            .values(state=str(JobState.DONE), finished_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return _count(result) == 1

    def failures(self, job_id: str, *, limit: int = 1000) -> list[tuple[int, str]]:
        rows = self.session.execute(
            select(BulkRowRow.number, BulkRowRow.error)
            .where(BulkRowRow.job_id == job_id, BulkRowRow.error.is_not(None))
            .order_by(BulkRowRow.number)
            .limit(limit)
        )
        return [(number, error or "") for number, error in rows]

    def award_ids(self, job_id: str) -> list[tuple[int, AwardId]]:
        """(row number, award id) of the rows issued so far, in row order."""
        rows = self.session.execute(
            select(BulkRowRow.number, BulkRowRow.award_id)
            .where(BulkRowRow.job_id == job_id, BulkRowRow.award_id.is_not(None))
            .order_by(BulkRowRow.number)
        )
        return [(number, AwardId(award_id or "")) for number, award_id in rows]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.session.begin_nested():
            yield
