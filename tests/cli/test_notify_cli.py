"""``credstack notify send | remind``: the real console script, a database of its own and a
real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credstack.testing import SmtpTestServer
from tests.conftest import BASE_URL, SECRET
from tests.fresh_database import fresh_database

CREDSTACK = Path(sys.executable).parent / "credstack"
LEARNER = "ada@example.org"
DEFINITION = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}


class Cli:
    """The console script in ``cwd`` with the given CREDSTACK_* environment."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CREDSTACK), *args],
            cwd=self.cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        done = self(*args, **env)
        assert done.returncode == 0, done.stderr
        return done


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    """An organization with a published achievement (valid 365 days), in a fresh database."""
    with fresh_database(request.param, tmp_path, "notify_cli") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREDSTACK_")}
        env |= {
            "CREDSTACK_DATABASE_URL": url,
            "CREDSTACK_BASE_URL": BASE_URL,
            "CREDSTACK_SECRET_KEY": SECRET.decode(),
            "CREDSTACK_MAIL_FROM": "Acme College <no-reply@credstack.test>",
        }
        run = Cli(tmp_path, env)
        run.ok("org", "create", "acme", "--name", "Acme College")
        (tmp_path / "sql.json").write_text(json.dumps(DEFINITION), "utf-8")
        run.ok("achievement", "create", "--org", "acme", "--key", "sql", "sql.json",
               "--validity-days", "365")  # fmt: skip
        yield run


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


def smtp_env(server: SmtpTestServer) -> dict[str, str]:
    return {
        "CREDSTACK_EMAIL_BACKEND": "smtp",
        "CREDSTACK_SMTP_HOST": server.host,
        "CREDSTACK_SMTP_PORT": str(server.port),
    }


def award(cli: Cli, *extra: str) -> dict[str, object]:
    done = cli.ok("award", "--org", "acme", "--achievement", "sql",
                  "--recipient-email", LEARNER, *extra)  # fmt: skip
    credential: dict[str, object] = json.loads(done.stdout)
    return credential


def text_of(message: object) -> str:
    body = message.get_body(("plain",))  # type: ignore[attr-defined]
    content: str = body.get_content()
    return content


def test_notify_send_delivers_the_award_notice_over_smtp(cli: Cli, smtp: SmtpTestServer) -> None:
    credential = award(cli)

    done = cli.ok("notify", "send", **smtp_env(smtp))

    [message] = smtp.wait_for(1)
    assert message["To"] == LEARNER
    assert message["From"] == "Acme College <no-reply@credstack.test>"
    assert message["Subject"] == "You have earned SQL Fundamentals from Acme College"
    assert f"{BASE_URL}/claim/" in text_of(message)
    assert str(credential["id"]) in text_of(message)
    assert "1 email(s) sent, 0 failed" in done.stderr


def test_notify_send_sends_each_email_once(cli: Cli, smtp: SmtpTestServer) -> None:
    award(cli)
    cli.ok("notify", "send", **smtp_env(smtp))

    done = cli.ok("notify", "send", **smtp_env(smtp))

    assert "0 email(s) sent, 0 failed" in done.stderr
    assert len(smtp.received) == 1


def test_notify_send_with_the_console_backend_prints_the_email(cli: Cli) -> None:
    award(cli, "--name", "Ada Lovelace")

    done = cli.ok("notify", "send", CREDSTACK_EMAIL_BACKEND="console")

    assert f"To: {LEARNER}" in done.stdout
    assert "Subject: You have earned SQL Fundamentals from Acme College" in done.stdout
    assert "Hello Ada Lovelace," in done.stdout
    assert f"{BASE_URL}/claim/" in done.stdout
    assert "email(s) sent" not in done.stdout


def test_notify_send_exits_1_and_keeps_the_email_when_the_server_is_unreachable(
    cli: Cli, smtp: SmtpTestServer
) -> None:
    award(cli)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]

    failed = cli("notify", "send", CREDSTACK_EMAIL_BACKEND="smtp",
                 CREDSTACK_SMTP_HOST="127.0.0.1", CREDSTACK_SMTP_PORT=str(closed))  # fmt: skip

    assert failed.returncode == 1, failed.stderr
    assert "0 email(s) sent, 1 failed" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert smtp.received == []


def test_notify_remind_queues_the_due_reminder_and_sends_it(cli: Cli, smtp: SmtpTestServer) -> None:
    expires = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
    award(cli, "--valid-until", expires.isoformat().replace("+00:00", "Z"))

    done = cli.ok("notify", "remind", **smtp_env(smtp))

    assert "1 reminder(s) queued" in done.stderr
    subjects = sorted(str(m["Subject"]) for m in smtp.wait_for(2))
    assert subjects == [
        "You have earned SQL Fundamentals from Acme College",
        "Your credential SQL Fundamentals expires in 30 days",
    ]
    again = cli.ok("notify", "remind", **smtp_env(smtp))
    assert "0 reminder(s) queued" in again.stderr
    assert len(smtp.received) == 2
