"""Bulk issuing API (``/api/v1/bulk``, scope ``bulk:issue``).

``POST /api/v1/bulk`` (multipart: ``file``, ``achievement`` id or key) validates the upload
and answers 201 with the report and a job in state ``validated`` (nothing issued), or 422
with the report when the file has errors. ``POST /{job}/start`` answers 202 and hands the
job to the runner (a procrastinate worker on PostgreSQL, a thread of this process on
SQLite); ``GET /{job}`` shows progress and counts; ``GET /{job}/report`` the validation
report and the rows that failed. The job's state lives in the database only: any API
process can answer for any job.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from credstack.db.bulk_jobs import BulkJobs
from credstack.domain.platform import Scope
from credstack.jobs import BulkRunner
from credstack.services import achievements, bulk
from credstack.settings import Settings
from credstack.web.deps import Caller, PlatformDep, SessionDep, require

router = APIRouter(prefix="/api/v1/bulk", tags=["bulk"])
Who = Annotated[Caller, Depends(require(Scope.BULK))]


def runner(request: Request) -> BulkRunner:
    """The app's job runner (built on first use from the app's engine and settings)."""
    state = request.app.state
    found: BulkRunner | None = getattr(state, "bulk_runner", None)
    if found is None:
        settings: Settings = state.settings
        found = BulkRunner(
            sessions=state.sessions,
            database_url=settings.database_url,
            base_url=settings.base_url,
            secret=state.secret,
            use_procrastinate=settings.use_procrastinate,
            remote_dids=state.remote_dids,
            remote_status=state.remote_status,
        )
        state.bulk_runner = found
    return found


RunnerDep = Annotated[BulkRunner, Depends(runner)]


@router.post("", status_code=201, response_model=None)
def upload(
    file: UploadFile,
    achievement: Annotated[str, Form(description="Achievement id or key.")],
    db: SessionDep,
    found: PlatformDep,
    who: Who,
) -> dict[str, Any] | JSONResponse:
    """Validate a CSV or XLSX of recipients; nothing is issued."""
    record = achievements.resolve(found.achievements, who.org, achievement)
    data = file.file.read()
    prepared = bulk.prepare(
        BulkJobs(db), who.org, record, file.filename or "upload", data, now=found.now()
    )
    if prepared.job is None:
        count = len(prepared.errors) + prepared.omitted
        return JSONResponse(
            {
                "error": "invalid",
                "detail": f"the file has errors ({count}); nothing was issued",
                "report": prepared.report_json(),
            },
            status_code=422,
        )
    return {"job": prepared.job.to_json(), "report": prepared.report_json()}


@router.get("")
def list_jobs(
    db: SessionDep, who: Who, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, Any]]:
    return [job.to_json() for job in BulkJobs(db).of(who.org.id, limit=limit)]


@router.post("/{job_id}/start", status_code=202)
def start(job_id: str, db: SessionDep, who: Who, jobs_runner: RunnerDep) -> dict[str, Any]:
    """Start issuing; poll ``GET /api/v1/bulk/{job}`` for progress."""
    bulk.get(BulkJobs(db), job_id, who.org)
    return jobs_runner.start(job_id).to_json()


@router.get("/{job_id}")
def get_job(job_id: str, db: SessionDep, who: Who) -> dict[str, Any]:
    return bulk.get(BulkJobs(db), job_id, who.org).to_json()


@router.get("/{job_id}/report")
def get_report(
    job_id: str,
    db: SessionDep,
    who: Who,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    """The validation report of the upload and the rows that failed to issue (so far)."""
    jobs = BulkJobs(db)
    job = bulk.get(jobs, job_id, who.org)
    return {
        "job": job.to_json(),
        "validation": job.report,
        "failures": [
            {"row": number, "message": error}
            for number, error in jobs.failures(job.id, limit=limit)
        ],
    }
