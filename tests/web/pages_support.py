"""Helpers of the page tests: a browser-like client, credentials issued through the
services (committed, as a request would), and links read from the outbox."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr
from sqlalchemy import Engine, select

from credstack.db.outbox import SqlOutbox
from credstack.db.repositories import platform_for
from credstack.db.session import session_factory, transaction
from credstack.db.tables import OutboxRow
from credstack.domain.platform import Award, Organization, Role, StaffMember
from credstack.services import achievements, awards
from credstack.services.organizations import create_organization, profile_of
from credstack.settings import Settings
from credstack.web.app import create_app
from tests.conftest import SECRET

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PASSWORD = "correct horse battery staple"
DEFINITION: dict[str, Any] = {
    "type": ["Achievement"],
    "name": "Spreadsheet Modelling",
    "description": "Builds and checks spreadsheet models.",
    "criteria": {"narrative": "Pass the modelling project."},
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def unique_email(name: str = "learner") -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.org"


def settings_for(database_url: str, base_url: str, folder: Path, **extra: Any) -> Settings:
    extra.setdefault("mail_interval_seconds", 0)
    return Settings(
        database_url=database_url,
        base_url=base_url,
        secret_key=SecretStr(SECRET.decode()),
        secret_key_file=folder / "secret.key",
        **extra,
    )


@contextmanager
def site(settings: Settings) -> Iterator[FastAPI]:
    """The application (no lifespan: no background mail sender unless a test starts one)."""
    app = create_app(settings)
    try:
        yield app
    finally:
        app.state.engine.dispose()


class Visitor:
    """A person with a browser: sends browser Accept headers, keeps cookies, and fills
    each form's CSRF token from the page it last read."""

    def __init__(self, app: FastAPI, base_url: str) -> None:
        self.base_url = base_url
        self.http = TestClient(app, base_url=base_url, follow_redirects=False)
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> Response:
        headers = {**BROWSER, **kwargs.pop("headers", {})}
        response: Response = self.http.get(path, headers=headers, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def follow(self, response: Response) -> Response:
        while response.status_code in (302, 303, 307):
            response = self.get(response.headers["location"])
        return response

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Response:
        form = {"csrf_token": self.token, **(data or {})}
        headers = {**BROWSER, **kwargs.pop("headers", {})}
        response: Response = self.http.post(path, data=form, headers=headers, **kwargs)
        return response

    def form(self, path: str, data: dict[str, str]) -> Response:
        """Open the page at ``path`` (for its token), then post ``data`` to it."""
        self.get(path)
        return self.post(path, data)

    def sign_up(self, email: str, password: str = PASSWORD) -> Response:
        return self.form("/sign-up", {"email": email, "password": password})

    def sign_in(self, email: str, password: str = PASSWORD, next_path: str = "") -> Response:
        return self.form("/sign-in", {"email": email, "password": password, "next": next_path})

    @property
    def session_cookie(self) -> str | None:
        for cookie in self.http.cookies.jar:
            if cookie.name.endswith("credstack_session"):
                return str(cookie.value)
        return None


def link_in_outbox(engine: Engine, to: str, path: str) -> str:
    """The path of the newest link to ``path…`` in the emails queued for ``to``."""
    with transaction(session_factory(engine)) as session:
        rows = session.scalars(
            select(OutboxRow).where(OutboxRow.to == to).order_by(OutboxRow.created_at.desc())
        ).all()
        texts = [row.text for row in rows]
    for text in texts:
        found = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]*)", text)
        if found:
            return found.group(1)
    raise AssertionError(f"no email to {to} links to {path}")


def subjects_in_outbox(engine: Engine, to: str) -> list[str]:
    with transaction(session_factory(engine)) as session:
        return list(session.scalars(select(OutboxRow.subject).where(OutboxRow.to == to)))


@dataclass(frozen=True)
class Issued:
    award: Award
    org: Organization

    @property
    def credential(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.award.document)
        return loaded


def issue(
    engine: Engine,
    base_url: str,
    *,
    email: str | None = None,
    did: str | None = None,
    revoke: bool = False,
    staff: tuple[str, str] | None = None,
    name: str = "Northwind College",
) -> Issued:
    """One credential issued through the services to ``email`` (or ``did``), committed."""
    now = datetime.now(UTC)
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=base_url, secret=SECRET, outbox=SqlOutbox(session))
        org = create_organization(
            found.orgs,
            found.keys,
            slug=f"o-{uuid.uuid4().hex[:12]}",
            name=name,
            secret=SECRET,
            now=now,
        )
        if staff is not None:
            found.orgs.add_staff(StaffMember(org.id, staff[0], Role(staff[1])))
        record = achievements.define(
            found.achievements,
            org,
            key="modelling",
            definition=DEFINITION,
            creator=profile_of(org, base_url),
            base_url=base_url,
            now=now,
            validity_days=365,
        )
        award = awards.issue_award(
            found,
            awards.issuer_of(found, org),
            record,
            awards.AwardRequest(recipient_email=email, recipient_did=did, learner_name="Ada"),
        )
        if revoke:
            award = awards.revoke(found, award, "issued in error")
        return Issued(award, org)
