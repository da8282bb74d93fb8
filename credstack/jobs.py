"""Background jobs: where bulk issuing runs, off the request path.

An adapter beside ``db/``: it wires the database to ``services.bulk`` for the two
composition roots (``web/`` and ``cli/``), which hand it their settings as arguments.

* On PostgreSQL (``use_procrastinate``) jobs go through procrastinate: starting a job
  defers ``run_bulk_job`` tasks in the same transaction that marks the job ``queued``, and
  ``credstack worker`` processes on any number of machines run them. Several tasks are
  deferred per job so that several workers share one job's rows. A periodic task puts
  stalled procrastinate jobs (their worker died) back in the queue and re-defers bulk jobs
  nobody has touched for :data:`STALE_AFTER`.
* On SQLite there is no queue: the API runs a started job in a thread of its own process,
  the CLI runs it in the foreground, and ``credstack worker`` is a loop that resumes
  ``queued`` and ``running`` jobs (a job whose process died).

Either way the job's state lives in the database, never in the process: any runner can
pick a job up where another stopped (see ``services.bulk`` for why that is exactly once).

Signing uses ``signing_processes`` worker processes (``credstack.signing_pool``, one pool
per job run); 1 signs in the runner's own process (the default, and what the API's
background thread uses).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from procrastinate.schema import SchemaManager
from procrastinate.types import JSONDict
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from credstack.crypto.did import VerificationMethod
from credstack.db.bulk_jobs import BulkJobs
from credstack.db.outbox import SqlOutbox
from credstack.db.repositories import platform_for
from credstack.db.session import make_engine, session_factory, transaction
from credstack.domain.errors import CredstackError
from credstack.domain.ports import Clock
from credstack.services import bulk
from credstack.services.bulk import ACTIVE, BulkJob, BulkUnit, SignMany
from credstack.services.platform import Platform, utc_now
from credstack.services.status import StatusResolver
from credstack.signing_pool import SigningPool

log = logging.getLogger("credstack.jobs")

QUEUE: Final = "bulk"
RUN_TASK: Final = "credstack.run_bulk_job"
RECOVER_TASK: Final = "credstack.recover_bulk_jobs"
#: A queued or running bulk job untouched for this long has lost its runner.
STALE_AFTER: Final = timedelta(minutes=5)
#: Tasks deferred per job at most (each one a worker that can share the job's rows).
FANOUT: Final = 4
_SCHEMA_LOCK: Final = 0x63726564_62756C6B  # pg_advisory_xact_lock key ("credbulk")
_TRANSIENT = (OperationalError, InterfaceError, PoolTimeout)


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy URL (``postgresql+psycopg://...``)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"procrastinate needs PostgreSQL, not {url.get_backend_name()!r}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class BulkRunner:
    """Starts, runs and resumes bulk jobs over one database (one per process is plenty).

    ``notify`` wires the outbox, so that every credential issued queues its award email in
    its own transaction, as a single award does (``awards.issue_award``).
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        database_url: str,
        base_url: str,
        secret: bytes,
        use_procrastinate: bool,
        batch_size: int | None = None,
        signing_processes: int = 1,
        fanout: int = FANOUT,
        clock: Clock = utc_now,
        remote_dids: Callable[[str], VerificationMethod | None] | None = None,
        remote_status: StatusResolver | None = None,
        idle_seconds: float = 1.0,
        notify: bool = True,
    ) -> None:
        self.sessions = sessions
        self.database_url = database_url
        self.base_url = base_url
        self.secret = secret
        self.use_procrastinate = use_procrastinate
        self.batch_size = batch_size
        self.signing_processes = max(1, signing_processes)
        self.fanout = fanout
        self.clock = clock
        self.remote_dids = remote_dids
        self.remote_status = remote_status
        self.idle_seconds = idle_seconds
        self.notify = notify
        self._engine: Engine | None = None
        self._app: procrastinate.App | None = None
        self._schema_ready = False

    @classmethod
    def open(cls, *, database_url: str, **options: Any) -> BulkRunner:
        """A runner with an engine of its own (closed by :meth:`close`)."""
        engine = make_engine(database_url)
        runner = cls(sessions=session_factory(engine), database_url=database_url, **options)
        runner._engine = engine
        return runner

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> BulkRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- units of work -----------------------------------------------------------------

    def platform(self, session: Session, outbox: SqlOutbox | None = None) -> Platform:
        return platform_for(
            session,
            base_url=self.base_url,
            secret=self.secret,
            clock=self.clock,
            remote_dids=self.remote_dids,
            remote_status=self.remote_status,
            outbox=outbox,
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session

    @contextmanager
    def unit_of_work(self) -> Iterator[BulkUnit]:
        """A fresh platform and job repository over one transaction, committed at the end."""
        with self.session() as session:
            outbox = SqlOutbox(session) if self.notify else None
            jobs = BulkJobs(session)
            apart = self.unit_of_work if jobs.parallel_writers else None
            yield BulkUnit(self.platform(session, outbox), jobs, outbox, apart)

    @contextmanager
    def signer(self) -> Iterator[SignMany | None]:
        """What signs a job run's credentials: a process pool, or None (this process)."""
        if self.signing_processes < 2:
            yield None
            return
        with SigningPool(self.signing_processes) as pool:
            yield pool

    # -- starting and running ------------------------------------------------------------

    def start(self, job_id: str, *, background: bool = True) -> BulkJob:
        """Mark the job queued and hand it over: on PostgreSQL defer its tasks in the same
        transaction; on SQLite (``background``) run it in a thread of this process."""
        if self.use_procrastinate:
            self.ensure_schema()
        with self.session() as session:
            jobs = BulkJobs(session)
            before = bulk.get(jobs, job_id)
            job = bulk.start(jobs, job_id, now=self.clock())
            if self.use_procrastinate and job.state in ACTIVE and before.state != job.state:
                size = self.batch_size or bulk.batch_size_for(job.pending)
                batches = -(-job.pending // size)
                self._defer(session, job.id, count=max(1, min(self.fanout, batches)))
        if not self.use_procrastinate and background and job.state in ACTIVE:
            threading.Thread(
                target=self._run_quietly, args=(job.id,), name=f"bulk-{job.id[:8]}", daemon=True
            ).start()
        return job

    def run(self, job_id: str, *, on_progress: Callable[[BulkJob], None] | None = None) -> BulkJob:
        """Work the job in this thread until it is finished (safe beside other runners).

        A lost database connection leaves the job as it is, to be resumed; any other
        unexpected error marks it failed (rows already issued stay issued, and uploading
        the file again picks up the rest).
        """
        try:
            with self.signer() as sign_many:
                return bulk.run(
                    job_id,
                    self.unit_of_work,
                    batch_size=self.batch_size,
                    sign_many=sign_many,
                    on_progress=on_progress,
                    idle=self._idle if self.use_procrastinate else None,
                )
        except (CredstackError, *_TRANSIENT):
            raise  # the job stays as it is (a transient error: to be resumed)
        except Exception as exc:
            with self.session() as session:
                bulk.fail(BulkJobs(session), job_id, f"unexpected error: {exc!r}", now=self.clock())
            raise

    def _idle(self) -> None:
        time.sleep(self.idle_seconds)

    def _run_quietly(self, job_id: str) -> None:
        try:
            self.run(job_id)
        except Exception:  # a background thread has nobody to raise to
            log.exception("bulk job %s stopped", job_id)

    def resume_pending(self, *, idle_before: datetime | None = None) -> list[str]:
        """Pick up queued and running jobs (idle since ``idle_before``, when given): defer
        them again on PostgreSQL, run them here, one after the other, on SQLite."""
        with self.unit_of_work() as unit:
            found = bulk.resumable(unit.jobs, idle_before=idle_before)
        for job_id in found:
            log.info("resuming bulk job %s", job_id)
            if self.use_procrastinate:
                self._defer_again(job_id)
                continue
            try:
                self.run(job_id)
            except Exception:  # one broken job must not stop the others
                log.exception("bulk job %s could not be resumed", job_id)
        return found

    def work(self, *, once: bool = False, poll_seconds: float = 5.0) -> None:
        """``credstack worker``: a procrastinate worker, or on SQLite a resuming loop.

        ``once`` works what is pending now and returns.
        """
        if self.use_procrastinate:
            self.ensure_schema()
            idle_before = None if once else self.clock() - STALE_AFTER
            self.resume_pending(idle_before=idle_before)
            self.procrastinate_app().run_worker(
                queues=[QUEUE],
                wait=not once,
                install_signal_handlers=not once,
                delete_jobs="successful",
            )
            return
        while True:
            self.resume_pending()
            if once:
                return
            time.sleep(poll_seconds)

    # -- procrastinate -------------------------------------------------------------------

    def procrastinate_app(self) -> procrastinate.App:
        """The procrastinate app with the bulk tasks (built once per runner)."""
        if self._app is None:
            self._app = self._build_app()
        return self._app

    def _build_app(self) -> procrastinate.App:
        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(self.database_url))
        )
        runner = self

        @app.task(name=RUN_TASK, queue=QUEUE)
        def run_bulk_job(job_id: str) -> None:
            runner.run(job_id)

        @app.periodic(cron="* * * * *", periodic_id="bulk")
        @app.task(name=RECOVER_TASK, queue=QUEUE, queueing_lock=RECOVER_TASK)
        async def recover_bulk_jobs(timestamp: int) -> None:
            stalled = await app.job_manager.get_stalled_jobs(task_name=RUN_TASK)
            for job in stalled:
                try:
                    await app.job_manager.retry_job(job)
                except procrastinate_errors.ProcrastinateException:
                    log.warning("stalled task %s could not be retried", job.id)
            await asyncio.to_thread(runner.resume_pending, idle_before=runner.clock() - STALE_AFTER)

        del run_bulk_job, recover_bulk_jobs  # registered on the app
        return app

    def ensure_schema(self) -> None:
        """Create procrastinate's tables unless they exist (once, whoever comes first)."""
        if self._schema_ready:
            return
        with self.session() as session:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            if session.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is None:
                log.info("creating procrastinate's schema")
                _driver(session).execute(SchemaManager.get_schema())
        self._schema_ready = True

    def _defer(
        self, session: Session, job_id: str, *, count: int = 1, queueing_lock: str | None = None
    ) -> None:
        deferrer = self.procrastinate_app().configure_task(
            RUN_TASK, connection=_driver(session), queue=QUEUE, queueing_lock=queueing_lock
        )
        arguments: list[JSONDict] = [{"job_id": job_id} for _ in range(count)]
        deferrer.batch_defer(*arguments)

    def _defer_again(self, job_id: str) -> None:
        self.ensure_schema()
        try:
            with self.session() as session:
                self._defer(session, job_id, queueing_lock=f"bulk-resume:{job_id}")
        except procrastinate_errors.AlreadyEnqueued:
            log.info("bulk job %s is already waiting in the queue", job_id)


def _driver(session: Session) -> Any:
    """The psycopg connection under the session (its transaction included)."""
    return session.connection().connection.driver_connection
