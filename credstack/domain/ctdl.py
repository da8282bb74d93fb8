"""Pathways as Credential Engine CTDL JSON-LD: export (:func:`to_ctdl`) and import
(:func:`from_ctdl`, in :mod:`credstack.domain.ctdl_import`).

Follows STANDARDS-NOTES section 6 (Credential Engine's JsonV2 serializer): a graph document
``{"@context": "https://credreg.net/ctdl/schema/context/json", "@id": ".../graph/ce-...",
"@graph": [...]}`` holding

* the ``ceterms:Pathway`` (``ceterms:hasDestinationComponent`` = the final milestone,
  ``ceasn:hasChild`` = it too, ``ceterms:hasPart`` = every component), owned by the
  pathway's organization;
* one ``ceterms:CredentialComponent`` per milestone, ``ceterms:proxyFor`` the credential it
  awards, its requirement tree as ``ceterms:hasCondition`` (see
  :mod:`credstack.domain.ctdl_conditions`), ``ceasn:hasChild`` the components it names;
* one component per component: ``ceterms:CredentialComponent`` (or Course/Assessment/
  Competency by the achievement's type), ``ceterms:BasicComponent`` for a nested pathway,
  with ``ceasn:isChildOf``, ``ceterms:prerequisite``, ``ceterms:precedes``,
  ``ceterms:creditValue`` (credits in ``creditUnit:DegreeCredit``, hours in
  ``creditUnit:ClockHour``) and ``ceterms:proxyFor`` (the achievement);
* one credential node (``ceterms:Certificate``, ``ceterms:MicroCredential``,
  ``ceterms:Badge``, ... by achievementType) per milestone award and per component
  achievement whose :class:`~credstack.domain.achievements.Achievement` is given.

Every node has a ``ceterms:ctid`` ``ce-<uuid5>`` derived from the pathway id and the
component/milestone id (achievements: from the achievement id), its ``@id`` the registry
resource IRI of that CTID, and credstack's own id as a ``ceterms:identifier``. Strings are
``{"en-US": ...}`` language maps. What CTDL has no term for is kept in extension
properties named by absolute IRIs in credstack's vocabulary (``https://credstack.org/vocab#``
+ ``cascadePolicy``, ``achievementType``, ``level``, ``alignment``, ``issuer``,
``alignmentUrl``, ``pathway``, ``requirement``), so ``from_ctdl(to_ctdl(p)) == p`` for any
pathway whose references resolve (one that has no ``*.unknown_component`` problem).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credstack.domain.achievements import Achievement
from credstack.domain.ctdl_conditions import condition_json
from credstack.domain.ctdl_graph import (
    CONTEXT,
    CREDENTIAL_CLASSES,
    EXT,
    GRAPHS,
    LANGUAGE,
    ctid,
    identifier,
    lang,
    resource,
    value_profile,
)
from credstack.domain.ctdl_import import from_ctdl, is_ctdl
from credstack.domain.pathways import (
    AchievementComponent,
    ExternalComponent,
    Milestone,
    Pathway,
    PathwayComponent,
)

__all__ = ["credential_class", "from_ctdl", "is_ctdl", "to_ctdl"]

_COMPONENT_BY_TYPE = {
    "Course": "CourseComponent",
    "Assessment": "AssessmentComponent",
    "Competency": "CompetencyComponent",
}
_CLASS_BY_TYPE = {
    "Course": "ceterms:Course",
    "Assessment": "ceterms:AssessmentProfile",
    "Competency": "ceasn:Competency",
    "LearningProgram": "ceterms:LearningProgram",
}


def credential_class(achievement_type: str | None) -> str:
    """The CTDL class of an OB achievementType (``ceterms:Badge`` when CTDL has none)."""
    if achievement_type in CREDENTIAL_CLASSES:
        return f"ceterms:{achievement_type}"
    return _CLASS_BY_TYPE.get(achievement_type or "", "ceterms:Badge")


def to_ctdl(
    pathway: Pathway, achievements: Mapping[str, Achievement] | None = None
) -> dict[str, Any]:
    """The CTDL JSON-LD graph document of ``pathway`` (see the module docstring).

    ``achievements`` (by id) adds credential nodes for the components' achievements and
    picks the component subtype from their achievementType.
    """
    known = achievements or {}
    nodes: dict[str, str] = {}
    by_node: dict[str, str] = {}

    def node_id(component_id: str) -> str:
        if component_id not in nodes:
            nodes[component_id] = resource(f"{pathway.id}#component/{component_id}")
            by_node[nodes[component_id]] = component_id
        return nodes[component_id]

    for component in pathway.components:
        node_id(component.id)
    milestone_ids = {m.id: resource(f"{pathway.id}#milestone/{m.id}") for m in pathway.milestones}
    pathway_iri = resource(pathway.id)
    credentials: dict[str, dict[str, Any]] = {}
    for milestone in pathway.milestones:
        credentials.setdefault(
            milestone.achievement_id,
            _credential(
                pathway,
                milestone.achievement_id,
                known.get(milestone.achievement_id),
                milestone.achievement_type,
                milestone.name,
            ),
        )
    for component in pathway.components:
        if isinstance(component, AchievementComponent) and component.achievement_id in known:
            achievement = known[component.achievement_id]
            credentials.setdefault(
                component.achievement_id,
                _credential(
                    pathway,
                    component.achievement_id,
                    achievement,
                    achievement.achievement_type,
                    achievement.name,
                ),
            )

    def proxy(achievement_id: str) -> str:
        found = credentials.get(achievement_id)
        return str(found["@id"]) if found is not None else achievement_id

    parents: dict[str, list[str]] = {}
    milestone_nodes = []
    for milestone in pathway.milestones:
        named = milestone.requirement.all_components()
        for component_id in named:
            parents.setdefault(component_id, []).append(milestone_ids[milestone.id])
        node = _milestone(pathway, milestone, milestone_ids[milestone.id], pathway_iri)
        node["ceterms:proxyFor"] = proxy(milestone.achievement_id)
        if named:
            node["ceasn:hasChild"] = [node_id(c) for c in named]
        node["ceterms:hasCondition"] = [
            condition_json(milestone.requirement, node_id, by_node.__getitem__)
        ]
        milestone_nodes.append(node)
    component_nodes = []
    for component in pathway.components:
        node = _component(pathway, component, node_id, proxy, known, pathway_iri)
        if parents.get(component.id):
            node["ceasn:isChildOf"] = list(dict.fromkeys(parents[component.id]))
        component_nodes.append(node)
    final = milestone_ids.get(pathway.final_milestone)
    head: dict[str, Any] = {
        "@type": "ceterms:Pathway",
        "@id": pathway_iri,
        "ceterms:ctid": ctid(pathway.id),
        "ceterms:name": lang(pathway.name),
        "ceterms:description": lang(pathway.description),
        "ceterms:inLanguage": [LANGUAGE],
        "ceterms:identifier": identifier(pathway.id),
        "ceterms:versionIdentifier": [
            {
                "@type": "ceterms:IdentifierValue",
                "ceterms:identifierValueCode": str(pathway.version),
            }
        ],
    }
    if not pathway.description:
        del head["ceterms:description"]
    if pathway.org_id:
        head["ceterms:ownedBy"] = [pathway.org_id]
    if pathway.id.startswith(("https://", "http://")):
        head["ceterms:subjectWebpage"] = pathway.id
    if final is not None:
        head["ceterms:hasDestinationComponent"] = [final]
        head["ceasn:hasChild"] = [final]
    head["ceterms:hasPart"] = [
        *milestone_ids.values(),
        *(node_id(c.id) for c in pathway.components),
    ]
    head[EXT + "cascadePolicy"] = pathway.cascade_policy.value
    return {
        "@context": CONTEXT,
        "@id": GRAPHS + ctid(pathway.id),
        "@graph": [head, *milestone_nodes, *component_nodes, *credentials.values()],
    }


def _credential(
    pathway: Pathway,
    achievement_id: str,
    achievement: Achievement | None,
    achievement_type: str | None,
    name: str,
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": credential_class(achievement_type),
        "@id": resource(achievement_id),
        "ceterms:ctid": ctid(achievement_id),
        "ceterms:name": lang(achievement.name if achievement is not None else name),
    }
    if achievement is not None:
        node["ceterms:description"] = lang(achievement.description)
    node["ceterms:identifier"] = identifier(achievement_id)
    node["ceterms:inLanguage"] = [LANGUAGE]
    if pathway.org_id:
        node["ceterms:ownedBy"] = [pathway.org_id]
    if achievement_id.startswith(("https://", "http://")):
        node["ceterms:subjectWebpage"] = achievement_id
    if achievement is not None and achievement.credits_available is not None:
        node["ceterms:creditValue"] = [value_profile(achievement.credits_available, "DegreeCredit")]
    return node


def _milestone(
    pathway: Pathway, milestone: Milestone, iri: str, pathway_iri: str
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "ceterms:CredentialComponent",
        "@id": iri,
        "ceterms:ctid": ctid(f"{pathway.id}#milestone/{milestone.id}"),
        "ceterms:name": lang(milestone.name),
        "ceterms:identifier": identifier(milestone.id),
        "ceterms:credentialType": credential_class(milestone.achievement_type)
        if milestone.achievement_type in CREDENTIAL_CLASSES
        else "ceterms:Badge",
        "ceasn:isPartOf": [pathway_iri],
    }
    if milestone.achievement_type not in CREDENTIAL_CLASSES:
        node[EXT + "achievementType"] = milestone.achievement_type
    if milestone.description is not None:
        node["ceterms:description"] = lang(milestone.description)
    if milestone.id == pathway.final_milestone:
        node["ceterms:isDestinationComponentOf"] = [pathway_iri]
    return node


def _component(
    pathway: Pathway,
    component: AchievementComponent | PathwayComponent | ExternalComponent,
    node_id: Any,
    proxy: Any,
    known: Mapping[str, Achievement],
    pathway_iri: str,
) -> dict[str, Any]:
    kind = "CredentialComponent"
    if isinstance(component, AchievementComponent) and component.achievement_id in known:
        achievement_type = known[component.achievement_id].achievement_type
        kind = _COMPONENT_BY_TYPE.get(achievement_type or "", kind)
    elif isinstance(component, PathwayComponent):
        kind = "BasicComponent"
    node: dict[str, Any] = {
        "@type": f"ceterms:{kind}",
        "@id": node_id(component.id),
        "ceterms:ctid": ctid(f"{pathway.id}#component/{component.id}"),
        "ceterms:name": lang(component.name or component.id),
        "ceterms:identifier": identifier(component.id),
        "ceasn:isPartOf": [pathway_iri],
    }
    if isinstance(component, AchievementComponent):
        node["ceterms:proxyFor"] = proxy(component.achievement_id)
        if kind == "CredentialComponent" and component.achievement_id in known:
            node["ceterms:credentialType"] = credential_class(
                known[component.achievement_id].achievement_type
            )
    elif isinstance(component, PathwayComponent):
        node["ceterms:proxyFor"] = component.pathway_id
        node[EXT + "pathway"] = component.pathway_id
    else:
        node[EXT + "issuer"] = component.issuer
        if component.achievement_id is not None:
            node["ceterms:proxyFor"] = component.achievement_id
        if component.alignment_url is not None:
            node[EXT + "alignmentUrl"] = component.alignment_url
    if component.prerequisites:
        node["ceterms:prerequisite"] = [node_id(c) for c in component.prerequisites]
    if component.precedes:
        node["ceterms:precedes"] = [node_id(c) for c in component.precedes]
    values = []
    if component.credits is not None:
        values.append(value_profile(component.credits, "DegreeCredit"))
    if isinstance(component, AchievementComponent):
        if component.hours is not None:
            values.append(value_profile(component.hours, "ClockHour"))
        if component.level is not None:
            node[EXT + "level"] = component.level
        if component.alignments:
            node[EXT + "alignment"] = list(component.alignments)
    if values:
        node["ceterms:creditValue"] = values
    return node
