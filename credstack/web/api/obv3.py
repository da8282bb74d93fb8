"""The 1EdTech Open Badges 3.0 API (``/ims/ob/v3p0``): credstack as a Host.

https://www.imsglobal.org/spec/ob/v3p0/#api. The authenticated user (see
docs/decisions/0007-ob-api-oauth.md) keeps a wallet here: ``POST /credentials`` stores a
credential that verifies (``credstack.services.hosting``), ``GET /credentials`` pages
through the wallet (``X-Total-Count`` and ``Link`` headers), ``GET|PUT /profile`` read and
replace the user's own profile. ``GET /discovery`` is the unprotected Service Description
Document: the vendored OpenAPI file, profiled with this server's URLs.

This API is the one exception to credstack's ``{"error", "detail"}`` errors: it answers
with the spec's ``Imsx_StatusInfo`` (``imsx_codeMajor: failure``, ``imsx_severity:
error``, ``imsx_description`` and a code minor). ``ImsxRoute`` turns every error raised
under this router into an ``ImsxError``, which propagates (so the unit of work rolls back)
to the handler that ``install`` registers; unknown paths and methods under the prefix
answer 404/405 the same way.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from authlib.oauth2.base import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import MissingAuthorizationError  # type: ignore[import-untyped]
from authlib.oauth2.rfc6750 import InsufficientScopeError  # type: ignore[import-untyped]
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from credstack.db.hosting import HeldCredentials, HostProfiles
from credstack.db.oauth import OAuthStore
from credstack.domain.errors import Conflict, CredstackError, Forbidden, Invalid, NotFound
from credstack.domain.hosting import HeldForm
from credstack.services import hosting
from credstack.services.platform import Platform, utc_now
from credstack.web import deps
from credstack.web.api import obv3_oauth
from credstack.web.api.obv3_oauth import SessionDep, raw_body
from credstack.web.api.vcapi import options_for
from credstack.web.oauth import ObScope, authorize_access

log = logging.getLogger("credstack.web.obv3")
PREFIX = "/ims/ob/v3p0"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
JSON_TYPES = frozenset({"application/json", "application/vc+ld+json", "application/ld+json"})
KNOWN_PATHS: dict[str, tuple[str, ...]] = {
    "/discovery": ("GET",),
    "/credentials": ("GET", "POST"),
    "/profile": ("GET", "PUT"),
}
MINOR = {
    400: "invalid_data",
    401: "unauthorizedrequest",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    406: "not_acceptable",
    409: "invalid_data",
    415: "invalid_data",
    500: "internal_server_error",
}


# --- Imsx_StatusInfo errors -------------------------------------------------------------


class ImsxError(Exception):
    """An error of the OB 3.0 API, answered as ``Imsx_StatusInfo``."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        minor: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.minor = minor or MINOR.get(status, "unknown")
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """https://www.imsglobal.org/spec/ob/v3p0/#org.1edtech.ob.v3p0.imsx_statusinfo.class"""
        return {
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_description": self.description,
            "imsx_codeMinor": {
                "imsx_codeMinorField": [
                    {"imsx_codeMinorFieldName": "credstack", "imsx_codeMinorFieldValue": self.minor}
                ]
            },
        }


def as_imsx(exc: Exception) -> ImsxError:
    """Map whatever went wrong under this router to ``Imsx_StatusInfo``."""
    if isinstance(exc, ImsxError):
        return exc
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        where = [".".join(str(p) for p in e.get("loc", ())) for e in errors[:3]]
        in_query = any(str(e.get("loc", ("",))[0]) == "query" for e in errors)
        minor = "invalid_query_parameter" if in_query else "invalid_data"
        return ImsxError(400, f"invalid {', '.join(where) or 'request'}", minor=minor)
    if isinstance(exc, HTTPException):
        return ImsxError(exc.status_code, str(exc.detail))
    if isinstance(exc, CredstackError):
        kinds = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (Invalid, 400))
        status = next((code for kind, code in kinds if isinstance(exc, kind)), 400)
        return ImsxError(status, exc.message)
    log.error("unhandled error in the OB 3.0 API: %s", type(exc).__name__, exc_info=exc)
    return ImsxError(500, "the server failed to handle this request")


