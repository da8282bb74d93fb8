"""W3C VC-API: issue, verify credentials and presentations, update status.

https://w3c-ccg.github.io/vc-api/ . Issuing signs as the organization of the bearer
token; verifying is open to everyone and never trusts anything but the proofs.

Verifying is the hot path (decision 0013). ``POST /credentials/verify`` opens no database
session when what it needs is cached: :class:`VerifyCache` keeps, per process, the DID
documents of this platform's organizations and their decoded status lists for
``CREDSTACK_VERIFY_CACHE_SECONDS`` (default 5), then revalidates a list by its version (the
list's ETag: one primary-key read, the bits are fetched again only when it changed). A
revocation or suspension made by this process drops the list at once (and keeps it
revalidated on every use for a minute, until the change has surely committed); other
processes see it within the TTL. A verification method missing from a cached DID document
reloads the document (a key added since). The request is parsed straight from its bytes
(pydantic, one pass) and answered with orjson; it runs on the event loop when everything it
needs is cached, in the thread pool otherwise (a database or network lookup).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from credstack.crypto.did import DidResolver, VerificationMethod
from credstack.crypto.loader import default_loader
from credstack.crypto.proofs import SUITES, proofs_of
from credstack.db.repositories import Repositories
from credstack.db.tables import StatusListRow
from credstack.domain.errors import Invalid, NotFound
from credstack.domain.platform import Scope
from credstack.services import awards, status_registry
from credstack.services.organizations import document_for, org_did
from credstack.services.platform import Platform
from credstack.services.presentations import verify_presentation
from credstack.services.status import StatusList, StatusResolver, entries
from credstack.services.verifying import VerifyOptions, verify
from credstack.web.deps import Caller, PlatformDep, require

router = APIRouter(tags=["vc-api"])


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credential: dict[str, Any]
    options: dict[str, Any] = Field(default_factory=dict)


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    verifiableCredential: dict[str, Any] | str  # noqa: N815 - the VC-API's own name
    options: dict[str, Any] = Field(default_factory=dict)


class PresentationRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    verifiablePresentation: dict[str, Any]  # noqa: N815 - the VC-API's own name
    options: dict[str, Any] = Field(default_factory=dict)


class StatusEntry(BaseModel):
    statusPurpose: str  # noqa: N815
    status: bool


class StatusRequest(BaseModel):
    credentialId: str  # noqa: N815
    credentialStatus: list[StatusEntry]  # noqa: N815


def options_for(found: Platform) -> VerifyOptions:
    return VerifyOptions(
        now=found.now(),
        loader=default_loader(),
        resolve=awards.resolver(found),
        status=awards.PlatformStatusLists(found),
    )


# -- the verification cache ------------------------------------------------------------

#: How long a list changed by this process is revalidated on every use (its change may
#: not have committed when the cache heard of it).
DIRTY_SECONDS = 60.0


@dataclass(slots=True)
class _Did:
    resolver: DidResolver | None  # None: no such organization
    loaded: float
    fresh_until: float


@dataclass(slots=True)
class _List:
    status: StatusList | None  # None: no such list (for this organization)
    version: int
    fresh_until: float


class VerifyCache:
    """This platform's DID documents and status lists for verification, per process.

    Entries live ``ttl`` seconds (0: revalidated on every use); sessions are opened only
    to load or revalidate. Anything that is not this platform's goes to the remote
    resolvers (when enabled) uncached here.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        base_url: str,
        ttl: float,
        remote_dids: Callable[[str], VerificationMethod | None] | None = None,
        remote_status: StatusResolver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._base_url = base_url
        self.ttl = ttl
        self._remote_dids = remote_dids or DidResolver()
        self._remote_status = remote_status
        self._clock = clock
        self._did_prefix = org_did(base_url, "x")[: -len("x")]
        self._list_prefix = f"{base_url.rstrip('/')}/orgs/"
        self._dids: dict[str, _Did] = {}
        self._lists: dict[str, _List] = {}
        self._dirty: dict[str, float] = {}
        self._lock = threading.Lock()
        status_registry.on_list_change(self.invalidate)

    # -- what a verification asks -------------------------------------------------------

    def options(self, now: datetime | None = None) -> VerifyOptions:
        return VerifyOptions(
            now=now or datetime.now(UTC),
            loader=default_loader(),
            resolve=self.resolve,
            status=self.status,
        )

    def resolve(self, method_id: str) -> VerificationMethod | None:
        did = method_id.partition("#")[0]
        if not did.startswith(self._did_prefix):
            return self._remote_dids(method_id)
        slug = did.removeprefix(self._did_prefix)
        now = self._clock()
        entry = self._dids.get(slug)
        if entry is None or now >= entry.fresh_until:
            entry = self._load_did(slug, now)
        method = entry.resolver(method_id) if entry.resolver is not None else None
        if method is None and entry.loaded < now:  # a key added since it was loaded
            entry = self._load_did(slug, now)
            method = entry.resolver(method_id) if entry.resolver is not None else None
        return method

    def status(self, url: str, now: datetime) -> StatusList | None:
        own = self._own_list(url)
        if own is None:
            return self._remote_status(url, now) if self._remote_status else None
        slug, list_id = own
        clock = self._clock()
        entry = self._lists.get(url)
        if entry is None or clock >= entry.fresh_until or self._is_dirty(list_id, clock):
            entry = self._revalidate(url, slug, list_id, entry, clock)
        return entry.status

    def covers(self, credential: Mapping[str, Any]) -> bool:
        """Whether verifying ``credential`` needs nothing but fresh entries of this cache
        (then it may run on the event loop: no database, no network)."""
        clock = self._clock()
        for proof in proofs_of(credential):
            method = proof.get("verificationMethod")
            did = method.partition("#")[0] if isinstance(method, str) else ""
            if not did.startswith(self._did_prefix):
                return False
            entry = self._dids.get(did.removeprefix(self._did_prefix))
            if entry is None or clock >= entry.fresh_until or entry.resolver is None:
                return False
            if entry.resolver(str(method)) is None:
                return False
        for status in entries(credential):
            url = status.get("statusListCredential")
            own = self._own_list(url) if isinstance(url, str) else None
            if own is None:
                return False
            cached = self._lists.get(str(url))
            if cached is None or clock >= cached.fresh_until or self._is_dirty(own[1], clock):
                return False
        return True

    # -- changes ------------------------------------------------------------------------

    def invalidate(self, list_id: str) -> None:
        """This process changed ``list_id``: drop it, and revalidate it on every use for
        :data:`DIRTY_SECONDS`."""
        with self._lock:
            self._dirty[list_id] = self._clock() + DIRTY_SECONDS
            for url, entry in list(self._lists.items()):
                if url.endswith(f"/status/{list_id}"):
                    entry.fresh_until = 0.0

    def clear(self) -> None:
        with self._lock:
            self._dids.clear()
            self._lists.clear()

    # -- loading ------------------------------------------------------------------------

    def _is_dirty(self, list_id: str, clock: float) -> bool:
        until = self._dirty.get(list_id)
        if until is None:
            return False
        if clock < until:
            return True
        self._dirty.pop(list_id, None)
        return False

    def _own_list(self, url: str) -> tuple[str, str] | None:
        if not url.startswith(self._list_prefix) or "/status/" not in url:
            return None
        slug, _, list_id = url.removeprefix(self._list_prefix).partition("/status/")
        return (slug, list_id) if slug and list_id and "/" not in list_id else None

    def _load_did(self, slug: str, now: float) -> _Did:
        with self._sessions() as session:
            repos = Repositories(session)
            org = repos.orgs.by_slug(slug)
            resolver = (
                DidResolver([document_for(repos.keys, org, self._base_url)])
                if org is not None
                else None
            )
        entry = _Did(resolver, now, now + self.ttl)
        self._dids[slug] = entry
        return entry

    def _revalidate(
        self, url: str, slug: str, list_id: str, entry: _List | None, now: float
    ) -> _List:
        with self._sessions() as session:
            if entry is not None and entry.status is not None:
                version = session.scalar(
                    select(StatusListRow.version).where(StatusListRow.id == list_id)
                )
                if version == entry.version:  # unchanged (the ETag matches): keep the bits
                    entry.fresh_until = now + self.ttl
                    return entry
            repos = Repositories(session)
            state = repos.status_lists.get(list_id)
            org = repos.orgs.by_slug(slug)
        if state is None or org is None or state.org_id != org.id:
            fresh = _List(None, -1, now + self.ttl)
        else:
            issuer = org_did(self._base_url, org.slug)
            fresh = _List(
                status_registry.as_status_list(state, url, issuer),
                state.version,
                now + self.ttl,
            )
        self._lists[url] = fresh
        return fresh


