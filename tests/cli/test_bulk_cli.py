"""``credstack bulk-issue`` and ``credstack worker``: the real console script over a
database of its own (a SQLite file; a PostgreSQL schema when CREDSTACK_TEST_DATABASE_URL is
set), including a ``kill -9`` in the middle of a job.

Exit codes: 0 issued, 1 the file has errors (nothing issued), 2 unusable input (one
``credstack:`` line on stderr, never a traceback).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from credstack.db.session import make_engine
from credstack.db.tables import AwardRow, BulkJobRow, BulkRowRow
from tests.conftest import BASE_URL, SECRET
from tests.fresh_database import fresh_database

CREDSTACK = Path(sys.executable).parent / "credstack"
DEFINITION = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}


@dataclass
class Cli:
    """The console script in ``cwd`` with CREDSTACK_* set for a database of its own."""

    cwd: Path
    env: dict[str, str]
    engine: Engine

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CREDSTACK), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, timeout: float = 300) -> str:
        done = self(*args, timeout=timeout)
        assert done.returncode == 0, (done.stdout, done.stderr)
        return done.stdout

    def bulk(
        self, name: str, *extra: str, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return self("bulk-issue", name, "--org", "acme", "--achievement", "sql", *extra,
                    timeout=timeout)  # fmt: skip

    def awards(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(AwardRow)) or 0)

    def most_awards_per_recipient(self) -> int:
        query = select(func.count()).select_from(AwardRow).group_by(AwardRow.recipient)
        with self.engine.connect() as connection:
            return max(connection.scalars(query), default=0)


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    """Organization ``acme`` with the published achievement ``sql``, in a fresh database."""
    with fresh_database(request.param, tmp_path, "bulk_cli") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREDSTACK_")}
        env |= {
            "CREDSTACK_DATABASE_URL": url,
            "CREDSTACK_BASE_URL": BASE_URL,
            "CREDSTACK_SECRET_KEY": SECRET.decode(),
        }
        engine = make_engine(url)
        run = Cli(tmp_path, env, engine)
        run.ok("org", "create", "acme", "--name", "Acme College")
        (tmp_path / "sql.json").write_text(json.dumps(DEFINITION), "utf-8")
        run.ok("achievement", "create", "--org", "acme", "--key", "sql", "sql.json")
        try:
            yield run
        finally:
            engine.dispose()


def write_csv(folder: Path, name: str, count: int) -> str:
    lines = ["email,name", *(f"learner{i}@example.org,Learner {i}" for i in range(count))]
    (folder / name).write_text("\n".join(lines) + "\n", "utf-8")
    return name


def assert_unusable(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("credstack: ")
    for word in words:
        assert word in lines[0]


def test_a_dry_run_prints_the_report_and_issues_nothing(cli: Cli) -> None:
    done = cli.bulk(write_csv(cli.cwd, "learners.csv", 5), "--dry-run")

    assert done.returncode == 0, done.stderr
    assert "learners.csv: 5 rows, 5 valid, 0 errors, 0 warnings" in done.stdout
    assert "dry run: nothing issued" in done.stdout
    assert cli.awards() == 0


def test_a_file_with_errors_exits_1_lists_them_by_row_and_column_and_issues_nothing(
    cli: Cli,
) -> None:
    rows = ["email,name,valid_until", "ada@example.org,Ada,", "bad-email,Bob,",
            "cy@example.org,Cy,31/01/2030", "ada@example.org,Ada,"]  # fmt: skip
    rows += [f"x{i}@example,X{i}," for i in range(25)]
    (cli.cwd / "bad.csv").write_text("\n".join(rows) + "\n", "utf-8")

    done = cli.bulk("bad.csv")

    assert done.returncode == 1, done.stderr
    assert "bad.csv: 29 rows, 1 valid, 28 errors, 0 warnings" in done.stdout
    assert "  row 3, email: 'bad-email' is not an email address" in done.stdout
    assert "  row 4, valid_until: '31/01/2030' is not a date" in done.stdout
    assert "  row 5: duplicate of row 2" in done.stdout
    assert "  ... and 8 more" in done.stdout
    assert "nothing issued" in done.stdout
    assert cli.awards() == 0
    with cli.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(BulkJobRow)) == 0


def test_unknown_columns_are_file_errors(cli: Cli) -> None:
    (cli.cwd / "cols.csv").write_text("mail,name\nada@example.org,Ada\n", "utf-8")

    done = cli.bulk("cols.csv")

    assert done.returncode == 1
    assert "row 1, mail: unknown column 'mail'" in done.stdout
    assert "row 1: missing column" in done.stdout


def test_unusable_input_exits_2_with_one_line(cli: Cli) -> None:
    name = write_csv(cli.cwd, "learners.csv", 2)
    (cli.cwd / "utf16.csv").write_bytes("email\nada@example.org\n".encode("utf-16"))

    assert_unusable(cli.bulk("missing.csv"), "missing.csv")
    assert_unusable(cli.bulk("utf16.csv"), "UTF-16")
    assert_unusable(cli("bulk-issue", name, "--org", "nope", "--achievement", "sql"), "nope")
    assert_unusable(cli("bulk-issue", name, "--org", "acme", "--achievement", "nope"), "nope")
    assert cli.awards() == 0


def test_issuing_then_running_the_same_file_again_issues_nothing_twice(cli: Cli) -> None:
    name = write_csv(cli.cwd, "learners.csv", 20)

    first = cli.bulk(name)
    assert first.returncode == 0, first.stderr
    assert "20 issued, 0 already issued, 0 failed" in first.stdout
    assert "issuing" in first.stderr  # the progress bar

    again = cli.bulk(name)
    assert again.returncode == 0, again.stderr
    assert "0 issued, 20 already issued, 0 failed" in again.stdout
    assert cli.awards() == 20


def _wait_for_progress(cli: Cli, process: subprocess.Popen[str], deadline: float) -> int:
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        with cli.engine.connect() as connection:
            done = connection.scalar(select(func.max(BulkJobRow.done)))
        if done:
            return int(done)
        time.sleep(0.2)
    raise AssertionError("the job made no progress")


def test_a_job_killed_mid_run_resumes_and_every_row_is_issued_exactly_once(cli: Cli) -> None:
    rows = 600  # six batches: the kill lands after the first commits
    name = write_csv(cli.cwd, "learners.csv", rows)
    process = subprocess.Popen(
        [str(CREDSTACK), "bulk-issue", name, "--org", "acme", "--achievement", "sql"],
        cwd=cli.cwd,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        progress = _wait_for_progress(cli, process, time.monotonic() + 180)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert 0 < progress < rows
    with cli.engine.connect() as connection:
        state, done = connection.execute(select(BulkJobRow.state, BulkJobRow.done)).one()
    assert state == "running"
    assert done < rows
    assert cli.awards() == done  # the batch in flight died with its transaction

    cli.ok("worker", "--once", timeout=900)

    with cli.engine.connect() as connection:
        job = connection.execute(select(BulkJobRow.state, BulkJobRow.done, BulkJobRow.failed)).one()
        unmarked = connection.scalar(
            select(func.count()).select_from(BulkRowRow).where(BulkRowRow.award_id.is_(None))
        )
    assert tuple(job) == ("done", rows, 0)
    assert unmarked == 0
    assert cli.awards() == rows
    assert cli.most_awards_per_recipient() == 1

    again = cli.bulk(name)
    assert again.returncode == 0, again.stderr
    assert f"0 issued, {rows} already issued, 0 failed" in again.stdout
    assert cli.awards() == rows
