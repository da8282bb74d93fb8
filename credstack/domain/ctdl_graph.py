"""CTDL JSON-LD vocabulary and a lenient reader for CTDL graphs (several dialects).

Credential Engine's serializer, the 2019 validation schemas and the 2018 Pathways proposal
spell the same terms differently (``ceasn:hasChild``/``ceterms:hasChild``/``hasChild``,
``ceterms:precedes``/``ceterms:preceeds``, ``@id``/``id``, strings or language maps). The
reader keys every property by its local name and accepts all of them; credstack's own
extension properties (``https://credstack.org/vocab#...``, or ``credstack:...``) are keyed
``credstack:<name>``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Final

from credstack.domain.achievements import CREDSTACK_VOCAB
from credstack.domain.errors import Invalid

CONTEXT: Final = "https://credreg.net/ctdl/schema/context/json"
RESOURCES: Final = "https://credentialengineregistry.org/resources/"
GRAPHS: Final = "https://credentialengineregistry.org/graph/"
LANGUAGE: Final = "en-US"
#: Extension properties are absolute IRIs in credstack's vocabulary (no context needed).
EXT: Final = CREDSTACK_VOCAB
#: identifierType of the ``ceterms:IdentifierValue`` carrying credstack's own id of a node.
ID_TYPE: Final = CREDSTACK_VOCAB + "id"
_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://credstack.org/ctdl")
_PREFIXES: Final = ("ceterms:", "ceasn:", "asn:", "schema:", "qdata:", "skos:", "rdfs:")
_IRI_PREFIXES: Final = ("https://purl.org/ctdl/terms/", "https://purl.org/ctdlasn/terms/")
# fmt: off
#: Credential classes of CTDL (``ceterms:<name>``) that OB 3.0 achievementType shares.
CREDENTIAL_CLASSES: Final = frozenset((
    "ApprenticeshipCertificate", "AssociateDegree", "BachelorDegree", "Badge", "Certificate",
    "CertificateOfCompletion", "Certification", "Degree", "DigitalBadge", "Diploma",
    "DoctoralDegree", "GeneralEducationDevelopment", "JourneymanCertificate", "License",
    "MasterCertificate", "MasterDegree", "MicroCredential", "OpenBadge",
    "ProfessionalDoctorate", "QualityAssuranceCredential", "ResearchDoctorate",
    "SecondarySchoolDiploma",
))
COMPONENT_CLASSES: Final = frozenset((
    "AssessmentComponent", "BasicComponent", "CocurricularComponent", "CollectionComponent",
    "CompetencyComponent", "CourseComponent", "CredentialComponent",
    "ExtracurricularComponent", "JobComponent", "MultiComponent", "PathwayComponent",
    "SelectionComponent", "WorkExperienceComponent",
))
# fmt: on
HOUR_UNITS: Final = frozenset(("ClockHour", "ContactHour"))


def ctid(key: str) -> str:
    """A deterministic CTID (``ce-`` + UUID v5 of ``key`` in credstack's namespace)."""
    return f"ce-{uuid.uuid5(_NAMESPACE, key)}"


def resource(key: str) -> str:
    """The registry resource IRI of the CTID derived from ``key``."""
    return RESOURCES + ctid(key)


def lang(text: str) -> dict[str, str]:
    return {LANGUAGE: text}


def identifier(value: str) -> list[dict[str, str]]:
    """``ceterms:identifier`` holding credstack's own id of the node."""
    return [
        {
            "@type": "ceterms:IdentifierValue",
            "ceterms:identifierType": ID_TYPE,
            "ceterms:identifierValueCode": value,
        }
    ]


def json_literal(value: Any) -> dict[str, Any]:
    """A JSON-LD 1.1 JSON literal (kept verbatim by JSON-LD processors)."""
    return {"@type": "@json", "@value": value}


def local_name(term: str) -> str:
    if term.startswith(EXT):
        return "credstack:" + term[len(EXT) :]
    for prefix in (*_PREFIXES, *_IRI_PREFIXES):
        if term.startswith(prefix):
            return term[len(prefix) :]
    return term


class Node:
    """One JSON-LD object, its properties keyed by local name (first spelling wins)."""

    __slots__ = ("data", "id", "props", "types")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.props: dict[str, Any] = {}
        for key, value in data.items():
            name = {"id": "@id", "type": "@type"}.get(key, local_name(key))
            self.props.setdefault(name, value)
        raw_id = self.props.get("@id")
        self.id: str | None = raw_id if isinstance(raw_id, str) and raw_id else None
        raw_types = self.props.get("@type")
        types = raw_types if isinstance(raw_types, list) else [raw_types]
        self.types = tuple(local_name(t) for t in types if isinstance(t, str))

    def get(self, *names: str) -> Any:
        for name in names:
            if self.props.get(name) is not None:
                return self.props[name]
        return None

    def values(self, *names: str) -> list[Any]:
        value = self.get(*names)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def refs(self, *names: str) -> list[str]:
        """IRIs of the referenced nodes (strings, or objects with an id; condition objects
        without an id stand for their target components)."""
        out: list[str] = []
        for value in self.values(*names):
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, Mapping):
                inner = Node(value)
                out.extend([inner.id] if inner.id else inner.refs("targetComponent"))
        return out

    def text(self, *names: str) -> str | None:
        """A plain string, or the en-US (else en, else first) entry of a language map."""
        for value in self.values(*names):
            found = _text(value)
            if found:
                return found
        return None

    def extension(self, name: str) -> Any:
        """credstack's extension ``name``, JSON literals unwrapped."""
        value = self.props.get("credstack:" + name)
        if isinstance(value, Mapping) and value.get("@type") == "@json" and "@value" in value:
            return value["@value"]
        return value

    def own_id(self) -> str | None:
        """credstack's id of the node, from its ``ceterms:identifier``."""
        for value in self.values("identifier", "identifierValue"):
            if isinstance(value, Mapping):
                entry = Node(value)
                if entry.get("identifierType") == ID_TYPE:
                    code = entry.get("identifierValueCode")
                    if isinstance(code, str) and code:
                        return code
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, Mapping):
        if "@value" in value:
            return _text(value["@value"])
        by_tag = {str(k).lstrip("@").lower(): v for k, v in value.items()}
        for tag in ("en-us", "en"):
            found = _text(by_tag.get(tag)) if isinstance(by_tag.get(tag), str) else None
            if found:
                return found
        for item in value.values():
            found = _text(item) if isinstance(item, str) else None
            if found:
                return found
    return None


