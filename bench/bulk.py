"""Bulk issuing end to end: BENCH_BULK_ROWS rows (default 100,000) in at most 60 seconds.

For each lane (a fresh SQLite file; the local PostgreSQL in a schema of its own when it is
reachable) a fresh process runs what ``credstack bulk-issue FILE`` runs, through the CLI's
own runner (``credstack.cli.bulk.runner_for``: a signing pool of one process per core): read
the CSV file, validate and store it as a job, start it, issue it in the foreground
(status indices, credentials signed and checked, awards, award emails queued in the outbox,
rows marked). The clock starts before the file is read and stops when the job is done.
Then, untimed, it checks the outcome: every row issued once, distinct status indices, one
queued email per credential, a sample verifying through the general path.

Prints seconds, rows per second, and the peak resident memory of the runner process and of
its largest signing process (``resource.getrusage``), and whether it met 60 s. Not a test.
``python -m bench.bulk`` runs it alone; BENCH_BULK_ROWS=0 leaves it out of ``make bench``.

BENCH_BULK_STACKING=0 measures without the stacking engine's per-award hook
(``Platform.on_change``, which every issued credential calls, bulk ones included), to
tell the issuing pipeline's own cost from the hook's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

PG = os.environ.get("CREDSTACK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROWS = int(os.environ.get("BENCH_BULK_ROWS", "100000"))
STACKING = os.environ.get("BENCH_BULK_STACKING", "1") != "0"
SCHEMA = "credstack_bench_bulk"
SECRET = "bench-secret-bench-secret-bench-secret"  # noqa: S105 - a throwaway database
BASE_URL = "https://bench.credstack.example"
#: Issue #6: 100,000 credentials in 60 seconds.
TARGET_SECONDS = 60.0
TARGET_ROWS = 100_000
ACHIEVEMENT = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}


def learners_csv(rows: int) -> bytes:
    lines = ["email,name,credits_earned"]
    lines += [f"learner{i}@bench.example,Learner {i},1.5" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _pg_url() -> str:
    from sqlalchemy import create_engine, text  # noqa: PLC0415 - only the PG lane needs it

    engine = create_engine(PG, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    engine.dispose()
    return f"{PG}?options=-csearch_path%3D{SCHEMA}"


def _megabytes(kilobytes: int) -> float:
    return kilobytes / 1024  # ru_maxrss is in KiB on Linux


def _check(runner: Any, job_id: str, rows: int) -> dict[str, Any]:
    """Untimed: the outcome the bench claims (each row once, indices distinct, emails)."""
    from sqlalchemy import func, select  # noqa: PLC0415 - the lane process only

    from credstack.db.tables import AwardRow, OutboxRow  # noqa: PLC0415
    from credstack.services import awards  # noqa: PLC0415

    with runner.unit_of_work() as unit:
        session = unit.jobs.session
        count = session.scalar(select(func.count()).select_from(AwardRow))
        distinct = session.scalar(
            select(func.count()).select_from(
                select(AwardRow.revocation_list_id, AwardRow.status_index).distinct().subquery()
            )
        )
        emails = session.scalar(select(func.count()).select_from(OutboxRow))
        sent = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_not(None))
        )
        ids = unit.jobs.award_ids(job_id)
        for _, award_id in ids[:: max(1, len(ids) // 5)]:
            awards.verify_stored(unit.platform, awards.get_award(unit.platform, award_id).document)
    assert count == distinct == emails == rows, (count, distinct, emails, rows)
    assert sent == 0
    return {"awards": count, "distinct_indices": distinct, "queued_emails": emails}


def lane(database_url: str, rows: int) -> dict[str, Any]:
    """One lane, in this (fresh) process: the CLI's code path, timed end to end."""
    from credstack.cli.bulk import runner_for, signing_processes  # noqa: PLC0415
    from credstack.db.session import upgrade  # noqa: PLC0415
    from credstack.services import achievements, bulk  # noqa: PLC0415
    from credstack.services.organizations import create_organization, profile_of  # noqa: PLC0415
    from credstack.settings import Settings  # noqa: PLC0415

    if not STACKING:
        from credstack.services import stacking  # noqa: PLC0415

        stacking.react = lambda *_: None
    upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        base_url=BASE_URL,
        secret_key=SecretStr(SECRET),
        jobs="inline",  # the foreground, as `credstack bulk-issue` works a job on SQLite
    )
    with tempfile.TemporaryDirectory() as folder, runner_for(settings) as runner:
        path = Path(folder) / "learners.csv"
        path.write_bytes(learners_csv(rows))
        with runner.unit_of_work() as unit:
            found = unit.platform
            org = create_organization(
                found.orgs,
                found.keys,
                slug="bench",
                name="Bench",
                secret=SECRET.encode(),
                now=found.now(),
            )
            record = achievements.define(
                found.achievements,
                org,
                key="sql",
                definition=ACHIEVEMENT,
                creator=profile_of(org, found.base_url),
                base_url=found.base_url,
                now=found.now(),
            )
        started = time.perf_counter()
        data = path.read_bytes()
        with runner.unit_of_work() as unit:
            prepared = bulk.prepare(
                unit.jobs, org, record, path.name, data, now=unit.platform.now()
            )
        assert prepared.job is not None, prepared.report_json()
        del data
        prepared_in = time.perf_counter() - started
        prepared_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        runner.start(prepared.job.id, background=False)
        job = runner.run(prepared.job.id)
        total = time.perf_counter() - started
        assert (job.state, job.issued) == ("done", rows), job.to_json()
        parent = resource.getrusage(resource.RUSAGE_SELF)  # before the check's own reads
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool: reaped by now
        checked = _check(runner, job.id, rows)
    return {
        "rows": rows,
        "stacking_hook": STACKING,
        "signing_processes": signing_processes(settings),
        "prepare_s": round(prepared_in, 2),
        "issue_s": round(total - prepared_in, 2),
        "total_s": round(total, 2),
        "per_second": round(rows / total, 1),
        "peak_rss_parent_mb": round(_megabytes(parent.ru_maxrss), 1),
        "peak_rss_after_prepare_mb": round(_megabytes(prepared_rss), 1),
        "peak_rss_worker_mb": round(_megabytes(children.ru_maxrss), 1),
        "cpu_parent_s": round(parent.ru_utime + parent.ru_stime, 1),
        "cpu_workers_s": round(children.ru_utime + children.ru_stime, 1),
        "met": rows >= TARGET_ROWS and total <= TARGET_SECONDS,
        **checked,
    }


def _run_lane(database_url: str, rows: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bulk", "--lane", database_url, "--rows", str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the bulk lane failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(rows: int = ROWS) -> list[dict[str, Any]]:
    from bench.http_verify import postgres_available  # noqa: PLC0415

    results: list[dict[str, Any]] = []
    if rows <= 0:
        return results
    with tempfile.TemporaryDirectory() as folder:
        lanes = [("sqlite", f"sqlite:///{folder}/bench.db")]
        if postgres_available():
            lanes.append(("postgresql", _pg_url()))
        for name, url in lanes:
            print(f"measuring bulk issuing of {rows} rows on {name} …", file=sys.stderr)
            result = {"backend": name, **_run_lane(url, rows)}
            print(f"  {json.dumps(result)}", file=sys.stderr)
            results.append(result)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lane", help="database URL: run one lane in this process")
    parser.add_argument("--rows", type=int, default=ROWS)
    arguments = parser.parse_args()
    if arguments.lane:
        print(json.dumps(lane(arguments.lane, arguments.rows)))
    else:
        for row in main(arguments.rows):
            print(json.dumps(row))