class ImsxRoute(APIRoute):
    """Every error raised by a route, its dependencies or its validation becomes Imsx."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except ImsxError:
                raise
            except Exception as exc:  # re-raised as ImsxError: never swallowed
                raise as_imsx(exc) from exc

        return route


async def _render(_request: Request, exc: Exception) -> Response:
    error = exc if isinstance(exc, ImsxError) else as_imsx(exc)
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


router = APIRouter(prefix=PREFIX, tags=["ob-v3p0"], route_class=ImsxRoute)


def install(app: FastAPI) -> None:
    """Mount the OB 3.0 API and its OAuth endpoints; answer its errors as Imsx_StatusInfo."""
    app.add_exception_handler(ImsxError, _render)
    app.include_router(router)
    app.include_router(obv3_oauth.router)


# --- who is calling ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Holder:
    """The user an access token speaks for, and the client holding it."""

    subject: str
    client_id: str


def _challenge(error: str | None = None, scope: str | None = None) -> dict[str, str]:
    parts = ['Bearer realm="credstack"']
    if error:
        parts.append(f'error="{error}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return {"WWW-Authenticate": ", ".join(parts)}


def allow(scope: ObScope) -> Callable[[Request, Any], Holder]:
    """A dependency admitting a valid, unrevoked access token that carries ``scope``."""

    def check(request: Request, db: SessionDep) -> Holder:
        try:
            token = authorize_access(OAuthStore(db), utc_now(), request.headers, scope)
        except MissingAuthorizationError as exc:
            raise ImsxError(401, "send an access token", headers=_challenge()) from exc
        except InsufficientScopeError as exc:
            raise ImsxError(
                403,
                f"the access token lacks the scope {scope}",
                headers=_challenge("insufficient_scope", scope),
            ) from exc
        except OAuth2Error as exc:
            raise ImsxError(
                401,
                "the access token is invalid, expired or revoked",
                headers=_challenge("invalid_token"),
            ) from exc
        return Holder(token.subject, token.grant.client_id)

    return check


def _platform(request: Request, db: SessionDep) -> Platform:
    return deps.platform(request, db)


PlatformDep = Annotated[Platform, Depends(_platform)]


# --- discovery --------------------------------------------------------------------------


@functools.cache
def _vendored_openapi() -> dict[str, Any]:
    text = resources.files("credstack.domain").joinpath("schemas", "ob_v3p0_openapi.json")
    loaded: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return loaded


def service_description(base_url: str) -> dict[str, Any]:
    """The vendored OB 3.0 OpenAPI file, profiled for this server (its SDD)."""
    base = base_url.rstrip("/")
    terms, privacy = f"{base}/terms", f"{base}/privacy"
    document = copy.deepcopy(_vendored_openapi())
    info = {k: v for k, v in document["info"].items() if k != "contact"}
    document["info"] = {
        **info,
        "title": "credstack Open Badges 3.0 API",
        "description": "Open Badges 3.0 Host: a wallet for each user who signs in by email.",
        "termsOfService": terms,
        "x-imssf-privacyPolicyUrl": privacy,
    }
    document["servers"] = [{"url": f"{base}{PREFIX}", "description": "credstack"}]
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    flow = scheme["flows"]["authorizationCode"]
    document["components"]["securitySchemes"]["OAuth2ACG"] = {
        "type": "oauth2",
        "description": "OAuth 2.0 Authorization Code Grant authorization (PKCE S256 required)",
        "x-imssf-name": "credstack",
        "x-imssf-privacyPolicyUrl": privacy,
        "x-imssf-termsOfServiceUrl": terms,
        "x-imssf-registrationUrl": f"{base}/oauth/register",
        "x-credstack-revocationUrl": f"{base}/oauth/revoke",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": f"{base}/oauth/authorize",
                "tokenUrl": f"{base}/oauth/token",
                "refreshUrl": f"{base}/oauth/token",
                "scopes": dict(flow["scopes"]),
            }
        },
    }
    return document


@router.get("/discovery", response_class=JSONResponse)
def discovery(found: PlatformDep) -> JSONResponse:
    """getServiceDescription: MUST NOT be protected."""
    return JSONResponse(
        service_description(found.base_url), headers={"Cache-Control": "public, max-age=3600"}
    )


# --- credentials ------------------------------------------------------------------------


def _since(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ImsxError(
            400, "since must be an ISO 8601 date-time", minor="invalid_query_parameter"
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def link_header(url: str, *, limit: int, offset: int, total: int, extra: Mapping[str, str]) -> str:
    """RFC 8288 links: ``next`` (more to come), ``last`` and ``first`` (always), ``prev``."""

    def link(rel: str, at: int) -> str:
        return f'<{url}?{urlencode({**extra, "limit": limit, "offset": at})}>; rel="{rel}"'

    last = ((total - 1) // limit) * limit if total > 0 else 0
    links = []
    if offset + limit < total:
        links.append(link("next", offset + limit))
    links += [link("last", last), link("first", 0)]
    if offset > 0:
        links.append(link("prev", max(offset - limit, 0)))
    return ", ".join(links)


@router.get("/credentials", response_class=Response)
def get_credentials(
    found: PlatformDep,
    db: SessionDep,
    who: Annotated[Holder, Depends(allow(ObScope.CREDENTIAL_READONLY))],
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    since: Annotated[str | None, Query()] = None,
) -> Response:
    """getCredentials: the user's credentials, Data Integrity ones exactly as stored."""
    size = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
    after = _since(since)
    items, total = hosting.list_credentials(
        HeldCredentials(db), who.subject, limit=size, offset=offset, since=after
    )
    documents = [i.document for i in items if i.form is HeldForm.JSON]
    tokens = [json.dumps(i.document) for i in items if i.form is HeldForm.JWT]
    body = f'{{"credential":[{",".join(documents)}],"compactJwsString":[{",".join(tokens)}]}}'
    extra = {"since": since.strip()} if since and since.strip() else {}
    url = f"{found.base_url.rstrip('/')}{PREFIX}/credentials"
    headers = {
        "X-Total-Count": str(total),
        "Link": link_header(url, limit=size, offset=offset, total=total, extra=extra),
        "Cache-Control": "no-store",
    }
    return Response(body, media_type="application/json", headers=headers)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@router.post("/credentials", response_class=Response)
