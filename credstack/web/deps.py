"""Request-scoped dependencies: settings, the unit of work, the platform, the caller."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from credstack.db.outbox import SqlOutbox
from credstack.db.repositories import platform_for
from credstack.domain.errors import Forbidden
from credstack.domain.platform import ApiToken, Organization, Scope
from credstack.services.platform import Platform
from credstack.settings import Settings
from credstack.web.errors import Unauthorized


def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back.

    Used with ``scope="function"`` (``SessionDep``): the commit happens before the response
    is sent, so a client never gets a success for data that is not (or never) committed.
    """
    factory = request.app.state.sessions
    with factory() as db, db.begin():
        yield db


SessionDep = Annotated[Session, Depends(session, scope="function")]


def platform(request: Request, db: SessionDep) -> Platform:
    config: Settings = request.app.state.settings
    return platform_for(
        db,
        base_url=config.base_url,
        secret=request.app.state.secret,
        remote_dids=request.app.state.remote_dids,
        remote_status=request.app.state.remote_status,
        outbox=SqlOutbox(db),
    )


PlatformDep = Annotated[Platform, Depends(platform)]
SettingsDep = Annotated[Settings, Depends(settings)]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    token: ApiToken
    org: Organization


def caller(request: Request, found: PlatformDep) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    token = found.tokens.by_hash(token_hash(value.strip()))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("the API token is unknown or revoked")
    org = found.orgs.get(token.org_id)
    if org is None:
        raise Unauthorized("the API token's organization no longer exists")
    return Caller(token, org)


def require(scope: Scope) -> Callable[[Caller], Caller]:
    """A dependency that admits callers whose token carries ``scope``."""

    def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if scope not in who.token.scopes:
            raise Forbidden(f"this token lacks the scope {scope!s}")
        return who

    return check
