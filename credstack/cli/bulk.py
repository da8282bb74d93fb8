"""``credstack bulk-issue`` (validate a CSV/XLSX of recipients, then issue it) and
``credstack worker`` (run background jobs).

Exit codes of ``bulk-issue``: 0 every row issued (or found already issued); 1 the file has
errors (nothing issued) or some rows failed to issue; 2 unusable input (unreadable file,
unknown organization or achievement), as one ``credstack:`` line on stderr.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from credstack.cli.io import read_bytes
from credstack.domain.bulk import RowError
from credstack.domain.errors import Invalid
from credstack.jobs import BulkRunner
from credstack.services import achievements, bulk
from credstack.services.bulk import BulkJob, JobState, Prepared
from credstack.services.organizations import org_by_slug
from credstack.settings import Settings, get_settings
from credstack.signing_pool import available_cores

SHOWN = 20


def signing_processes(settings: Settings) -> int:
    """CREDSTACK_SIGNING_PROCESSES, 0 meaning one per core this process may use."""
    return settings.signing_processes or available_cores()


def runner_for(settings: Settings) -> BulkRunner:
    """The job runner over the configured database (close it, or use ``with``); it signs
    in a pool of :func:`signing_processes` processes."""
    if settings.jobs == "procrastinate" and not settings.is_postgres:
        raise Invalid("CREDSTACK_JOBS=procrastinate needs a PostgreSQL CREDSTACK_DATABASE_URL")
    return BulkRunner.open(
        database_url=settings.database_url,
        base_url=settings.base_url,
        secret=settings.secret(),
        use_procrastinate=settings.use_procrastinate,
        signing_processes=signing_processes(settings),
    )


def _where(problem: RowError) -> str:
    return f"row {problem.row}, {problem.column}" if problem.column else f"row {problem.row}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def print_report(prepared: Prepared) -> None:
    """Counts, then the first errors and warnings with their row and column."""
    errors, warnings = prepared.errors, prepared.warnings
    typer.echo(
        f"{prepared.filename}: {_plural(prepared.total, 'row')}, {prepared.valid} valid, "
        f"{_plural(len(errors), 'error')}, {_plural(len(warnings), 'warning')}"
        + (f" ({prepared.omitted} more not listed)" if prepared.omitted else "")
    )
    for title, problems in (("errors", errors), ("warnings", warnings)):
        if not problems:
            continue
        typer.echo(f"{title}:")
        for problem in problems[:SHOWN]:
            typer.echo(f"  {_where(problem)}: {problem.message}")
        if len(problems) > SHOWN:
            typer.echo(f"  ... and {len(problems) - SHOWN} more")


def _run_with_progress(runner: BulkRunner, job: BulkJob) -> BulkJob:
    columns = (
        TextColumn("issuing"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task("issuing", total=job.total, completed=job.done + job.failed)

        def show(current: BulkJob) -> None:
            progress.update(bar, completed=current.done + current.failed)

        return runner.run(job.id, on_progress=show)


def _print_summary(runner: BulkRunner, job: BulkJob) -> None:
    typer.echo(
        f"{job.issued} issued, {job.existing} already issued, {job.failed} failed (job {job.id})"
    )
    if job.failed:
        with runner.unit_of_work() as unit:
            failures = unit.jobs.failures(job.id, limit=SHOWN)
        typer.echo("failed rows:")
        for number, error in failures:
            typer.echo(f"  row {number}: {error}")
        if job.failed > len(failures):
            typer.echo(f"  ... and {job.failed - len(failures)} more")
    if job.state == JobState.FAILED:
        typer.echo(f"the job failed: {job.error}", err=True)


def bulk_issue_command(
    file: Annotated[str, typer.Argument(help="CSV (UTF-8) or XLSX of recipients; - for stdin.")],
    org: Annotated[str, typer.Option("--org", help="Organization slug.")],
    achievement: Annotated[str, typer.Option("--achievement", help="Achievement id or key.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the validation report; issue nothing.")
    ] = False,
    enqueue_only: Annotated[
        bool,
        typer.Option("--enqueue-only", help="PostgreSQL: queue the job for the workers, return."),
    ] = False,
) -> None:
    """Validate a file of recipients, then issue it as a resumable job with a progress bar.

    Running it again with the same file issues nothing twice; after an interruption it picks
    up the unfinished job.
    """
    settings = get_settings()
    if enqueue_only and not settings.use_procrastinate:
        raise Invalid("--enqueue-only needs the job queue (PostgreSQL, CREDSTACK_JOBS=auto)")
    data = read_bytes(file)
    name = "stdin" if file == "-" else Path(file).name
    with runner_for(settings) as runner:
        with runner.unit_of_work() as unit:
            organization = org_by_slug(unit.platform.orgs, org)
            record = achievements.resolve(unit.platform.achievements, organization, achievement)
            prepared = bulk.prepare(
                unit.jobs,
                organization,
                record,
                name,
                data,
                now=unit.platform.now(),
                dry_run=dry_run,
            )
        print_report(prepared)
        if not prepared.ok:
            typer.echo("nothing issued: fix the errors and run again")
            raise typer.Exit(1)
        if dry_run or prepared.job is None:
            typer.echo("dry run: nothing issued")
            return
        job = runner.start(prepared.job.id, background=False)
        if enqueue_only:
            typer.echo(f"queued job {job.id} for the workers")
            return
        if not job.finished:
            job = _run_with_progress(runner, job)
        _print_summary(runner, job)
    if job.state != JobState.DONE or job.failed:
        raise typer.Exit(1)


def worker_command(
    once: Annotated[
        bool, typer.Option("--once", help="Work the jobs pending now, then exit.")
    ] = False,
    poll: Annotated[
        float, typer.Option(help="SQLite: seconds between looks for unfinished jobs.")
    ] = 5.0,
) -> None:
    """Run background jobs (procrastinate on PostgreSQL, in process on SQLite).

    On PostgreSQL start one on as many machines as you like; on SQLite it is a loop that
    resumes unfinished bulk jobs.
    """
    settings = get_settings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with runner_for(settings) as runner:
        kind = "procrastinate" if runner.use_procrastinate else "in-process"
        typer.echo(f"worker ({kind}){' once' if once else ''}", err=True)
        runner.work(once=once, poll_seconds=poll)


def register(app: typer.Typer) -> None:
    app.command("bulk-issue")(bulk_issue_command)
    app.command("worker")(worker_command)
