"""The platform commands of the ``credstack`` console script, run for real.

Each test gets a database of its own (a new SQLite file; a new PostgreSQL schema when the
PostgreSQL lane runs) named by CREDSTACK_DATABASE_URL, and ``credstack serve`` runs as a
subprocess over it. Independent commands run at the same time to keep the tests quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, SECRET, free_port
from tests.fresh_database import fresh_database

CREDSTACK = Path(sys.executable).parent / "credstack"
DEFINITION = {
    "type": ["Achievement"],
    "name": "Safe Lifting",
    "description": "Lifts loads with correct posture.",
    "criteria": {"narrative": "Observed on site."},
}


class Platform:
    """Runs ``credstack`` with the platform's environment, in ``cwd``."""

    def __init__(self, database_url: str, cwd: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CREDSTACK_")}
        self.env.update(
            CREDSTACK_DATABASE_URL=database_url,
            CREDSTACK_BASE_URL=self.base_url,
            CREDSTACK_SECRET_KEY=SECRET.decode(),
            CREDSTACK_JOBS="inline",
            CREDSTACK_MAIL_INTERVAL_SECONDS="0",
            # Status changes made by the CLI processes must show at once in the server's
            # verification (by default they show within 5 s).
            CREDSTACK_VERIFY_CACHE_SECONDS="0",
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(CREDSTACK), *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
        """Run the commands at the same time; their results in order."""
        started = [(command, self.start(*command)) for command in commands]
        done = []
        for command, process in started:
            out, err = process.communicate(timeout=120)
            done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
        return done

    def ok(self, *commands: tuple[str, ...]) -> list[str]:
        results = self.run(*commands)
        for result in results:
            assert result.returncode == 0, (result.args, result.stdout, result.stderr)
        return [r.stdout for r in results]


def assert_unusable(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 with exactly one ``credstack:`` line on stderr and no traceback."""
    assert done.returncode == 2, (done.args, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("credstack: ")
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], (done.args, lines[0])


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables yet: ``credstack db upgrade`` creates them."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'credstack.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL lane skipped: CREDSTACK_TEST_DATABASE_URL is not set")
    schema = f"credstack_cli_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def migrated_database(tmp_path: Path) -> Iterator[str]:
    """SQLite only: these commands fail the same way on either backend, and each
    console-script run costs about two seconds of start-up."""
    with fresh_database("sqlite", tmp_path, "platform_cli") as url:
        yield url


class Server:
    """``credstack serve`` as a subprocess, stopped at the end."""

    def __init__(self, platform: Platform) -> None:
        self.process = platform.start("serve", "--port", str(platform.port))
        self.http = httpx.Client(base_url=platform.base_url, timeout=30)
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.process.communicate()
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "credstack serve did not come up"
            time.sleep(0.1)

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            self.process.kill()
            self.process.communicate()


def test_an_organization_issues_and_revokes_through_the_cli_and_its_api(
    empty_database: str, tmp_path: Path
) -> None:
    cli = Platform(empty_database, tmp_path)
    [upgraded] = cli.ok(("db", "upgrade"))
    assert "database at revision head" in upgraded

    slug = f"acme-{uuid.uuid4().hex[:6]}"
    [created] = cli.ok(("org", "create", slug, "--name", "Acme College"))
    did = f"did:web:127.0.0.1%3A{cli.port}:orgs:{slug}"
    assert created.strip().splitlines()[-1] == did

    issued, full = cli.run(
        ("token", "create", "--org", slug, "--scopes", "org:read,achievements:write"),
        ("token", "create", "--org", slug, "--scopes", "awards:issue", "--scopes", "awards:read"),
    )
    assert issued.returncode == full.returncode == 0, (issued.stderr, full.stderr)
    assert "scopes: achievements:write org:read\n" in issued.stderr
    assert "scopes: awards:issue awards:read\n" in full.stderr
    token, issuer_token = (r.stdout.strip().splitlines()[-1] for r in (issued, full))
    assert token.startswith("csk_")

    server = Server(cli)
    try:
        api = {"Authorization": f"Bearer {token}"}
        assert server.http.get("/api/v1/org", headers=api).json()["profile"]["id"] == did
        created_achievement = server.http.post(
            "/api/v1/achievements", headers=api, json={"key": "lifting", "definition": DEFINITION}
        )
        assert created_achievement.status_code == 201, created_achievement.text
        refused = server.http.post(
            "/api/v1/awards",
            headers=api,
            json={"achievement": "lifting", "recipient_did": "did:example:x"},
        )
        assert refused.status_code == 403
        assert "awards:issue" in refused.json()["detail"]
        made = [
            server.http.post(
                "/api/v1/awards",
                headers={"Authorization": f"Bearer {issuer_token}"},
                json={"achievement": "lifting", "recipient_did": f"did:example:{n}"},
            ).json()
            for n in ("ada", "grace")
        ]
        revoked, suspended = (m["credential"] for m in made)

        said = cli.ok(
            ("revoke", revoked["id"], "--reason", "failed the re-test"),
            ("suspend", made[1]["id"]),
        )
        assert said == [f"revoked {revoked['id']}\n", f"suspended {made[1]['id']}\n"]

        path = tmp_path / "revoked.json"
        path.write_bytes(server.http.get(revoked["id"]).content)
        held = server.http.post("/credentials/verify", json={"verifiableCredential": suspended})
        assert held.status_code == 400
        assert [c["code"] for c in held.json()["errors"]] == ["status.suspended"]
        checked, lifted = cli.run(
            ("verify", "--platform", "--json", str(path)), ("unsuspend", suspended["id"])
        )
        assert checked.returncode == 1, (checked.stdout, checked.stderr)
        report = json.loads(checked.stdout)
        assert report["verified"] is False
        assert [c["code"] for c in report["checks"] if not c["ok"]] == ["status.revoked"]
        assert (lifted.returncode, lifted.stdout) == (0, f"reinstated {suspended['id']}\n")

        over_http = server.http.post("/credentials/verify", json={"verifiableCredential": revoked})
        assert over_http.status_code == 400
        assert "failed the re-test" not in over_http.text
        again = server.http.post("/credentials/verify", json={"verifiableCredential": suspended})
        assert again.status_code == 200, again.text
    finally:
        server.stop()
    assert server.process.returncode is not None


def test_platform_command_errors_exit_2_with_one_line(
    migrated_database: str, tmp_path: Path
) -> None:
    cli = Platform(migrated_database, tmp_path)
    missing = str(uuid.uuid4())
    unknown_org, bad_scopes, unknown_credential = cli.run(
        ("token", "create", "--org", "no-such-org"),
        ("token", "create", "--org", "no-such-org", "--scopes", "org:read,root"),
        ("revoke", f"http://127.0.0.1/credentials/{missing}", "--reason", "x"),
    )
    assert_unusable(unknown_org, "no-such-org")
    assert_unusable(bad_scopes, "root")
    assert_unusable(unknown_credential, missing)