class Graph:
    """Every identified, typed node of a CTDL document (``@graph`` or embedded), by id."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.nodes: dict[str, Node] = {}
        roots = data.get("@graph", [data])
        if not isinstance(roots, list):
            raise Invalid("CTDL: @graph must be an array")
        for root in roots:
            self._collect(root)

    def _collect(self, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                self._collect(item)
        elif isinstance(value, Mapping) and value.get("@type") != "@json":
            node = Node(value)
            if node.id is not None and node.types:
                self.nodes.setdefault(node.id, node)
            for item in value.values():
                self._collect(item)

    def of_type(self, *types: str) -> Iterator[Node]:
        for node in self.nodes.values():
            if any(t in types for t in node.types):
                yield node

    def objects(self, node: Node, *names: str) -> list[Node]:
        """The objects a property holds, references to nodes of the graph resolved."""
        out = []
        for value in node.values(*names):
            if isinstance(value, Mapping):
                out.append(Node(value))
            elif isinstance(value, str) and value in self.nodes:
                out.append(self.nodes[value])
        return out


def credit_values(graph: Graph, node: Node) -> tuple[float | None, float | None]:
    """(credits, hours) from ``ceterms:creditValue`` ValueProfiles (hours: clock/contact
    hour units), or the 2018 proposal's ``creditUnitValue``."""
    credits: float | None = None
    hours: float | None = None
    for profile in graph.objects(node, "creditValue"):
        value = _number(profile.get("value"))
        if value is None:
            continue
        units = [_unit(u) for u in profile.values("creditUnitType")]
        if any(u in HOUR_UNITS for u in units):
            hours = value if hours is None else hours
        else:
            credits = value if credits is None else credits
    if credits is None:
        credits = _number(node.get("creditUnitValue"))
    return credits, hours


def _unit(value: Any) -> str:
    if isinstance(value, Mapping):
        value = Node(value).get("targetNode", "@id", "targetNodeName")
    text = _text(value) or ""
    return re.split(r"[:/#]", text)[-1]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def value_profile(value: float, unit: str) -> dict[str, Any]:
    """A ``ceterms:ValueProfile`` (``schema:value`` in a ``creditUnit:`` unit)."""
    return {
        "@type": "ceterms:ValueProfile",
        "schema:value": value,
        "ceterms:creditUnitType": [
            {
                "@type": "ceterms:CredentialAlignmentObject",
                "ceterms:targetNode": f"creditUnit:{unit}",
            }
        ],
    }
