"""Reading a pathway from CTDL JSON-LD: credstack's own export exactly, others sensibly.

The ``ceterms:Pathway`` node gives id, name, description, owner and version; every
component node (``ceterms:hasPart``, the destination, ``ceasn:hasChild``, and every node
typed ``ceterms:*Component``) becomes a component; a component node with conditions
(``ceterms:hasCondition``) or children (``ceasn:hasChild``), or the destination, becomes a
milestone awarding its ``ceterms:proxyFor`` (else the node itself), its conditions read as
a requirement tree (children only: all of them). A milestone node that other conditions
target is also a component, earned when that milestone is met, so nested conditions keep
their structure. The destination is the final milestone.

Ids: credstack's own (``ceterms:identifier`` typed ``https://credstack.org/vocab#id``), else
a slug of the node's name, else the start of its CTID/UUID, made unique. A referenced IRI
that is no component node becomes an achievement component for that IRI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from credstack.domain.achievements import ACHIEVEMENT_TYPES, slug
from credstack.domain.ctdl_conditions import read_condition
from credstack.domain.ctdl_graph import COMPONENT_CLASSES, Graph, Node, credit_values, local_name
from credstack.domain.errors import Invalid
from credstack.domain.pathways import (
    AchievementComponent,
    Component,
    ExternalComponent,
    Milestone,
    Pathway,
    PathwayComponent,
    cascade_policy,
)
from credstack.domain.requirements import AllOf, Earn, Requirement

_TYPE_BY_COMPONENT = {
    "CourseComponent": "Course",
    "AssessmentComponent": "Assessment",
    "CompetencyComponent": "Competency",
}


def is_ctdl(data: Mapping[str, Any]) -> bool:
    """Whether ``data`` looks like CTDL JSON-LD (a graph, a context, or ceterms: terms)."""
    if "@graph" in data or "@context" in data:
        return True
    return "Pathway" in Node(data).types or any(str(k).startswith("ceterms:") for k in data)


def from_ctdl(data: Mapping[str, Any]) -> Pathway:
    """The pathway of a CTDL document (see the module docstring); Invalid when it has none."""
    if not isinstance(data, Mapping):
        raise Invalid("CTDL: expected a JSON object")
    graph = Graph(data)
    head = next(graph.of_type("Pathway"), None)
    if head is None:
        raise Invalid("CTDL: the document holds no ceterms:Pathway")
    if head.id is None:
        raise Invalid("CTDL: the ceterms:Pathway has no @id")
    return _Importer(graph, head).pathway()


def _tail(iri: str) -> str:
    tail = re.split(r"[/#:]", iri.rstrip("/#"))[-1]
    match = re.match(r"(?:ce-)?([0-9a-f]{8})-[0-9a-f]{4}-", tail, re.IGNORECASE)
    return match.group(1).lower() if match else (slug(tail, 40) or "component")


class _Importer:
    def __init__(self, graph: Graph, head: Node) -> None:
        self.graph = graph
        self.head = head
        destinations = head.refs("hasDestinationComponent", "hasRootComponent")
        self.destination = destinations[0] if destinations else None
        iris = [*head.refs("hasPart"), *destinations, *head.refs("hasChild")]
        iris += [n.id for n in graph.of_type(*COMPONENT_CLASSES) if n.id is not None]
        self.parts = [graph.nodes[i] for i in dict.fromkeys(iris) if i in graph.nodes]
        self.milestones = {
            n.id
            for n in self.parts
            if n.get("hasCondition") is not None or n.refs("hasChild") or n.id == self.destination
        }
        self.taken: set[str] = set()
        self.ids: dict[str, str] = {}
        for node in self.parts:
            own = node.own_id()
            if own is not None and node.id is not None:
                self.ids[node.id] = own
                self.taken.add(own)
        for node in self.parts:
            if node.id is not None and node.id not in self.ids:
                name = node.text("name")
                self.ids[node.id] = self._unique((slug(name, 40) if name else "") or _tail(node.id))
        self.needed: set[str] = set()
        self.implicit: dict[str, str] = {}

    def _unique(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}-{n}"
        self.taken.add(candidate)
        return candidate

    def resolve(self, iri: str) -> str:
        """The component id of a referenced node (a milestone node then counts as one too)."""
        if iri in self.ids:
            if iri in self.milestones:
                self.needed.add(iri)
            return self.ids[iri]
        if iri not in self.implicit:
            self.implicit[iri] = self._unique(_tail(iri))
        return self.implicit[iri]

    def pathway(self) -> Pathway:
        head = self.head
        milestones = [self._milestone(n) for n in self.parts if n.id in self.milestones]
        components: dict[str, Component] = {}
        while True:
            todo = [
                n
                for n in self.parts
                if n.id is not None
                and n.id not in components
                and (n.id not in self.milestones or n.id in self.needed)
            ]
            if not todo:
                break
            for node in todo:
                components[str(node.id)] = self._component(node)
        ordered = [components[str(n.id)] for n in self.parts if n.id in components]
        ordered += [AchievementComponent(cid, iri) for iri, cid in self.implicit.items()]
        return Pathway(
            id=head.own_id() or str(head.id),
            name=head.text("name") or str(head.id),
            description=head.text("description") or "",
            version=self._version(),
            org_id=next(iter(head.refs("ownedBy") or head.refs("offeredBy")), ""),
            components=tuple(ordered),
            milestones=tuple(milestones),
            final_milestone=self._final(milestones),
            cascade_policy=cascade_policy(head.extension("cascadePolicy") or "suspend"),
        )

    def _version(self) -> int:
        for entry in self.graph.objects(self.head, "versionIdentifier"):
            code = entry.get("identifierValueCode")
            if isinstance(code, int) or (isinstance(code, str) and code.strip().isdigit()):
                return int(code)
        return 1

    def _final(self, milestones: list[Milestone]) -> str:
        if self.destination is not None and self.destination in self.milestones:
            return self.ids[self.destination]
        for milestone_iri in (n.id for n in self.parts if n.id in self.milestones):
            if milestone_iri not in self.needed and milestone_iri is not None:
                return self.ids[milestone_iri]
        return milestones[0].id if milestones else ""

    def _achievement(self, node: Node) -> str | None:
        proxies = node.refs("proxyFor")
        if not proxies:
            return None
        target = self.graph.nodes.get(proxies[0])
        own = target.own_id() if target is not None else None
        return own or proxies[0]

    def _achievement_type(self, node: Node) -> str:
        own = node.extension("achievementType")
        if isinstance(own, str):
            return own
        declared = node.get("credentialType")
        candidates = [local_name(declared)] if isinstance(declared, str) else []
        proxies = node.refs("proxyFor")
        target = self.graph.nodes.get(proxies[0]) if proxies else None
        candidates += list(target.types) if target is not None else []
        for candidate in candidates:
            if candidate in ACHIEVEMENT_TYPES:
                return candidate
        for kind in node.types:
            if kind in _TYPE_BY_COMPONENT:
                return _TYPE_BY_COMPONENT[kind]
        return "Certificate"

    def _milestone(self, node: Node) -> Milestone:
        milestone_id = self.ids[str(node.id)]
        conditions = self.graph.objects(node, "hasCondition")
        requirement: Requirement
        if len(conditions) == 1:
            requirement = read_condition(conditions[0], self.resolve, self.graph)
        elif conditions:
            requirement = AllOf(
                tuple(read_condition(c, self.resolve, self.graph) for c in conditions)
            )
        else:
            requirement = AllOf(tuple(Earn(self.resolve(r)) for r in node.refs("hasChild")))
        return Milestone(
            id=milestone_id,
            name=node.text("name") or milestone_id,
            achievement_id=self._achievement(node) or str(node.id),
            requirement=requirement,
            achievement_type=self._achievement_type(node),
            description=node.text("description"),
        )

    def _component(self, node: Node) -> Component:
        component_id = self.ids[str(node.id)]
        name = node.text("name")
        name = None if name == component_id else name
        credits, hours = credit_values(self.graph, node)
        prerequisites = tuple(self.resolve(r) for r in node.refs("prerequisite"))
        precedes = tuple(self.resolve(r) for r in node.refs("precedes", "preceeds"))
        nested, issuer = node.extension("pathway"), node.extension("issuer")
        if isinstance(nested, str):
            return PathwayComponent(component_id, nested, name, credits, prerequisites, precedes)
        if isinstance(issuer, str):
            url = node.extension("alignmentUrl")
            return ExternalComponent(
                component_id,
                issuer,
                self._achievement(node) if url is None else None,
                url if isinstance(url, str) else None,
                name,
                credits,
                prerequisites,
                precedes,
            )
        level, alignments = node.extension("level"), node.extension("alignment")
        return AchievementComponent(
            component_id,
            self._achievement(node) or str(node.id),
            name,
            credits,
            hours,
            level if isinstance(level, str) else None,
            tuple(alignments) if isinstance(alignments, list) else (),
            prerequisites,
            precedes,
        )
