"""Bulk issuing: validate an upload into a job, then issue its rows in batches, resumably.

1. :func:`prepare` reads and validates the upload (``domain.bulk``). A file with errors
   gets its report and nothing else; a clean file (warnings allowed) becomes a job in state
   ``validated`` with its valid rows stored. Nothing is issued.
2. :func:`start` moves the job to ``queued``; the composition root then hands it to a
   runner (a procrastinate worker on PostgreSQL, a thread or the foreground on SQLite).
3. :func:`run` issues the rows in batches, each batch in its own unit of work: claim the
   next pending rows, issue each through ``awards.issue_award``, mark the rows and bump the
   counters, commit. States: validated -> queued -> running -> done | failed.

Exactly once. A row's award and the row's mark are written in the same transaction, so a
killed runner loses at most the batch in flight, and that batch is redone. On top of that,
each row is issued with the idempotency key :func:`idempotency_key` (the achievement
version and the row's fingerprint), so a resumed job, a second runner or a re-upload of the
same file finds the award already made instead of issuing again. Several runners may work
on one job at once: claiming skips rows another runner holds (PostgreSQL) or waits for it
(SQLite serialises writers).

A job ends ``done`` when every row is either issued (or found issued) or failed; rows that
failed keep their error (:meth:`BulkJobRepository.failures`) and are retried by uploading
the file again. ``failed`` is for a job that cannot go on at all (its achievement or
signing key is gone) or crashed; :attr:`BulkJob.error` says why.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice
from typing import Any, Final, Protocol

from credstack.domain.bulk import BulkRow, RecipientSpec, RowError, read_table, validate_stream
from credstack.domain.errors import Conflict, CredstackError, Invalid, NotFound
from credstack.domain.platform import (
    AchievementId,
    AchievementVersion,
    AwardId,
    Organization,
    OrgId,
)
from credstack.services import awards
from credstack.services.organizations import Issuer
from credstack.services.platform import Platform

BATCH_SIZE: Final = 100
INSERT_BATCH: Final = 1000
#: Tries per row when storing collides (a status index taken, a concurrent runner's award).
ATTEMPTS: Final = 3
MAX_FILENAME: Final = 300


class JobState(StrEnum):
    VALIDATED = "validated"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE: Final = frozenset({JobState.QUEUED, JobState.RUNNING})
FINISHED: Final = frozenset({JobState.DONE, JobState.FAILED})


@dataclass(frozen=True, slots=True)
class BulkJob:
    """A bulk issuing job. ``done`` counts rows with an award, ``existing`` those of them
    whose award was there before the job got to them (a re-run); ``failed`` rows have an
    error."""

    id: str
    org_id: OrgId
    achievement_id: AchievementId
    filename: str
    file_sha256: str
    state: JobState
    created_at: datetime
    total: int = 0
    done: int = 0
    failed: int = 0
    existing: int = 0
    finished_at: datetime | None = None
    updated_at: datetime | None = None
    report: dict[str, Any] | None = None
    error: str | None = None

    @property
    def issued(self) -> int:
        return self.done - self.existing

    @property
    def pending(self) -> int:
        return max(self.total - self.done - self.failed, 0)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": str(self.state),
            "filename": self.filename,
            "achievementId": self.achievement_id,
            "total": self.total,
            "processed": self.done + self.failed,
            "issued": self.issued,
            "alreadyIssued": self.existing,
            "failed": self.failed,
            "pending": self.pending,
            "progress": round((self.done + self.failed) / self.total, 4) if self.total else 1.0,
            "createdAt": self.created_at.isoformat(),
            "updatedAt": self.updated_at.isoformat() if self.updated_at else None,
            "finishedAt": self.finished_at.isoformat() if self.finished_at else None,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A validated row as stored with its job: ``data`` is :func:`row_json`."""

    number: int
    fingerprint: str
    data: dict[str, Any]


