"""credstack's JSON format (``to_json``/``from_json`` round-trip exactly; component ids and
milestone ids are short strings used in messages)::

    {
      "format": "credstack-pathway/1",
      "id": "https://credstack.example/pathways/data-analytics",
      "name": "Data Analytics",
      "description": "Two micro-credentials and a capstone make the certificate.",
      "version": 1,
      "orgId": "did:web:college.example",
      "cascadePolicy": "suspend",
      "finalMilestone": "certificate",
      "components": [
        {"kind": "achievement", "id": "sql", "achievementId": "urn:uuid:...",
         "name": "SQL Fundamentals", "credits": 1.5, "hours": 20, "level": "EQF 4",
         "alignments": ["https://skills.example/sql"], "precedes": ["python"]},
        {"kind": "achievement", "id": "capstone", "achievementId": "urn:uuid:...",
         "prerequisites": ["sql"]},
        {"kind": "pathway", "id": "stats", "pathwayId": "https://credstack.example/pathways/stats"},
        {"kind": "external", "id": "mooc-sql", "issuer": "did:web:mooc.example",
         "achievementId": "https://mooc.example/badges/sql", "credits": 1}
      ],
      "milestones": [
        {"id": "certificate", "name": "Data Analytics Certificate",
         "achievementId": "urn:uuid:...", "achievementType": "Certificate",
         "requirement": {"kind": "all_of", "of": [
            {"kind": "any_of", "of": ["sql", "mooc-sql"]}, "capstone", "stats"]}}
      ]
    }

A requirement may be written as a bare component id (``"sql"``); ``to_json`` writes the
canonical ``{"kind": "component", "component": "sql"}``. An external component names the
other issuer's DID and either its ``achievementId`` or an ``alignmentUrl`` (a targetUrl the
credential's achievement aligns to).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from credstack.domain.errors import Invalid
from credstack.domain.pathways import (
    COMPONENT_KINDS,
    Component,
    Milestone,
    Pathway,
    cascade_policy,
)
from credstack.domain.requirement_base import JsonObject
from credstack.domain.requirements import requirement_from_json

FORMAT: Final = "credstack-pathway/1"


# -- credstack's JSON format --------------------------------------------------------------


def to_json(pathway: Pathway) -> dict[str, Any]:
    """credstack's JSON form of ``pathway`` (see the module docstring)."""
    return {
        "format": FORMAT,
        "id": pathway.id,
        "name": pathway.name,
        "description": pathway.description,
        "version": pathway.version,
        "orgId": pathway.org_id,
        "cascadePolicy": pathway.cascade_policy.value,
        "finalMilestone": pathway.final_milestone,
        "components": [c.to_json() for c in pathway.components],
        "milestones": [_milestone_json(m) for m in pathway.milestones],
    }


def _milestone_json(milestone: Milestone) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": milestone.id,
        "name": milestone.name,
        "achievementId": milestone.achievement_id,
        "achievementType": milestone.achievement_type,
    }
    if milestone.description is not None:
        out["description"] = milestone.description
    out["requirement"] = milestone.requirement.to_json()
    return out


_PATHWAY_KEYS: Final = (
    "format",
    "id",
    "name",
    "description",
    "version",
    "orgId",
    "cascadePolicy",
    "finalMilestone",
    "components",
    "milestones",
)


def from_json(data: object) -> Pathway:
    """Read credstack's JSON form; Invalid names the JSON path of the first problem."""
    r = JsonObject(data, "pathway", _PATHWAY_KEYS)
    if r.data.get("format", FORMAT) != FORMAT:
        raise Invalid(f"pathway.format: {r.data.get('format')!r} is not {FORMAT!r}")
    return Pathway(
        id=r.text("id"),
        name=r.text("name"),
        description=r.data.get("description", ""),
        version=r.integer("version") if "version" in r.data else 1,
        org_id=r.data.get("orgId", ""),
        components=tuple(_component(v, p) for v, p in r.items("components")),
        milestones=tuple(_milestone(v, p) for v, p in r.items("milestones")),
        final_milestone=r.text("finalMilestone"),
        cascade_policy=cascade_policy(r.data.get("cascadePolicy", "suspend")),
    )


def _component(data: object, path: str) -> Component:
    kind = data.get("kind") if isinstance(data, Mapping) else None
    cls = COMPONENT_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise Invalid(f"{path}.kind: must be one of {', '.join(COMPONENT_KINDS)}")
    keys = ("kind", "id", *(key for _, key in cls._FIELDS))
    r = JsonObject(data, path, keys)
    values: dict[str, Any] = {"id": r.text("id")}
    for attribute, key in cls._FIELDS:
        if key in r.data:
            value = r.data[key]
            values[attribute] = r.texts(key) if isinstance(value, list) else value
    try:
        return cls(**values)
    except TypeError as exc:  # a required field is missing
        raise Invalid(f"{path}: {exc}") from None
    except Invalid as exc:
        raise Invalid(f"{path}: {exc.message}") from None


def _milestone(data: object, path: str) -> Milestone:
    keys = ("id", "name", "achievementId", "achievementType", "description", "requirement")
    r = JsonObject(data, path, keys)
    return Milestone(
        id=r.text("id"),
        name=r.text("name"),
        achievement_id=r.text("achievementId"),
        requirement=requirement_from_json(r.data.get("requirement"), r.at("requirement")),
        achievement_type=r.text("achievementType")
        if "achievementType" in r.data
        else "Certificate",
        description=r.opt_text("description"),
    )
