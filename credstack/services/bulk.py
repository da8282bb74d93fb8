"""Bulk issuing: validate an upload into a job, then issue its rows in batches, resumably.

1. :func:`prepare` reads and validates the upload (``domain.bulk``). A file with errors
   gets its report and nothing else; a clean file (warnings allowed) becomes a job in state
   ``validated`` with its valid rows stored. Nothing is issued.
2. :func:`start` moves the job to ``queued``; the composition root then hands it to a
   runner (a procrastinate worker on PostgreSQL, a thread or the foreground on SQLite).
3. :func:`run` issues the rows in batches, each batch in its own unit of work: claim the
   next pending rows, reserve their status indices in one step
   (``status_registry.reserve``), build their credentials, have them signed by
   ``sign_many`` (a process pool from the composition root, or in this process), then
   write the awards, the award emails and the rows' marks with one multi-row statement
   each, bump the counters and commit. States: validated -> queued -> running -> done |
   failed. While a batch is written, the next one is already claimed, reserved and being
   signed (decision 0013).

Exactly once. A row's award and the row's mark are written in the same transaction, so a
killed runner loses at most the batch in flight, and that batch is redone (its reserved
status indices are left unused). The batch signed ahead is only a head start: its rows
are claimed again, in the next unit of work, and only those still pending are written.
On top of that, each row is issued with the idempotency key :func:`idempotency_key` (the
achievement version and the row's fingerprint), so a resumed job, a second runner or a
re-upload of the same file finds the award already made instead of issuing again; a
batch whose insert collides falls back to one row at a time. Several runners may work on
one job at once: claiming skips rows another runner holds (PostgreSQL) or waits for it
(SQLite serialises writers).

Verify after signing, cheaply: each signature is checked, right after signing, against
the key the issuer's DID document publishes (no second canonicalization), and the first
credential of every batch is verified from its stored text through the general path (DID
resolution included) before the batch is written.

A job ends ``done`` when every row is either issued (or found issued) or failed; rows that
failed keep their error (:meth:`BulkJobRepository.failures`) and are retried by uploading
the file again. ``failed`` is for a job that cannot go on at all (its achievement or
signing key is gone) or crashed; :attr:`BulkJob.error` says why.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice
from typing import Any, Final, Protocol

from credstack.crypto.keys import Ed25519Key, PublicKey
from credstack.crypto.loader import default_loader
from credstack.domain.achievements import Achievement
from credstack.domain.bulk import BulkRow, RecipientSpec, RowError, read_table, validate_stream
from credstack.domain.errors import Conflict, CredstackError, Invalid, NotFound
from credstack.domain.messages import Email
from credstack.domain.platform import (
    AchievementId,
    AchievementVersion,
    Award,
    AwardId,
    Organization,
    OrgId,
)
from credstack.services import awards, status_registry
from credstack.services.issuing import sign
from credstack.services.organizations import Issuer
from credstack.services.platform import Platform

#: The smallest batch; jobs use :func:`batch_size_for` (about 1/20 of the job).
BATCH_SIZE: Final = 100
MAX_BATCH: Final = 1000
BATCHES_PER_JOB: Final = 20
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
    def set_totals(self, job_id: str, total: int, report: dict[str, Any]) -> None: ...
    def discard(self, job_id: str) -> None:
        """Delete a job and its rows (a file found to have errors while it was stored)."""
        ...

    def claim(
        self, job_id: str, limit: int, now: datetime, *, after: int | None = None
    ) -> list[StoredRow]:
        """The next ``limit`` pending rows (numbered above ``after``), held until the unit
        of work ends.

        The first statement of a batch: on SQLite it takes the write lock (so that the
        batch's savepoints nest); on PostgreSQL it skips rows another runner holds.
        """
        ...

    def reclaim(self, job_id: str, numbers: Collection[int], now: datetime) -> list[StoredRow]:
        """Of the rows ``numbers``, those still pending, held as :meth:`claim` holds them
        (their ``data`` may be left empty)."""
        ...

    def taken_indices(self, list_id: str, indices: Sequence[int]) -> set[int]: ...
    def add_awards(self, awards: Sequence[Award]) -> None:
        """Insert awards with one multi-row statement; Conflict if any is taken."""
        ...

    def pending(self, job_id: str) -> int: ...
    def awards_by_key(self, org_id: OrgId, keys: Collection[str]) -> dict[str, AwardId]: ...
    def record(self, job_id: str, outcome: BatchOutcome, now: datetime) -> None: ...
    def finish(self, job_id: str, now: datetime) -> bool:
        """``running`` -> ``done`` if no row is pending; False otherwise."""
        ...

    def failures(self, job_id: str, *, limit: int = 1000) -> list[tuple[int, str]]: ...
    def savepoint(self) -> AbstractContextManager[None]: ...


class BatchOutbox(Protocol):
    def enqueue_many(self, emails: Sequence[Email], now: datetime) -> int:
        """Queue emails with one multi-row statement (each dedupe key once)."""
        ...


@dataclass(frozen=True, slots=True)
class BulkUnit:
    """One unit of work: a platform and the job repository over the same transaction.

    ``outbox`` queues a batch's award emails at once (without it the platform's outbox
    queues them one by one, if it has one). ``reserve_apart``, where another unit of work
    can write while this one is open (PostgreSQL; not SQLite, whose open unit holds the
    write lock), opens the unit in which status indices are reserved and committed at
    once, so that the list's lock is not held while the batch is signed and written.
    """

    platform: Platform
    jobs: BulkJobRepository
    outbox: BatchOutbox | None = None
    reserve_apart: Callable[[], AbstractContextManager[BulkUnit]] | None = None


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


def _report(name: str, data: bytes, now: datetime) -> Prepared:
    with read_table(name, data) as table:
        stream = validate_stream(table, default_valid_from=now)
        for _row in stream:
            pass
    return _prepared(name, stream)


def _prepared(name: str, stream: Any) -> Prepared:
    return Prepared(
        filename=name,
        total=stream.total,
        valid=stream.valid,
        errors=tuple(stream.errors),
        warnings=tuple(stream.warnings),
        omitted=stream.omitted,
    )


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

    The file is read once: rows are stored as they are validated, 1,000 at a time, and a
    file that turns out to have errors has its job deleted again.
    """
    if achievement.org_id != org.id:
        raise NotFound("the achievement belongs to another organization")
    if not achievement.published:
        raise Conflict(f"achievement {achievement.key!r} v{achievement.version} is a draft")
    name = (filename or "upload")[-MAX_FILENAME:]
    digest = hashlib.sha256(data).hexdigest()
    earlier = None if dry_run else jobs.unfinished(org.id, achievement.id, digest)
    if dry_run or earlier is not None:
        prepared = _report(name, data, now)
        if not prepared.ok or earlier is None:
            return prepared
        return _with_job(prepared, earlier)
    job = BulkJob(
        id=str(uuid.uuid4()),
        org_id=org.id,
        achievement_id=achievement.id,
        filename=name,
        file_sha256=digest,
        state=JobState.VALIDATED,
        created_at=now,
        updated_at=now,
    )
    jobs.add(job)
    try:
        with read_table(name, data) as table:
            stream = validate_stream(table, default_valid_from=now)
            for chunk in _batched(stream, INSERT_BATCH):
                if stream.ok:
                    jobs.add_rows(job.id, [_stored(row) for row in chunk])
    except BaseException:
        jobs.discard(job.id)
        raise
    prepared = _prepared(name, stream)
    if not prepared.ok:
        jobs.discard(job.id)
        return prepared
    report = prepared.report_json()
    jobs.set_totals(job.id, prepared.valid, report)
    return _with_job(prepared, replace(job, total=prepared.valid, report=report))


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


