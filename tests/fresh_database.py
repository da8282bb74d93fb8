"""A database of its own, migrated and empty, for tests whose data must be committed
(the console script and the background sender work in their own transactions).

SQLite: a new file in the test's folder. PostgreSQL (when CREDSTACK_TEST_DATABASE_URL is
set): a new schema, dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from credstack.db.session import upgrade
from tests.conftest import PG_URL


@contextmanager
def fresh_database(backend: str, folder: Path, name: str) -> Iterator[str]:
    """Yield the URL of a migrated, empty database on ``backend`` (sqlite or postgresql)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'{name}.db'}"
        upgrade(url)
        yield url
        return
    if not PG_URL:
        pytest.skip("PostgreSQL lane skipped: CREDSTACK_TEST_DATABASE_URL is not set")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"credstack_{name}_{worker}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