@dataclass(slots=True)
class BatchOutcome:
    issued: list[tuple[int, AwardId]] = field(default_factory=list)
    existing: list[tuple[int, AwardId]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


class BulkJobRepository(Protocol):
    """Storage of jobs and their rows (``credstack.db.bulk_jobs``); flushes at most."""

    def add(self, job: BulkJob) -> None: ...
    def add_rows(self, job_id: str, rows: Sequence[StoredRow]) -> None: ...
    def get(self, job_id: str) -> BulkJob | None: ...
    def of(self, org_id: OrgId, *, limit: int = 50) -> list[BulkJob]: ...
    def unfinished(
        self, org_id: OrgId, achievement_id: AchievementId, file_sha256: str
    ) -> BulkJob | None: ...
    def active(self, *, idle_before: datetime | None = None) -> list[BulkJob]: ...
    def set_state(
        self,
        job_id: str,
        state: JobState,
        *,
        when: Collection[JobState],
        now: datetime,
        error: str | None = None,
    ) -> bool: ...
    def claim(self, job_id: str, limit: int, now: datetime) -> list[StoredRow]:
        """The next ``limit`` pending rows, held until the unit of work ends.

        The first statement of a batch: on SQLite it takes the write lock (so that the
        batch's savepoints nest); on PostgreSQL it skips rows another runner holds.
        """
        ...

    def pending(self, job_id: str) -> int: ...
    def awards_by_key(self, org_id: OrgId, keys: Collection[str]) -> dict[str, AwardId]: ...
    def record(self, job_id: str, outcome: BatchOutcome, now: datetime) -> None: ...
    def finish(self, job_id: str, now: datetime) -> bool:
        """``running`` -> ``done`` if no row is pending; False otherwise."""
        ...

    def failures(self, job_id: str, *, limit: int = 1000) -> list[tuple[int, str]]: ...
    def savepoint(self) -> AbstractContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class BulkUnit:
    """One unit of work: a platform and the job repository over the same transaction."""

    platform: Platform
    jobs: BulkJobRepository


#: Opens a fresh unit of work; committed when the block ends, rolled back on an error.
UnitOfWork = Callable[[], AbstractContextManager[BulkUnit]]


# -- rows ----------------------------------------------------------------------------------


def idempotency_key(achievement_id: str, fingerprint: str) -> str:
    """``bulk:{achievement version id}:{row fingerprint}``.

    The fingerprint names neither the issuer nor the achievement: awards are unique per
    organization and key, and the achievement version scopes it further, so the same
    recipients list may be issued for two achievements.
    """
    return f"bulk:{achievement_id}:{fingerprint}"


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a date-time")
    return datetime.fromisoformat(value).astimezone(UTC)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{value!r} is not text")


def row_json(row: BulkRow) -> dict[str, Any]:
    """A row as JSON for storage (blank fields left out, instants as UTC ISO 8601)."""
    values: dict[str, Any] = {
        "kind": row.recipient.kind,
        "recipient": row.recipient.value,
        "name": row.name,
        "valid_from": _instant(row.valid_from),
        "valid_until": _instant(row.valid_until),
        "awarded_date": _instant(row.awarded_date),
        "activity_start": _instant(row.activity_start),
        "activity_end": _instant(row.activity_end),
        "credits_earned": row.credits_earned,
        "evidence_url": row.evidence_url,
        "evidence_narrative": row.evidence_narrative,
        "result": row.result,
        "narrative": row.narrative,
    }
    return {key: value for key, value in values.items() if value is not None}


def row_from_json(number: int, data: dict[str, Any]) -> BulkRow:
    """The row back from :func:`row_json` (its fingerprint is unchanged)."""
    try:
        credits = data.get("credits_earned")
        if credits is not None and not isinstance(credits, int | float):
            raise TypeError(f"{credits!r} is not a number")
        return BulkRow(
            number=number,
            recipient=RecipientSpec(data["kind"], data["recipient"]),
            name=_text(data.get("name")),
            valid_from=_moment(data.get("valid_from")),
            valid_until=_moment(data.get("valid_until")),
            awarded_date=_moment(data.get("awarded_date")),
            activity_start=_moment(data.get("activity_start")),
            activity_end=_moment(data.get("activity_end")),
            credits_earned=None if credits is None else float(credits),
            evidence_url=_text(data.get("evidence_url")),
            evidence_narrative=_text(data.get("evidence_narrative")),
            result=_text(data.get("result")),
            narrative=_text(data.get("narrative")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"the stored data of row {number} is unreadable: {exc}") from None


def award_request(row: BulkRow, key: str) -> awards.AwardRequest:
    """What ``issue_award`` gets for a row. (``narrative`` has no place in an
    AwardRequest yet: it is validated and stored, but not issued.)"""
    email = row.recipient.value if row.recipient.kind == "email" else None
    did = row.recipient.value if row.recipient.kind == "did" else None
    return awards.AwardRequest(
        recipient_email=email,
        recipient_did=did,
        learner_name=row.name,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        awarded_date=row.awarded_date,
        activity_start=row.activity_start,
        activity_end=row.activity_end,
        credits_earned=row.credits_earned,
        evidence=row.evidence(),
        results=row.results(),
        idempotency_key=key,
    )


# -- prepare and start ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """The validation report of an upload and, when it had no errors, its job."""

    filename: str
    total: int
    valid: int
    errors: tuple[RowError, ...]
    warnings: tuple[RowError, ...]
    omitted: int
    job: BulkJob | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def report_json(self) -> dict[str, Any]:
        """``{"total", "valid", "errors": [{"row", "column", "message"}], "warnings", ...}``"""
        return {
            "filename": self.filename,
            "total": self.total,
            "valid": self.valid,
            "errors": [e.to_json() for e in self.errors],
            "warnings": [w.to_json() for w in self.warnings],
            "omitted": self.omitted,
        }


def _batched(rows: Iterable[BulkRow], size: int) -> Iterator[list[BulkRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _stored(row: BulkRow) -> StoredRow:
    return StoredRow(row.number, row.fingerprint(), row_json(row))


def prepare(
    jobs: BulkJobRepository,
    org: Organization,
    achievement: AchievementVersion,
    filename: str,
    data: bytes,
    *,
    now: datetime,
    dry_run: bool = False,
) -> Prepared:
    """Validate an upload; unless it has errors (or ``dry_run``), store it as a job.

    Nothing is issued. Raises :class:`Invalid` for a file that cannot be read at all and
    :class:`Conflict` for a draft achievement. The same file for the same achievement
    while an earlier job of it has not finished gives that job back (uploading twice
    does not make two jobs); after it finished, a new job, whose rows then find their
    awards already issued.
    """
    if achievement.org_id != org.id:
        raise NotFound("the achievement belongs to another organization")
    if not achievement.published:
        raise Conflict(f"achievement {achievement.key!r} v{achievement.version} is a draft")
    name = (filename or "upload")[-MAX_FILENAME:]
    with read_table(name, data) as table:
        stream = validate_stream(table, default_valid_from=now)
        for _row in stream:
            pass
    prepared = Prepared(
        filename=name,
        total=stream.total,
        valid=stream.valid,
        errors=tuple(stream.errors),
        warnings=tuple(stream.warnings),
        omitted=stream.omitted,
    )
    if not prepared.ok or dry_run:
        return prepared
    digest = hashlib.sha256(data).hexdigest()
    earlier = jobs.unfinished(org.id, achievement.id, digest)
    if earlier is not None:
        return _with_job(prepared, earlier)
    job = BulkJob(
        id=str(uuid.uuid4()),
        org_id=org.id,
        achievement_id=achievement.id,
        filename=name,
        file_sha256=digest,
        state=JobState.VALIDATED,
        created_at=now,
        total=prepared.valid,
        updated_at=now,
        report=prepared.report_json(),
    )
    jobs.add(job)
    with read_table(name, data) as table:
        for chunk in _batched(validate_stream(table, default_valid_from=now), INSERT_BATCH):
            jobs.add_rows(job.id, [_stored(row) for row in chunk])
    return _with_job(prepared, job)


def _with_job(prepared: Prepared, job: BulkJob) -> Prepared:
    return Prepared(
        prepared.filename,
        prepared.total,
        prepared.valid,
        prepared.errors,
        prepared.warnings,
        prepared.omitted,
        job,
    )


def get(jobs: BulkJobRepository, job_id: str, org: Organization | None = None) -> BulkJob:
    """A job (of ``org`` when given)."""
    job = jobs.get(job_id)
    if job is None or (org is not None and job.org_id != org.id):
        raise NotFound(f"no bulk job {job_id!r}")
    return job


def start(jobs: BulkJobRepository, job_id: str, *, now: datetime) -> BulkJob:
    """validated -> queued; a job already started or done is returned as it is."""
    job = get(jobs, job_id)
    if job.state == JobState.FAILED:
        raise Conflict(f"bulk job {job_id} failed ({job.error}); upload the file again")
    if job.state == JobState.VALIDATED:
        jobs.set_state(job_id, JobState.QUEUED, when={JobState.VALIDATED}, now=now)
        job = get(jobs, job_id)
    return job


def fail(jobs: BulkJobRepository, job_id: str, error: str, *, now: datetime) -> bool:
    """Give up on a job that has not finished (rows already issued stay issued)."""
    return jobs.set_state(
        job_id, JobState.FAILED, when={JobState.QUEUED, JobState.RUNNING}, now=now, error=error
    )


def resumable(jobs: BulkJobRepository, *, idle_before: datetime | None = None) -> list[str]:
    """Jobs to pick up again: ``queued`` or ``running`` (and idle since ``idle_before``)."""
    return [job.id for job in jobs.active(idle_before=idle_before)]


# -- run -----------------------------------------------------------------------------------


def _context(platform: Platform, job: BulkJob) -> tuple[Issuer, AchievementVersion] | str:
    """What the batch issues with, or why the job cannot go on."""
    org = platform.orgs.get(job.org_id)
    if org is None:
        return "the organization no longer exists"
    achievement = platform.achievements.get(job.achievement_id)
    if achievement is None or achievement.org_id != org.id:
        return "the achievement no longer exists"
    if not achievement.published:
        return f"achievement {achievement.key!r} v{achievement.version} is a draft"
    try:
        return awards.issuer_of(platform, org), achievement
    except NotFound as exc:
        return exc.message


def _issue_one(
    unit: BulkUnit, issuer: Issuer, achievement: AchievementVersion, request: awards.AwardRequest
) -> tuple[AwardId, bool] | str:
    """(award id, newly issued) or the error. Each try runs in a savepoint, so a failed
    store (a status index or idempotency key taken concurrently) leaves the batch usable."""
    key = request.idempotency_key or ""
    error = "not issued"
    for _ in range(ATTEMPTS):
        try:
            with unit.jobs.savepoint():
                award = awards.issue_award(unit.platform, issuer, achievement, request)
        except Conflict as exc:
            found = unit.jobs.awards_by_key(issuer.org.id, [key]).get(key)
            if found is not None:
                return found, False
            error = exc.message
        except CredstackError as exc:
            return exc.message
        else:
            return award.id, True
    return error


def _issue_batch(
    unit: BulkUnit, issuer: Issuer, achievement: AchievementVersion, rows: Sequence[StoredRow]
) -> BatchOutcome:
    outcome = BatchOutcome()
    keys = {row.number: idempotency_key(achievement.id, row.fingerprint) for row in rows}
    known = unit.jobs.awards_by_key(issuer.org.id, set(keys.values()))
    for row in rows:
        key = keys[row.number]
        if key in known:
            outcome.existing.append((row.number, known[key]))
            continue
        try:
            request = award_request(row_from_json(row.number, row.data), key)
        except Invalid as exc:
            outcome.failed.append((row.number, exc.message))
            continue
        result = _issue_one(unit, issuer, achievement, request)
        if isinstance(result, str):
            outcome.failed.append((row.number, result))
        elif result[1]:
            outcome.issued.append((row.number, result[0]))
        else:
            outcome.existing.append((row.number, result[0]))
    return outcome


def run(
    job_id: str,
    unit_of_work: UnitOfWork,
    *,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[BulkJob], None] | None = None,
    idle: Callable[[], None] | None = None,
) -> BulkJob:
    """Issue the pending rows of a started job, one committed batch at a time.

    Safe to call again after a crash, and from several processes at once. When the rows
    left are all held by other runners, ``idle`` is called between looks (until the job
    is finished, so that rows of a runner that dies are picked up); without it, ``run``
    returns and leaves them to their runners. Returns the job as it stands.
    """
    if batch_size < 1:
        raise Invalid("batch_size must be at least 1")
    with unit_of_work() as unit:
        job = get(unit.jobs, job_id)
        if job.finished:
            return job
        if job.state == JobState.VALIDATED:
            raise Conflict(f"bulk job {job_id} has not been started")
        unit.jobs.set_state(job_id, JobState.RUNNING, when=ACTIVE, now=unit.platform.now())
    while True:
        with unit_of_work() as unit:
            now = unit.platform.now()
            rows = unit.jobs.claim(job_id, batch_size, now)
            job = get(unit.jobs, job_id)
            if job.state != JobState.RUNNING:
                return job
            if rows:
                context = _context(unit.platform, job)
                if isinstance(context, str):
                    fail(unit.jobs, job_id, context, now=now)
                else:
                    outcome = _issue_batch(unit, *context, rows)
                    unit.jobs.record(job_id, outcome, unit.platform.now())
            elif unit.jobs.pending(job_id) == 0:
                unit.jobs.finish(job_id, now)
            job = get(unit.jobs, job_id)
        if on_progress is not None:
            on_progress(job)
        if job.finished:
            return job
        if not rows:
            if idle is None:
                return job
            idle()
