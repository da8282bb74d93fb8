"""Stacking API: pathways (``pathways:write``), learners' progress, imports, trust lists,
articulation agreements, and public stack verification and CTDL.

A pathway's id is an IRI, so it travels as the ``id`` query parameter, never in the path.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from credstack.domain.errors import Invalid
from credstack.domain.pathway_formats import parse_pathway
from credstack.domain.pathway_validation import validate
from credstack.domain.platform import Scope
from credstack.domain.stack_records import PathwayVersion
from credstack.services import ledger, pathway_catalog, recognition, stacking
from credstack.services.stack_verify import verify_stack
from credstack.web.deps import Caller, PlatformDep, require

router = APIRouter(prefix="/api/v1", tags=["stacking"])
public = APIRouter(tags=["stacking"])
PathwayId = Annotated[str, Query(alias="id", description="The pathway's id (an IRI).")]
Version = Annotated[int | None, Query(description="Default: the latest published.")]
JsonBody = Annotated[Any, Body(description="CTDL JSON-LD or credstack's pathway JSON.")]


def _who(scope: Scope) -> Any:
    return Depends(require(scope))


def version_json(record: PathwayVersion, problems: list[Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.iri,
        "name": record.name,
        "version": record.version,
        "published": record.published,
        "createdAt": record.created_at.isoformat(),
    }
    if problems is not None:
        out["problems"] = [
            {"code": p.code, "message": p.message, "components": list(p.components)}
            for p in problems
        ]
    return out


@router.post("/pathways", status_code=201)
def import_pathway(
    body: JsonBody,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.PATHWAYS_WRITE)],
    publish: bool = False,
) -> dict[str, Any]:
    """Store the next version (a draft, or published when asked and valid)."""
    record, problems = pathway_catalog.import_pathway(found, who.org, body, publish=publish)
    return version_json(record, problems)


@router.post("/pathways/validate")
def validate_pathway(
    body: JsonBody, found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_READ)]
) -> dict[str, Any]:
    pathway = parse_pathway(body)
    problems = validate(pathway)
    return {
        "valid": not problems,
        "problems": [
            {"code": p.code, "message": p.message, "components": list(p.components)}
            for p in problems
        ],
    }


@router.post("/pathways/whatif")
def what_if(
    body: JsonBody, found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_READ)]
) -> dict[str, Any]:
    return pathway_catalog.what_if_report(found, who.org, body)


@router.get("/pathways")
def list_pathways(
    found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_READ)]
) -> list[dict[str, Any]]:
    assert found.stacking is not None
    return [version_json(p) for p in found.stacking.published_pathways(who.org.id)]


@router.get("/pathway")
def get_pathway(
    iri: PathwayId,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.ORG_READ)],
    version: Version = None,
    format: Annotated[str, Query(pattern="^(ctdl|credstack)$")] = "credstack",
) -> dict[str, Any]:
    if format == "ctdl":
        pathway_catalog.get_version(found, who.org, iri, version)
        return pathway_catalog.export_ctdl(found, iri, version)
    record = pathway_catalog.get_version(found, who.org, iri, version)
    return {**version_json(record), "definition": record.definition}


@router.post("/pathway/publish")
def publish_pathway(
    iri: PathwayId,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.PATHWAYS_WRITE)],
    version: Version = None,
) -> dict[str, Any]:
    return version_json(pathway_catalog.publish_version(found, who.org, iri, version))


@router.post("/pathways/sweep")
def sweep(found: PlatformDep, who: Annotated[Caller, _who(Scope.PATHWAYS_WRITE)]) -> dict[str, int]:
    """Re-evaluate every learner (after expiries): the number of stacks changed."""
    return {"changed": stacking.sweep(found)}


@router.get("/learners/{learner}/progress")
def learner_progress(
    learner: str,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.AWARDS_READ)],
    pathway: Annotated[str | None, Query(description="One pathway IRI.")] = None,
) -> list[dict[str, Any]]:
    items = stacking.learner_progress(found, learner, [pathway] if pathway else None)
    return [stacking.progress_json(i) for i in items if i.pathway.org_id == who.org.id]


@router.get("/learners/{learner}/stacks")
def learner_stacks(
    learner: str, found: PlatformDep, who: Annotated[Caller, _who(Scope.AWARDS_READ)]
) -> list[dict[str, Any]]:
    assert found.stacking is not None
    stacks = found.stacking.stack_awards(learner=recognition.learner_id(learner))
    return [stacking.stack_json(s, found.base_url) for s in stacks if s.org_id == who.org.id]


@router.post("/learners/{learner}/enroll")
def enroll(
    learner: str,
    iri: PathwayId,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.PATHWAYS_WRITE)],
    version: Version = None,
) -> dict[str, Any]:
    pathway_catalog.get_version(found, who.org, iri, version)
    enrollment = stacking.enroll(found, learner, iri, version)
    return {"learner": enrollment.learner, "pathway": iri, "version": enrollment.version}


@router.get("/learners/{learner}/ledger")
def learner_ledger(
    learner: str,
    program: Annotated[str, Query(description="The program's pathway IRI.")],
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.AWARDS_READ)],
) -> dict[str, Any]:
    pathway_catalog.get_version(found, who.org, program)
    return ledger.ledger(found, learner, program).to_json()


@router.post("/learners/{learner}/imports", status_code=201)
async def import_credential(
    learner: str,
    request: Request,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.AWARDS_ISSUE)],
) -> dict[str, Any]:
    """Import another issuer's credential for a learner: the body is its JSON, a VC-JWT
    (text/plain) or a baked PNG/SVG image."""
    raw = await request.body()
    if not raw:
        raise Invalid("send the credential as the request body")
    imported = recognition.import_credential(found, learner, raw)
    changed = stacking.sweep(found, [imported.learner])
    return {
        "credential": imported.credential_id,
        "issuer": imported.issuer,
        "learner": imported.learner,
        "stacksChanged": changed,
    }


@router.get("/trust")
def trust_list(
    found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_READ)]
) -> list[dict[str, Any]]:
    assert found.stacking is not None
    return [{"issuer": t.issuer, "name": t.name} for t in found.stacking.trusted(who.org.id)]


@router.post("/trust", status_code=201)
def trust_add(
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.PATHWAYS_WRITE)],
    issuer: Annotated[str, Body(embed=True)],
    name: Annotated[str, Body(embed=True)] = "",
) -> dict[str, Any]:
    entry = recognition.trust_issuer(found, who.org, issuer, name)
    return {"issuer": entry.issuer, "name": entry.name}


@router.delete("/trust", status_code=204)
def trust_remove(
    issuer: Annotated[str, Query()],
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.PATHWAYS_WRITE)],
) -> None:
    recognition.distrust_issuer(found, who.org, issuer)


@router.get("/articulations")
def articulations(
    found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_READ)]
) -> list[dict[str, Any]]:
    assert found.stacking is not None
    return [
        {
            "id": a.id,
            "program": a.program,
            "issuer": a.issuer,
            "credits": a.credits,
            "achievement": a.achievement_id,
            "alignment": a.alignment,
            "note": a.note,
        }
        for a in found.stacking.articulations(who.org.id)
    ]


@router.post("/articulations", status_code=201)
def add_articulation(
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.PATHWAYS_WRITE)],
    program: Annotated[str, Body(embed=True)],
    issuer: Annotated[str, Body(embed=True)],
    credits: Annotated[float, Body(embed=True)],
    achievement: Annotated[str | None, Body(embed=True)] = None,
    alignment: Annotated[str | None, Body(embed=True)] = None,
    note: Annotated[str | None, Body(embed=True)] = None,
) -> dict[str, Any]:
    agreement = recognition.add_articulation(
        found,
        who.org,
        program=program,
        issuer=issuer,
        credits=credits,
        achievement_id=achievement,
        alignment=alignment,
        note=note,
    )
    return {"id": agreement.id, "program": program, "credits": agreement.credits}


@public.post("/stacks/verify")
async def verify(request: Request, found: PlatformDep) -> dict[str, Any]:
    """Stack-aware verification, no account needed: every component, and the pathway."""
    raw = await request.body()
    if not raw:
        raise Invalid("send the credential as the request body")
    return verify_stack(found, raw).to_json()


@public.get("/orgs/{slug}/pathways/{key}")
def public_pathway(
    slug: str,
    key: str,
    found: PlatformDep,
    version: Version = None,
    format: Annotated[str, Query(pattern="^(ctdl|credstack)$")] = "credstack",
) -> dict[str, Any]:
    """A published pathway at its own URL (credstack JSON, or CTDL with ?format=ctdl)."""
    iri = pathway_catalog.pathway_url(found.base_url, slug, key)
    record = pathway_catalog.get_version(found, None, iri, version)
    if not record.published:
        raise Invalid("that version is a draft")
    if format == "ctdl":
        return pathway_catalog.export_ctdl(found, iri, record.version)
    return {**version_json(record), "definition": record.definition}


@public.get("/pathways/ctdl")
def public_ctdl(iri: PathwayId, found: PlatformDep, version: Version = None) -> dict[str, Any]:
    """A published pathway as Credential Engine CTDL JSON-LD."""
    record = pathway_catalog.get_version(found, None, iri, version)
    if not record.published:
        raise Invalid("that version is a draft")
    return pathway_catalog.export_ctdl(found, iri, record.version)
