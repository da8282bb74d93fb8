"""Console: bulk issuing. Upload a CSV or XLSX of recipients, read the validation report
(``services.bulk.prepare``: nothing is issued yet), confirm, and watch the progress bar.

The job runs exactly as one started through the API (``web.api.bulk.runner``: a thread of
this process on SQLite, procrastinate workers on PostgreSQL) and its state lives in the
database. The job's page polls ``.../progress`` every second with htmx (``hx-trigger=
"every 1s"``) while the job is queued or running; the fragment it gets back stops polling
once the job is done. Without JavaScript, reloading the page shows the progress.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from credstack.db.bulk_jobs import BulkJobs
from credstack.domain.errors import CredstackError, Invalid
from credstack.domain.platform import Scope
from credstack.services import achievements, bulk
from credstack.services.bulk import ACTIVE, BulkJob, JobState
from credstack.web.api.bulk import runner
from credstack.web.deps import PlatformDep, SessionDep
from credstack.web.pages import render
from credstack.web.pages.console import Staff, StaffDep, console_page
from credstack.web.pages.console_awards import issuable
from credstack.web.pages.session import PageRoute, csrf_protect, redirect

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
FAILURES_SHOWN: Final = 200
STATES: Final = {
    JobState.VALIDATED: "Checked: waiting for your confirmation",
    JobState.QUEUED: "Queued",
    JobState.RUNNING: "Issuing",
    JobState.DONE: "Done",
    JobState.FAILED: "Stopped",
}


def percent(job: BulkJob) -> int:
    processed = job.done + job.failed
    return 100 if not job.total else int(processed * 100 // job.total)


def _job_context(who: Staff, job: BulkJob, jobs: BulkJobs) -> dict[str, Any]:
    failures = jobs.failures(job.id, limit=FAILURES_SHOWN) if job.failed else []
    return {
        "job": job,
        "processed": job.done + job.failed,
        "percent": percent(job),
        "active": job.state in ACTIVE,
        "state_words": STATES.get(job.state, str(job.state)),
        "failures": failures,
        "job_url": f"/console/{who.org.slug}/bulk/{job.id}",
    }


@router.get("/console/{slug}/bulk")
def bulk_page(request: Request, who: StaffDep, found: PlatformDep, db: SessionDep) -> Response:
    return _upload_page(request, who, found, db)


def _upload_page(
    request: Request,
    who: Staff,
    found: PlatformDep,
    db: SessionDep,
    *,
    report: dict[str, object] | None = None,
    chosen: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    return console_page(
        request,
        who,
        "console_bulk.html",
        "bulk",
        status,
        options=issuable(found, who),
        jobs=BulkJobs(db).of(who.org.id, limit=20),
        states=STATES,
        report=report,
        chosen=chosen,
        error=error,
    )


@router.post("/console/{slug}/bulk")
def upload(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    db: SessionDep,
    achievement: Annotated[str, Form(max_length=100)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Validate the file into a job (nothing issued); errors come back as the report."""
    who.require(Scope.BULK, "issue in bulk")
    try:
        if not achievement:
            raise Invalid("choose the achievement to award")
        if file is None or not file.filename:
            raise Invalid("choose a CSV or XLSX file")
        record = achievements.get(found.achievements, who.org, achievement)
        data = file.file.read()
        prepared = bulk.prepare(BulkJobs(db), who.org, record, file.filename, data, now=found.now())
    except CredstackError as exc:
        return _upload_page(
            request, who, found, db, chosen=achievement, error=exc.message, status=422
        )
    if prepared.job is None:
        count = len(prepared.errors) + prepared.omitted
        error = f"The file has {count} error{'s' if count != 1 else ''}; nothing was issued."
        return _upload_page(
            request,
            who,
            found,
            db,
            report=prepared.report_json(),
            chosen=achievement,
            error=error,
            status=422,
        )
    return redirect(
        request,
        f"/console/{who.org.slug}/bulk/{prepared.job.id}",
        f"{prepared.valid} row{'s' if prepared.valid != 1 else ''} checked. Nothing is issued "
        "until you confirm.",
    )


@router.get("/console/{slug}/bulk/{job_id}")
def job_page(
    request: Request, job_id: str, who: StaffDep, found: PlatformDep, db: SessionDep
) -> Response:
    jobs = BulkJobs(db)
    job = bulk.get(jobs, job_id, who.org)
    record = found.achievements.get(job.achievement_id)
    name = str(record.definition.get("name", record.key)) if record else "the achievement"
    return console_page(
        request,
        who,
        "console_bulk_job.html",
        "bulk",
        achievement=name,
        report=job.report or {},
        **_job_context(who, job, jobs),
    )


@router.post("/console/{slug}/bulk/{job_id}/start")
def start(request: Request, job_id: str, who: StaffDep, db: SessionDep) -> Response:
    """Confirm: the job is handed to the runner; its page then shows the progress."""
    who.require(Scope.BULK, "issue in bulk")
    job = bulk.get(BulkJobs(db), job_id, who.org)
    runner(request).start(job.id)  # in its own transaction, as the API's start does
    return redirect(request, f"/console/{who.org.slug}/bulk/{job.id}", "Issuing has started.")


@router.get("/console/{slug}/bulk/{job_id}/progress")
def progress(request: Request, job_id: str, who: StaffDep, db: SessionDep) -> Response:
    """The progress bar (an htmx fragment, polled every second while the job runs)."""
    jobs = BulkJobs(db)
    job = bulk.get(jobs, job_id, who.org)
    return console_page(
        request,
        who,
        "_console_job.html",
        "bulk",
        htmx=render.is_htmx(request),
        **_job_context(who, job, jobs),
    )
