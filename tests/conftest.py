"""Shared fixtures: a real database (SQLite file, and PostgreSQL when configured),
a platform over one transaction per test, and a live HTTP server on 127.0.0.1.

The PostgreSQL lane runs when CREDSTACK_TEST_DATABASE_URL is set (CI sets it); each
xdist worker gets its own schema. Every DB test runs inside a SAVEPOINT that is rolled
back, after ``alembic upgrade head`` once per session and backend.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from credstack.db.repositories import platform_for
from credstack.db.session import make_engine, upgrade
from credstack.services.platform import Platform
from credstack.settings import Settings
from credstack.web.app import create_app

PG_URL = os.environ.get("CREDSTACK_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]
SECRET = b"test-secret-key-of-32-bytes-long"
BASE_URL = "https://credstack.test"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_url(worker: str) -> str:
    if not PG_URL:
        pytest.skip("PostgreSQL lane skipped: CREDSTACK_TEST_DATABASE_URL is not set")
    schema = f"credstack_test_{worker}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database per backend (and per xdist worker)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "credstack.db"
        url = f"sqlite:///{path}"
    else:
        url = _postgres_url(_worker())
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    built = make_engine(database_url)
    yield built
    built.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def platform(db: Session, clock: Clock) -> Platform:
    return platform_for(
        db,
        base_url=BASE_URL,
        secret=SECRET,
        clock=clock,
        rng=random.Random(7),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The real application under uvicorn on 127.0.0.1, over the migrated database."""
    port = free_port()
    folder: Path = tmp_path_factory.mktemp("server")
    settings = Settings(
        database_url=database_url,
        base_url=f"http://127.0.0.1:{port}",
        secret_key=SecretStr(SECRET.decode()),
        secret_key_file=folder / "secret.key",
        max_body_bytes=200_000,
        mail_interval_seconds=0,
    )
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", settings)
    server.should_exit = True
    thread.join(timeout=10)