# -- signing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigningBatch:
    """Credentials to sign with one key (picklable: it crosses to signing processes).

    ``published`` is the key as the issuer's DID document publishes it: every signature
    is checked against it right after signing.
    """

    key: Ed25519Key
    published: PublicKey
    created: datetime
    documents: Sequence[dict[str, Any]]


#: Per document: (True, the signed credential's stored text) or (False, why not).
Signed = tuple[bool, str]
#: Starts signing a batch and returns the call that waits for the results, in order.
SignMany = Callable[[SigningBatch], Callable[[], list[Signed]]]


class _Recorder:
    """A signing key that keeps what it signed, to check it against the published key."""

    __slots__ = ("_key", "signed")

    def __init__(self, key: Ed25519Key) -> None:
        self._key = key
        self.signed: list[tuple[bytes, bytes]] = []

    @property
    def public(self) -> PublicKey:
        return self._key.public

    @property
    def controller(self) -> str:
        return self._key.controller

    @property
    def verification_method(self) -> str:
        return self._key.verification_method

    def sign(self, data: bytes) -> bytes:
        signature = self._key.sign(data)
        self.signed.append((data, signature))
        return signature


def sign_documents(batch: SigningBatch) -> list[Signed]:
    """Sign each document (eddsa-rdfc-2022) and check its signature with the published
    key; the work of one signing process, or of this one."""
    loader = default_loader()
    results: list[Signed] = []
    for document in batch.documents:
        recorder = _Recorder(batch.key)
        try:
            signed = sign(document, recorder, created=batch.created, loader=loader)
        except CredstackError as exc:
            results.append((False, exc.message))
            continue
        if not recorder.signed or not all(
            batch.published.verify(signature, data) for data, signature in recorder.signed
        ):
            results.append((False, "the signature does not verify with the published key"))
            continue
        if not isinstance(signed, dict):  # pragma: no cover - a Data Integrity suite
            results.append((False, "the signer did not return a JSON credential"))
            continue
        results.append((True, awards.stored_text(signed)))
    return results


