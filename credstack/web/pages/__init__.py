"""Server-rendered pages (Jinja2 + htmx): home, verification, accounts, wallet, console.

``install(app)`` mounts ``/static``, the page routers and the HTML error handling; see
docs/decisions/0014-web-pages.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from credstack.web.pages import analytics as console_analytics
from credstack.web.pages import auth, home, render, session, verify, wallet
from credstack.web.pages import console as console_overview
from credstack.web.pages import console_achievements as console_achievement_pages
from credstack.web.pages import console_awards as console_award_pages
from credstack.web.pages import console_bulk as console_bulk_pages
from credstack.web.pages import console_keys as console_key_pages
from credstack.web.pages import console_pathways as console_pathway_pages
from credstack.web.pages import downloads as wallet_downloads
from credstack.web.pages import employer as employer_pages
from credstack.web.pages import share as share_pages


def install(app: FastAPI) -> None:
    """Call after ``credstack.web.errors.install`` (the HTML 404 wraps its JSON one)."""
    session.passwords(app)
    app.mount("/static", StaticFiles(directory=render.STATIC), name="static")
    for router in (home.router, verify.router, auth.router, wallet.router):
        app.include_router(router)
    app.include_router(wallet_downloads.router)
    app.include_router(share_pages.router)
    app.include_router(employer_pages.router)
    app.include_router(console_overview.router)
    app.include_router(console_achievement_pages.router)
    app.include_router(console_pathway_pages.router)
    app.include_router(console_award_pages.router)
    app.include_router(console_bulk_pages.router)
    app.include_router(console_key_pages.router)
    app.include_router(console_analytics.router)
    session.install_errors(app)