def upsert_credential(
    request: Request,
    found: PlatformDep,
    db: SessionDep,
    who: Annotated[Holder, Depends(allow(ObScope.CREDENTIAL_UPSERT))],
    body: Annotated[bytes, Depends(raw_body)],
) -> Response:
    """upsertCredential: 201 when new, 200 when an equal credential was held already."""
    media = _media_type(request)
    if media in JSON_TYPES:
        form = HeldForm.JSON
    elif media == "text/plain":
        form = HeldForm.JWT
    else:
        raise ImsxError(
            415, "send application/json, application/vc+ld+json, or text/plain (a compact JWS)"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImsxError(400, "the body is not UTF-8 text") from exc
    result = hosting.upsert_credential(
        HeldCredentials(db), who.subject, text, form=form, options=options_for(found)
    )
    status = 201 if result.created else 200
    if form is HeldForm.JWT:
        return Response(result.document, status_code=status, media_type="text/plain")
    echo = "application/vc+ld+json" if media == "application/vc+ld+json" else "application/json"
    return Response(result.document, status_code=status, media_type=echo)


# --- profile ----------------------------------------------------------------------------


@router.get("/profile", response_class=JSONResponse)
def get_profile(
    db: SessionDep, who: Annotated[Holder, Depends(allow(ObScope.PROFILE_READONLY))]
) -> JSONResponse:
    """getProfile: the user's profile (their verified email address until they write one)."""
    return JSONResponse(hosting.get_profile(HostProfiles(db), who.subject))


@router.put("/profile", response_class=JSONResponse)
def put_profile(
    db: SessionDep,
    who: Annotated[Holder, Depends(allow(ObScope.PROFILE_UPDATE))],
    body: Annotated[bytes, Depends(raw_body)],
) -> JSONResponse:
    """putProfile: replace the user's profile with the one sent (200 with it)."""
    try:
        profile = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ImsxError(400, "the body must be a JSON Profile") from exc
    stored = hosting.put_profile(HostProfiles(db), who.subject, profile, utc_now())
    return JSONResponse(stored)


# --- everything else under the prefix ---------------------------------------------------


@router.api_route(
    "/{rest:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
def unknown(rest: str) -> Response:
    allowed = KNOWN_PATHS.get(f"/{rest}")
    if allowed:
        raise ImsxError(
            405, f"allowed methods: {', '.join(allowed)}", headers={"Allow": ", ".join(allowed)}
        )
    raise ImsxError(404, f"no such endpoint: {PREFIX}/{rest}")