# -- fast request and response ---------------------------------------------------------

Model = TypeVar("Model", bound=BaseModel)


def _parse(model: type[Model], raw: bytes) -> Model:
    """The body as ``model`` in one pass from its bytes; 422 as FastAPI would answer."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        found: list[dict[str, Any]] = [
            dict(e) for e in exc.errors(include_url=False, include_input=False)
        ]
        if any(e["type"] == "json_invalid" for e in found):  # as FastAPI words it
            found = [{"type": "json_invalid", "loc": (), "msg": "JSON decode error"}]
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in found]
        raise RequestValidationError(errors) from None


def _json(payload: Any, status_code: int = 200) -> Response:
    try:
        body = orjson.dumps(payload)
    except TypeError:  # what orjson refuses (an integer beyond 64 bits in a CLR summary)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status_code, media_type="application/json")


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _verified(result: Any) -> Response:
    payload = {**result.to_json(), "errors": [c.to_json() for c in result.failed()]}
    if result.verified:
        return _json(payload)
    detail = "; ".join(f"{c.code}: {c.message}" for c in result.failed())
    return _json({"error": "verification_failed", "detail": detail, **payload}, 400)


@router.post("/credentials/issue", status_code=201)
def issue(
    body: IssueRequest,
    found: PlatformDep,
    who: Annotated[Caller, Depends(require(Scope.AWARDS_ISSUE))],
) -> dict[str, Any]:
    suite = str(body.options.get("cryptosuite", "eddsa-rdfc-2022"))
    if suite not in SUITES:
        raise Invalid(f"options.cryptosuite must be one of {sorted(SUITES)}")
    award = awards.issue_document(
        found, awards.issuer_of(found, who.org), body.credential, suite=suite
    )
    return {"verifiableCredential": json.loads(award.document)}


@router.post(
    "/credentials/verify",
    response_model=None,
    openapi_extra=_body_schema(VerifyRequest),
    response_class=JSONResponse,
)
async def verify_credential(request: Request) -> Response:
    """200 with every check when verified; 400 with the failed checks when not."""
    body = _parse(VerifyRequest, await request.body())
    cache: VerifyCache = request.app.state.verify_cache
    credential = body.verifiableCredential
    options = cache.options()
    if isinstance(credential, dict) and cache.covers(credential):
        return _verified(verify(credential, options))
    return _verified(await run_in_threadpool(verify, credential, options))


@router.post("/presentations/verify", response_model=None)
def verify_vp(body: PresentationRequest, request: Request) -> dict[str, Any] | JSONResponse:
    cache: VerifyCache = request.app.state.verify_cache
    result = verify_presentation(
        body.verifiablePresentation,
        cache.options(),
        challenge=body.options.get("challenge"),
        domain=body.options.get("domain"),
    )
    if result.verified:
        return result.to_json()
    return JSONResponse(
        {
            "error": "verification_failed",
            "detail": "the presentation did not verify",
            **result.to_json(),
        },
        status_code=400,
    )


@router.post("/credentials/status")
def update_status(
    body: StatusRequest,
    found: PlatformDep,
    who: Annotated[Caller, Depends(require(Scope.STATUS_WRITE))],
) -> dict[str, Any]:
    award = awards.find(found, body.credentialId)
    if award.org_id != who.org.id:
        raise NotFound(f"no credential {body.credentialId!r}")
    for entry in body.credentialStatus:
        if entry.statusPurpose == "revocation":
            if not entry.status:
                raise Invalid("revocation cannot be undone")
            award = awards.revoke(found, award)
        elif entry.statusPurpose == "suspension":
            award = awards.suspend(found, award, entry.status)
        else:
            raise Invalid(f"unknown statusPurpose {entry.statusPurpose!r}")
    return {
        "credentialId": body.credentialId,
        "revoked": award.revoked_at is not None,
        "suspended": award.suspended,
    }
