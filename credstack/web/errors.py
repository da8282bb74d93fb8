"""One mapping from the error tree to HTTP: ``{"error": code, "detail": message}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from credstack.domain.errors import Conflict, CredstackError, Forbidden, Invalid, NotFound

log = logging.getLogger("credstack.web")
STATUS: list[tuple[type[CredstackError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (Invalid, 422),
]


def problem(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


class Unauthorized(CredstackError):
    code = "unauthorized"


def install(app: FastAPI) -> None:
    @app.exception_handler(CredstackError)
    async def domain_error(_request: Request, exc: CredstackError) -> JSONResponse:
        if isinstance(exc, Unauthorized):
            response = problem(401, exc.code, exc.message)
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        status = next((code for kind, code in STATUS if isinstance(exc, kind)), 400)
        return problem(status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
        return problem(422, "invalid", "; ".join(parts) or "invalid request")

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        names = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 401: "unauthorized"}
        return problem(exc.status_code, names.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(DataError)
    async def unstorable(_request: Request, exc: DataError) -> JSONResponse:
        """A value the database refuses (too long, out of range, NUL): the input's fault."""
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return problem(422, "invalid", "a value is too long, out of range or not storable")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return problem(500, "internal", "the server failed to handle this request")