def sign_in_process(batch: SigningBatch) -> Callable[[], list[Signed]]:
    """:data:`SignMany` without a pool: signs at once, in this process."""
    results = sign_documents(batch)
    return lambda: results


# -- run -----------------------------------------------------------------------------------


def batch_size_for(pending: int) -> int:
    """About a twentieth of the job, between BATCH_SIZE and MAX_BATCH rows."""
    return max(BATCH_SIZE, min(MAX_BATCH, -(-pending // BATCHES_PER_JOB)))


class _Rendered(Achievement):
    """The batch's achievement with its JSON rendered once: every credential embeds it,
    and rendering it is most of the work of building a credential."""

    __slots__ = ("_rendered",)
    _rendered: str

    def __init__(self, achievement: Achievement) -> None:
        for item in fields(achievement):
            object.__setattr__(self, item.name, getattr(achievement, item.name))
        object.__setattr__(self, "_rendered", json.dumps(achievement.to_json()))

    def to_json(self) -> dict[str, Any]:
        rendered: dict[str, Any] = json.loads(self._rendered)
        return rendered


class _Entropy:
    """Random bytes drawn once per batch: an award id, a salt and a claim token per row
    cost one system call per batch instead of four per row."""

    __slots__ = ("_at", "_buffer")

    def __init__(self, size: int) -> None:
        self._buffer = os.urandom(size)
        self._at = 0

    def take(self, size: int) -> bytes:
        if self._at + size > len(self._buffer):
            self._buffer, self._at = os.urandom(max(size, len(self._buffer))), 0
        chunk = self._buffer[self._at : self._at + size]
        self._at += size
        return chunk

    def award_id(self) -> AwardId:
        return AwardId(str(uuid.UUID(bytes=self.take(16), version=4)))

    def salt(self) -> str:
        return self.take(8).hex()

    def token(self) -> str:
        return base64.urlsafe_b64encode(self.take(24)).rstrip(b"=").decode("ascii")


_PER_ROW: Final = 16 + 8 + 24


@dataclass(frozen=True, slots=True)
class _Issuing:
    """What a batch issues with."""

    issuer: Issuer
    achievement: AchievementVersion
    definition: Achievement
    published: PublicKey


def _context(platform: Platform, job: BulkJob) -> _Issuing | str:
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
        issuer = awards.issuer_of(platform, org)
        definition = _Rendered(Achievement.from_json(achievement.definition))
    except CredstackError as exc:
        return exc.message
    method = awards.resolver(platform)(issuer.key.verification_method)
    if method is None:
        return f"the signing key {issuer.key.verification_method} is not in the DID document"
    return _Issuing(issuer, achievement, definition, method.public_key)


@dataclass(slots=True)
class _Batch:
    """A batch on its way: rows decided already, and drafts whose signing has started."""

    issuing: _Issuing
    requests: dict[int, awards.AwardRequest] = field(default_factory=dict)
    drafts: list[tuple[int, Award]] = field(default_factory=list)
    outcome: BatchOutcome = field(default_factory=BatchOutcome)
    signatures: Callable[[], list[Signed]] | None = None
    numbers: list[int] = field(default_factory=list)
    gone: set[int] = field(default_factory=set)

    def keep(self, rows: Sequence[StoredRow]) -> _Batch:
        """Only the rows (claimed again) that are still pending: another runner may have
        issued the others meanwhile. (``drafts`` stays whole: it pairs with the
        signatures.)"""
        still = {row.number for row in rows}
        self.gone = {n for n in self.numbers if n not in still}
        self.numbers = [n for n in self.numbers if n in still]
        self.outcome = BatchOutcome(
            [x for x in self.outcome.issued if x[0] in still],
            [x for x in self.outcome.existing if x[0] in still],
            [x for x in self.outcome.failed if x[0] in still],
        )
        return self


def _reserve(
    unit: BulkUnit, org: Organization, count: int, now: datetime
) -> status_registry.Reservation:
    """Status indices for ``count`` credentials, in a unit of their own when the unit
    has ``reserve_apart``."""
    if unit.reserve_apart is not None:
        with unit.reserve_apart() as apart:
            return status_registry.reserve(
                apart.platform.status_lists,
                org,
                count,
                now=now,
                secret=apart.platform.secret,
                taken=apart.jobs.taken_indices,
            )
    return status_registry.reserve(
        unit.platform.status_lists,
        org,
        count,
        now=now,
        secret=unit.platform.secret,
        taken=unit.jobs.taken_indices,
    )


def _start_batch(
    unit: BulkUnit,
    issuing: _Issuing,
    rows: Sequence[StoredRow],
    sign_many: SignMany,
) -> _Batch:
    """Decide what is known, reserve status indices, build the credentials and start
    signing them."""
    batch = _Batch(issuing, numbers=[row.number for row in rows])
    org, achievement = issuing.issuer.org, issuing.achievement
    keys = {row.number: idempotency_key(achievement.id, row.fingerprint) for row in rows}
    known = unit.jobs.awards_by_key(org.id, set(keys.values()))
    for row in rows:
        key = keys[row.number]
        if key in known:
            batch.outcome.existing.append((row.number, known[key]))
            continue
        try:
            batch.requests[row.number] = award_request(row_from_json(row.number, row.data), key)
        except Invalid as exc:
            batch.outcome.failed.append((row.number, exc.message))
    if not batch.requests:
        return batch
    now = unit.platform.now().replace(microsecond=0)
    reservation = _reserve(unit, org, len(batch.requests), now)
    status = (reservation.revocation.id, reservation.suspension.id)
    documents: list[dict[str, Any]] = []
    entropy = _Entropy(_PER_ROW * len(batch.requests))
    for (number, request), index in zip(batch.requests.items(), reservation.indices, strict=True):
        try:
            draft = awards.draft_award(
                unit.platform.base_url,
                issuing.issuer,
                achievement,
                issuing.definition,
                request,
                now=now,
                status=(*status, index),
                award_id=entropy.award_id(),
                salt=entropy.salt(),
                claim_token=entropy.token(),
            )
        except CredstackError as exc:
            batch.outcome.failed.append((number, exc.message))
            continue
        batch.drafts.append((number, draft.award))
        documents.append(draft.unsigned)
    if documents:
        batch.signatures = sign_many(
            SigningBatch(issuing.issuer.key, issuing.published, now, documents)
        )
    return batch


def _issue_one(
    unit: BulkUnit, issuer: Issuer, achievement: AchievementVersion, request: awards.AwardRequest
) -> tuple[AwardId, bool] | str:
    """(award id, newly issued) or the error, through the one-award path. Each try runs in
    a savepoint, so a failed store (a status index or idempotency key taken concurrently)
    leaves the batch usable."""
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


def _store(unit: BulkUnit, batch: _Batch, signed: list[tuple[int, Award]]) -> list[Award]:
    """Insert the batch's awards at once; when that collides, one at a time (an award
    found under the row's key counts as existing, anything else is issued again)."""
    try:
        with unit.jobs.savepoint():
            unit.jobs.add_awards([award for _, award in signed])
    except Conflict:
        pass
    else:
        batch.outcome.issued.extend((number, award.id) for number, award in signed)
        return [award for _, award in signed]
    stored: list[Award] = []
    issuer, achievement = batch.issuing.issuer, batch.issuing.achievement
    for number, award in signed:
        try:
            with unit.jobs.savepoint():
                unit.jobs.add_awards([award])
        except Conflict:
            request = batch.requests[number]
            key = request.idempotency_key or ""
            found = unit.jobs.awards_by_key(issuer.org.id, [key]).get(key)
            if found is not None:
                batch.outcome.existing.append((number, found))
                continue
            result = _issue_one(unit, issuer, achievement, request)
            if isinstance(result, str):
                batch.outcome.failed.append((number, result))
            elif result[1]:
                batch.outcome.issued.append((number, result[0]))
            else:
                batch.outcome.existing.append((number, result[0]))
        else:
            batch.outcome.issued.append((number, award.id))
            stored.append(award)
    return stored


def _notify(unit: BulkUnit, batch: _Batch, stored: Sequence[Award]) -> None:
    """Queue the award emails, then tell whoever listens to new awards."""
    platform = unit.platform
    for award in stored:
        awards.changed(platform, award, "awarded")  # as issue_award does (stacking)
    if unit.outbox is None and platform.outbox is None:
        return
    name, issuer_name = batch.issuing.definition.name, batch.issuing.issuer.org.name
    emails = [
        email
        for award in stored
        if award.recipient_kind == "email"
        and (email := awards.award_notice(unit.platform.base_url, award, name, issuer_name))
    ]
    now = unit.platform.now()
    if unit.outbox is not None:
        unit.outbox.enqueue_many(emails, now)
        return
    assert unit.platform.outbox is not None
    for email in emails:
        unit.platform.outbox.enqueue(email, now)


def _finish_batch(unit: BulkUnit, batch: _Batch) -> BatchOutcome | str:
    """Wait for the signatures, verify a sample, write awards and emails; the outcome, or
    why the job cannot go on (a sample that does not verify: nothing is written)."""
    results = batch.signatures() if batch.signatures is not None else []
    signed: list[tuple[int, Award]] = []
    for (number, award), (ok, text) in zip(batch.drafts, results, strict=True):
        if number in batch.gone:
            continue  # a row another runner issued meanwhile
        if ok:
            signed.append((number, replace(award, document=text)))
        else:
            batch.outcome.failed.append((number, f"not signed: {text}"))
    if signed:
        try:
            awards.verify_stored(unit.platform, signed[0][1].document)
        except Invalid as exc:
            return exc.message
        _notify(unit, batch, _store(unit, batch, signed))
    return batch.outcome


def run(
    job_id: str,
    unit_of_work: UnitOfWork,
    *,
    batch_size: int | None = None,
    sign_many: SignMany | None = None,
    on_progress: Callable[[BulkJob], None] | None = None,
    idle: Callable[[], None] | None = None,
) -> BulkJob:
    """Issue the pending rows of a started job, one committed batch at a time.

    Safe to call again after a crash, and from several processes at once. When the rows
    left are all held by other runners, ``idle`` is called between looks (until the job
    is finished, so that rows of a runner that dies are picked up); without it, ``run``
    returns and leaves them to their runners. Returns the job as it stands.
    ``batch_size`` defaults to :func:`batch_size_for` the job; ``sign_many`` to signing
    in this process.
    """
    if batch_size is not None and batch_size < 1:
        raise Invalid("batch_size must be at least 1")
    signer = sign_many or sign_in_process
    with unit_of_work() as unit:
        job = get(unit.jobs, job_id)
        if job.finished:
            return job
        if job.state == JobState.VALIDATED:
            raise Conflict(f"bulk job {job_id} has not been started")
        unit.jobs.set_state(job_id, JobState.RUNNING, when=ACTIVE, now=unit.platform.now())
        size = batch_size or batch_size_for(job.pending)
    ahead: _Batch | None = None
    while True:
        with unit_of_work() as unit:
            now = unit.platform.now()
            rows: list[StoredRow] = []
            if ahead is not None:
                rows = unit.jobs.reclaim(job_id, ahead.numbers, now)
                if not rows:
                    ahead = None
            if not rows:
                rows = unit.jobs.claim(job_id, size, now)
            job = get(unit.jobs, job_id)
            if job.state != JobState.RUNNING:
                return job
            if rows:
                ahead = _step(unit, job, rows, ahead, size, signer)
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


def _step(
    unit: BulkUnit,
    job: BulkJob,
    rows: Sequence[StoredRow],
    ahead: _Batch | None,
    size: int,
    sign_many: SignMany,
) -> _Batch | None:
    """Issue the claimed ``rows`` (signed ahead, or now), after starting the next batch;
    returns that next batch (None when the job cannot go on or nothing follows)."""
    now = unit.platform.now()
    context = _context(unit.platform, job)
    if isinstance(context, str):
        fail(unit.jobs, job.id, context, now=now)
        return None
    current = (
        ahead.keep(rows) if ahead is not None else _start_batch(unit, context, rows, sign_many)
    )
    following = unit.jobs.claim(job.id, size, now, after=rows[-1].number)
    after = _start_batch(unit, context, following, sign_many) if following else None
    outcome = _finish_batch(unit, current)
    if isinstance(outcome, str):
        fail(unit.jobs, job.id, outcome, now=now)
        return None
    unit.jobs.record(job.id, outcome, unit.platform.now())
    return after
