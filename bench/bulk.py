"""Bulk issuing end to end: credentials per second for a file of BENCH_BULK_ROWS rows.

For each lane (a fresh SQLite file; the local PostgreSQL in a schema of its own when it is
reachable) it validates and stores a CSV of distinct recipients as a job, then issues it
in the foreground as ``credstack bulk-issue`` does (batches of 100, one transaction each,
every credential signed and verified before it is stored, award emails queued). It prints
the time to validate and store, and credentials per second overall. Not a test.
``python -m bench.bulk`` runs it alone; BENCH_BULK_ROWS=0 leaves it out of ``make bench``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any

from bench.http_verify import postgres_available
from credstack.db.session import upgrade
from credstack.jobs import BulkRunner
from credstack.services import achievements, bulk
from credstack.services.organizations import create_organization, profile_of

PG = os.environ.get("CREDSTACK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROWS = int(os.environ.get("BENCH_BULK_ROWS", "10000"))
SCHEMA = "credstack_bench_bulk"
SECRET = b"bench-secret-bench-secret-bench-secret"
#: Issue #6: 100,000 credentials in 60 seconds.
TARGET_PER_SECOND = 100_000 / 60
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


def measure(database_url: str, rows: int) -> dict[str, Any]:
    upgrade(database_url)
    data = learners_csv(rows)
    with BulkRunner.open(
        database_url=database_url,
        base_url="https://bench.credstack.example",
        secret=SECRET,
        use_procrastinate=False,  # the foreground, as the CLI works a job
    ) as runner:
        with runner.unit_of_work() as unit:
            found = unit.platform
            org = create_organization(
                found.orgs, found.keys, slug="bench", name="Bench", secret=SECRET, now=found.now()
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
        with runner.unit_of_work() as unit:
            prepared = bulk.prepare(
                unit.jobs, org, record, "learners.csv", data, now=unit.platform.now()
            )
        assert prepared.job is not None, prepared.report_json()
        prepared_in = time.perf_counter() - started
        runner.start(prepared.job.id, background=False)
        job = runner.run(prepared.job.id)
        total = time.perf_counter() - started
        assert (job.state, job.issued) == ("done", rows), job.to_json()
    return {
        "rows": rows,
        "prepare_s": prepared_in,
        "issue_s": total - prepared_in,
        "total_s": total,
        "per_second": rows / total,
    }


def main(rows: int = ROWS) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    if rows <= 0:
        return results
    with tempfile.TemporaryDirectory() as folder:
        lanes = [("sqlite", f"sqlite:///{folder}/bench.db")]
        if postgres_available():
            lanes.append(("postgresql", _pg_url()))
        for name, url in lanes:
            print(f"measuring bulk issuing of {rows} rows on {name} …", file=sys.stderr)
            results.append({"backend": name, **measure(url, rows)})
    return results


if __name__ == "__main__":
    for row in main():
        print(json.dumps(row))
