"""The application factory: ``create_app(settings)`` wires adapters to the services."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from credstack.crypto.loader import default_loader
from credstack.db.session import make_engine, session_factory
from credstack.remote import RemoteDidResolver, RemoteFetcher, RemotePolicy, RemoteStatusLists
from credstack.services.verifying import VerifyOptions
from credstack.settings import Settings
from credstack.web import errors, mail, pages
from credstack.web.api import admin, bulk, obv3, pathways, public, vcapi
from credstack.web.limits import BodyLimit


def remote_resolvers(settings: Settings) -> tuple[RemoteDidResolver, RemoteStatusLists]:
    """Resolvers for other issuers' did:web documents and status lists (allow-listed)."""
    fetcher = RemoteFetcher(
        RemotePolicy(
            allowlist=tuple(settings.remote_allowlist),
            timeout_seconds=settings.remote_timeout_seconds,
            max_bytes=settings.remote_max_bytes,
        )
    )
    dids = RemoteDidResolver(fetcher)
    options = VerifyOptions(now=datetime.now(UTC), loader=default_loader(), resolve=dids)
    return dids, RemoteStatusLists(fetcher, options)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="credstack",
        version="0.1.0",
        description="Stackable micro-credentials on Open Badges 3.0 and W3C VC 2.0.",
        lifespan=mail.lifespan,  # the background email sender (see credstack/web/mail.py)
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.secret = settings.secret()
    app.state.list_cache = {}
    app.state.remote_dids = None
    app.state.remote_status = None
    if settings.remote_enabled:
        app.state.remote_dids, app.state.remote_status = remote_resolvers(settings)
    app.state.verify_cache = vcapi.VerifyCache(  # the verification fast path (0013)
        app.state.sessions,
        base_url=settings.base_url,
        ttl=settings.verify_cache_seconds,
        remote_dids=app.state.remote_dids,
        remote_status=app.state.remote_status,
    )
    errors.install(app)
    pages.install(app)  # server-rendered pages, /static and their HTML errors (0014)
    app.include_router(public.router)
    app.include_router(vcapi.router)
    app.include_router(admin.router)
    app.include_router(bulk.router)
    app.include_router(pathways.router)
    app.include_router(pathways.public)
    obv3.install(app)  # the 1EdTech OB 3.0 API and its OAuth endpoints (Imsx errors)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
