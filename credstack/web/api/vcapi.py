"""W3C VC-API: issue, verify credentials and presentations, update status.

https://w3c-ccg.github.io/vc-api/ . Issuing signs as the organization of the bearer
token; verifying is open to everyone and never trusts anything but the proofs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from credstack.crypto.loader import default_loader
from credstack.crypto.proofs import SUITES
from credstack.domain.errors import Invalid, NotFound
from credstack.domain.platform import Scope
from credstack.services import awards
from credstack.services.platform import Platform
from credstack.services.presentations import verify_presentation
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


@router.post("/credentials/verify", response_model=None)
def verify_credential(body: VerifyRequest, found: PlatformDep) -> dict[str, Any] | JSONResponse:
    """200 with every check when verified; 400 with the failed checks when not."""
    result = verify(body.verifiableCredential, options_for(found))
    payload = {**result.to_json(), "errors": [c.to_json() for c in result.failed()]}
    if result.verified:
        return payload
    detail = "; ".join(f"{c.code}: {c.message}" for c in result.failed())
    return JSONResponse(
        {"error": "verification_failed", "detail": detail, **payload}, status_code=400
    )


@router.post("/presentations/verify", response_model=None)
def verify_vp(body: PresentationRequest, found: PlatformDep) -> dict[str, Any] | JSONResponse:
    result = verify_presentation(
        body.verifiablePresentation,
        options_for(found),
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
