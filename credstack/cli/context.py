"""Composition root for commands that use the platform database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from credstack.db.outbox import SqlOutbox
from credstack.db.repositories import platform_for
from credstack.db.session import make_engine, session_factory, transaction
from credstack.services.platform import Platform
from credstack.settings import Settings, get_settings


@contextmanager
def platform(settings: Settings | None = None) -> Iterator[Platform]:
    """One unit of work over the configured database: committed on success."""
    config = settings or get_settings()
    engine = make_engine(config.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            yield platform_for(
                session,
                base_url=config.base_url,
                secret=config.secret(),
                outbox=SqlOutbox(session),
            )
    finally:
        engine.dispose()
