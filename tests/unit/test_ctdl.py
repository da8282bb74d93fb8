"""Pathways as Credential Engine CTDL JSON-LD: export, import, and exact round trips."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credstack.domain.achievements import ACHIEVEMENT_TYPES, Achievement, Criteria
from credstack.domain.ctdl import from_ctdl, is_ctdl, to_ctdl
from credstack.domain.ctdl_graph import ctid
from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import EarnedCredential
from credstack.domain.pathway_formats import parse_pathway
from credstack.domain.pathway_json import from_json, to_json
from credstack.domain.pathway_validation import validate
from credstack.domain.pathways import (
    AchievementComponent,
    CascadePolicy,
    ExternalComponent,
    Milestone,
    Pathway,
    PathwayComponent,
)
from credstack.domain.progress import progress
from credstack.domain.requirements import (
    AllOf,
    AnyOf,
    AtLeast,
    Competencies,
    Credits,
    Earn,
    MaxExternal,
    Recency,
    Requirement,
    Result,
)
from credstack.testing import texts

FIXTURES = Path(__file__).parent / "fixtures" / "pathways"
SCHEMA = (
    Path(__file__).resolve().parents[3]
    / "shared/specs/ctdl/CTDL_Json_Validation_Schema_2019_pathway.json"
)
CONTEXT = "https://credreg.net/ctdl/schema/context/json"
EXTENSION = "https://credstack.org/vocab#requirement"
CTID = re.compile(r"^ce-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


DATA = from_json(fixture("data-analytics.json"))
EVERY = from_json(fixture("every-kind.json"))


def graph(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["@id"]: node for node in doc["@graph"]}


def named(doc: dict[str, Any], own_id: str, kind: str | None = None) -> dict[str, Any]:
    """The node carrying credstack's id ``own_id`` (of @type ``kind``, when given)."""
    node: dict[str, Any]
    for node in doc["@graph"]:
        codes = [i["ceterms:identifierValueCode"] for i in node.get("ceterms:identifier", [])]
        if own_id in codes and (kind is None or node["@type"] == kind):
            return node
    raise KeyError(own_id)


def depth(requirement: Requirement) -> int:
    return 1 + max((depth(c) for c in requirement.children()), default=0)


# -- export -------------------------------------------------------------------------------


def test_the_export_is_a_registry_graph_document() -> None:
    doc = to_ctdl(DATA)
    assert doc["@context"] == CONTEXT
    head = doc["@graph"][0]
    assert head["@type"] == "ceterms:Pathway"
    assert doc["@id"] == "https://credentialengineregistry.org/graph/" + head["ceterms:ctid"]
    for node in doc["@graph"]:
        assert CTID.match(node["ceterms:ctid"]), node["ceterms:ctid"]
        assert (
            node["@id"] == "https://credentialengineregistry.org/resources/" + node["ceterms:ctid"]
        )
        assert set(node["ceterms:name"]) == {"en-US"}
    assert len({n["ceterms:ctid"] for n in doc["@graph"]}) == len(doc["@graph"])
    assert to_ctdl(DATA) == doc  # deterministic
    assert fixture("data-analytics.ctdl.json") == json.loads(json.dumps(doc))


def test_ctids_are_uuid5_of_the_pathway_and_component_ids() -> None:
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://credstack.org/ctdl")
    expected = f"ce-{uuid.uuid5(namespace, DATA.id + '#component/sql')}"
    assert ctid(DATA.id + "#component/sql") == expected
    assert named(to_ctdl(DATA), "sql")["ceterms:ctid"] == expected


def test_the_pathway_points_at_its_final_milestone_and_holds_every_part() -> None:
    doc = to_ctdl(DATA)
    head, nodes = doc["@graph"][0], graph(doc)
    final = named(doc, "certificate", "ceterms:CredentialComponent")
    assert head["ceterms:hasDestinationComponent"] == [final["@id"]]
    assert head["ceasn:hasChild"] == [final["@id"]]
    assert final["ceterms:isDestinationComponentOf"] == [head["@id"]]
    assert len(head["ceterms:hasPart"]) == 2 + 5
    assert all(part in nodes for part in head["ceterms:hasPart"])
    assert head["ceterms:name"] == {"en-US": "Data Analytics"}
    assert head["ceterms:ownedBy"] == ["did:web:college.example"]
    assert head["ceterms:inLanguage"] == ["en-US"]
    assert head["ceterms:versionIdentifier"][0]["ceterms:identifierValueCode"] == "2"
    assert head["https://credstack.org/vocab#cascadePolicy"] == "suspend"


def test_milestones_award_credentials_of_their_achievement_type() -> None:
    doc = to_ctdl(DATA)
    nodes = graph(doc)
    final = named(doc, "certificate", "ceterms:CredentialComponent")
    assert final["ceterms:credentialType"] == "ceterms:Certificate"
    award = nodes[final["ceterms:proxyFor"]]
    assert award["@type"] == "ceterms:Certificate"
    assert award["ceterms:name"] == {"en-US": "Data Analytics Certificate"}
    badge = nodes[named(doc, "foundation", "ceterms:CredentialComponent")["ceterms:proxyFor"]]
    assert badge["@type"] == "ceterms:Badge"


def test_components_carry_order_prerequisites_credits_and_parents() -> None:
    doc = to_ctdl(DATA)
    sql, python = named(doc, "sql"), named(doc, "python")
    assert sql["@type"] == "ceterms:CredentialComponent"
    assert sql["ceterms:precedes"] == [python["@id"]]
    assert python["ceterms:prerequisite"] == [sql["@id"]]
    assert sql["ceterms:creditValue"] == [
        {
            "@type": "ceterms:ValueProfile",
            "schema:value": 1.5,
            "ceterms:creditUnitType": [
                {
                    "@type": "ceterms:CredentialAlignmentObject",
                    "ceterms:targetNode": "creditUnit:DegreeCredit",
                }
            ],
        },
        {
            "@type": "ceterms:ValueProfile",
            "schema:value": 20.0,
            "ceterms:creditUnitType": [
                {
                    "@type": "ceterms:CredentialAlignmentObject",
                    "ceterms:targetNode": "creditUnit:ClockHour",
                }
            ],
        },
    ]
    parents = {named(doc, m)["@id"] for m in ("foundation", "certificate")}
    assert set(sql["ceasn:isChildOf"]) == parents
    assert sql["ceterms:proxyFor"] == "urn:uuid:6f1e4b8e-2a58-4b61-9f43-0d5a3c2e9b01"
    mooc = named(doc, "mooc-sql")
    assert mooc["https://credstack.org/vocab#issuer"] == "did:web:mooc.example"


def test_counting_and_choices_are_native_component_conditions() -> None:
    doc = to_ctdl(DATA)
    foundation = named(doc, "foundation")["ceterms:hasCondition"]
    assert len(foundation) == 1
    condition = foundation[0]
    assert condition["@type"] == "ceterms:ComponentCondition"
    assert condition["ceterms:requiredNumber"] == 2
    assert EXTENSION not in condition
    assert "ceterms:targetComponent" not in condition  # a choice comes first: all nested
    choice, python, _viz = condition["ceterms:hasCondition"]
    assert choice["ceterms:logicalOperator"] == "logic:Or"
    assert choice["ceterms:requiredNumber"] == 1
    assert choice["ceterms:targetComponent"] == [
        named(doc, "sql")["@id"],
        named(doc, "mooc-sql")["@id"],
    ]
    assert python == {
        "@type": "ceterms:ComponentCondition",
        "ceterms:name": {"en-US": "python"},
        "ceterms:targetComponent": [named(doc, "python")["@id"]],
    }
    credits, _grade = named(doc, "certificate")["ceterms:hasCondition"][0]["ceterms:hasCondition"]
    assert credits["ceterms:creditValue"][0]["schema:value"] == 5.0
    assert len(credits["ceterms:targetComponent"]) == 5
    assert EXTENSION not in credits


def test_what_ctdl_cannot_express_keeps_credstack_json_in_an_extension() -> None:
    doc = to_ctdl(DATA)
    grade = named(doc, "certificate")["ceterms:hasCondition"][0]["ceterms:hasCondition"][1]
    assert grade["ceterms:name"] == {"en-US": "capstone with grade B or better or at least 70%"}
    assert grade["ceterms:requiredNumber"] == 1
    assert grade[EXTENSION] == {
        "@type": "@json",
        "@value": {"kind": "result", "component": "capstone", "minGrade": "B", "minPercent": 70.0},
    }


def test_given_achievements_become_credential_nodes_by_type() -> None:
    def define(achievement_id: str, kind: str, credits: float | None = None) -> Achievement:
        return Achievement(
            achievement_id,
            f"{kind} {achievement_id[-2:]}",
            "An achievement.",
            Criteria("Do it."),
            kind,
            credits_available=credits,
        )

    sql_id = "urn:uuid:6f1e4b8e-2a58-4b61-9f43-0d5a3c2e9b01"
    viz_id = "urn:uuid:6f1e4b8e-2a58-4b61-9f43-0d5a3c2e9b03"
    doc = to_ctdl(
        DATA, {sql_id: define(sql_id, "MicroCredential", 1.5), viz_id: define(viz_id, "Course")}
    )
    nodes = graph(doc)
    sql = named(doc, "sql")
    micro = nodes[sql["ceterms:proxyFor"]]
    assert micro["@type"] == "ceterms:MicroCredential"
    assert micro["ceterms:creditValue"][0]["schema:value"] == 1.5
    assert micro["ceterms:description"] == {"en-US": "An achievement."}
    assert sql["ceterms:credentialType"] == "ceterms:MicroCredential"
    assert named(doc, "viz")["@type"] == "ceterms:CourseComponent"
    assert from_ctdl(doc) == DATA  # the achievements add nodes, not pathway content


def test_the_pathway_node_meets_the_2019_validation_schema_where_it_applies() -> None:
    """The 2019 schema predates Credential Engine's JsonV2 serializer: it spells
    ``ceasn:hasDestinationComponent``, embeds components, has no ``ceterms:hasPart`` and
    several of its references point nowhere (``ceterms:description``, ``ceasn:hasChild``).
    So the Pathway node is checked on the properties the schema can resolve, and for the
    presence of every property it requires; the terms themselves follow the standards
    notes, section 6."""
    if not SCHEMA.is_file():
        pytest.skip(f"{SCHEMA} is missing")
    schema = json.loads(SCHEMA.read_text("utf-8"))
    definition = schema["definitions"]["ceterms:Pathway"]
    resolvable = {
        key
        for key, rule in definition["properties"].items()
        if "$ref" not in rule or rule["$ref"].rsplit("/", 1)[-1] in schema["definitions"]
    }
    assert {"ceterms:description", "ceasn:hasChild"}.isdisjoint(resolvable)
    head = to_ctdl(DATA)["@graph"][0]
    assert set(definition["required"]) <= set(head)
    definition["required"] = [key for key in definition["required"] if key in resolvable]
    jsonschema.Draft4Validator(schema).validate({k: v for k, v in head.items() if k in resolvable})
    assert head["ceterms:description"] == {"en-US": DATA.description}  # a langstring


# -- import -------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [DATA, EVERY], ids=["data-analytics", "every-kind"])
def test_importing_the_export_gives_the_pathway_back(p: Pathway) -> None:
    assert from_ctdl(json.loads(json.dumps(to_ctdl(p)))) == p


def test_every_requirement_kind_round_trips_at_depth_four() -> None:
    kinds = {n.kind for m in EVERY.milestones for n in m.requirement.walk()}
    assert kinds == {
        "all_of",
        "any_of",
        "at_least",
        "component",
        "credits",
        "competencies",
        "result",
        "recency",
        "max_external",
    }
    assert max(depth(m.requirement) for m in EVERY.milestones) >= 4
    assert {type(c) for c in EVERY.components} == {
        AchievementComponent,
        ExternalComponent,
        PathwayComponent,
    }
    assert from_ctdl(to_ctdl(EVERY)) == EVERY


def test_the_pathway_conditions_example_keeps_its_structure() -> None:
    p = parse_pathway(fixture("pathways-repo_PathwayConditions.json"))
    assert p.id == "http://example.edu/a7f231f4-21cb-4ba3-8c03-4f7a5f67781c"
    assert [m.id for m in p.milestones] == ["b5107f1f", "ec05c0e5", "course-a"]
    assert p.final_milestone == "b5107f1f"
    assert [c.id for c in p.components] == [
        "ec05c0e5",
        "course-a",
        "course-b",
        "course-c",
        "course-d",
    ]
    destination, assessment, course_a = (m.requirement for m in p.milestones)
    assert destination == AtLeast(1, (Earn("ec05c0e5"),))
    b_c_d = AtLeast(2, (Earn("course-b"), Earn("course-c"), Earn("course-d")))
    assert assessment == AnyOf((b_c_d, AtLeast(1, (Earn("course-a"),))))
    assert course_a == b_c_d
    assert p.milestones[1].achievement_type == "Assessment"
    assert validate(p) == []


def test_the_standards_notes_example_imports_with_its_ordering() -> None:
    p = parse_pathway(fixture("ctdl-standards-example.json"))
    assert p.name == "Data Analytics Micro-credential Stack"
    assert (
        p.org_id
        == "https://credentialengineregistry.org/resources/ce-99999999-9999-4999-8999-999999999999"
    )
    sql, dashboards = p.components
    assert isinstance(sql, AchievementComponent)
    assert sql.credits == 1.5
    assert sql.precedes == (dashboards.id,)
    assert dashboards.prerequisites == (sql.id,)
    assert p.milestones[0].requirement == AtLeast(2, (Earn(sql.id), Earn(dashboards.id)))
    assert p.milestones[0].achievement_id.endswith("ce-55555555-5555-4555-8555-555555555555")
    assert validate(p) == []


def test_embedded_nodes_and_other_spellings_are_accepted() -> None:
    doc = {
        "@type": "ceterms:Pathway",
        "@id": "https://example.edu/pathways/embedded",
        "ceterms:name": {"en": "Embedded"},
        "ceasn:hasDestinationComponent": {
            "@type": "ceterms:CredentialComponent",
            "@id": "https://example.edu/c/goal",
            "ceterms:name": "Goal",
            "ceterms:hasChild": [
                {
                    "@type": "ceterms:CourseComponent",
                    "@id": "https://example.edu/c/one",
                    "ceterms:name": {"en-US": "One"},
                    "ceterms:preceeds": ["https://example.edu/c/two"],
                },
                {
                    "@type": "ceterms:CourseComponent",
                    "@id": "https://example.edu/c/two",
                    "ceterms:name": {"en-US": "Two"},
                    "creditUnitValue": 3,
                },
            ],
        },
    }
    assert is_ctdl(doc)
    p = from_ctdl(doc)
    assert [c.id for c in p.components] == ["one", "two"]
    assert p.components[0].precedes == ("two",)
    assert p.components[1].credits == 3.0
    assert p.milestones[0].requirement == AllOf((Earn("one"), Earn("two")))
    assert p.final_milestone == "goal"


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (fixture("pathways-repo_ProgressionModel.json"), "holds no ceterms:Pathway"),
        ({"@graph": {"not": "a list"}}, "@graph must be an array"),
        ({"@graph": [{"@type": "ceterms:Pathway"}]}, "holds no ceterms:Pathway"),
        (
            {
                "@graph": [
                    {
                        "@type": "ceterms:Pathway",
                        "@id": "urn:p",
                        "ceterms:hasDestinationComponent": "urn:c",
                    },
                    {
                        "@type": "ceterms:CredentialComponent",
                        "@id": "urn:c",
                        "ceterms:hasCondition": [{"ceterms:requiredNumber": "many"}],
                    },
                ]
            },
            "requiredNumber 'many'",
        ),
    ],
)
def test_unusable_ctdl_is_invalid_with_one_line(doc: Any, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        from_ctdl(doc)
    assert words in caught.value.message
    assert "\n" not in caught.value.message


# -- the round trip, for any pathway ------------------------------------------------------

IDS = ["a", "b", "c", "d", "e", "f"]
component_ids = st.sampled_from(IDS)
urls = st.integers(0, 10**6).map(lambda n: f"https://example.edu/things/{n}")
amounts = st.floats(0, 50, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2))
positive = amounts.filter(lambda x: x > 0)
id_tuples = st.lists(component_ids, max_size=3).map(tuple)


def _name(component_id: str) -> st.SearchStrategy[str | None]:
    return st.none() | texts(20).filter(lambda s: s != component_id)


grades = st.sampled_from([("B", 70.0), ("A+", None), (None, 55.5), ("C-", 90.0)])
leaves: st.SearchStrategy[Requirement] = st.one_of(
    component_ids.map(Earn),
    st.builds(Credits, positive, st.lists(component_ids, min_size=1, max_size=4).map(tuple)),
    st.builds(
        Competencies,
        st.lists(urls, min_size=1, max_size=3).map(tuple),
        id_tuples,
        st.none() | st.integers(1, 3),
    ),
    st.builds(lambda c, g: Result(c, *g), component_ids, grades),
    st.builds(Recency, component_ids, st.integers(1, 9)),
)
requirements = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4).map(lambda xs: AllOf(tuple(xs))),
        st.lists(kids, max_size=4).map(lambda xs: AnyOf(tuple(xs))),
        st.builds(
            lambda n, xs: AtLeast(n, tuple(xs)), st.integers(1, 3), st.lists(kids, max_size=4)
        ),
        st.builds(MaxExternal, st.integers(0, 2), kids),
    ),
    max_leaves=10,
)


@st.composite
def components(draw: st.DrawFn, component_id: str) -> Any:
    name, credits = draw(_name(component_id)), draw(st.none() | amounts)
    order = {"prerequisites": draw(id_tuples), "precedes": draw(id_tuples)}
    kind = draw(st.sampled_from(["achievement", "external-id", "external-url", "pathway"]))
    if kind == "achievement":
        return AchievementComponent(
            component_id,
            draw(urls),
            name,
            credits,
            draw(st.none() | amounts),
            draw(st.none() | texts(10)),
            tuple(draw(st.lists(urls, max_size=2))),
            **order,
        )
    if kind == "pathway":
        return PathwayComponent(component_id, draw(urls), name, credits, **order)
    issuer = draw(st.sampled_from(["did:web:partner.example", "did:key:z6Mkexample"]))
    rule = draw(urls)
    if kind == "external-id":
        return ExternalComponent(component_id, issuer, rule, None, name, credits, **order)
    return ExternalComponent(component_id, issuer, None, rule, name, credits, **order)


@st.composite
def pathways(draw: st.DrawFn) -> Pathway:
    parts = tuple(draw(components(c)) for c in IDS)
    count = draw(st.integers(1, 3))
    milestones = tuple(
        Milestone(
            f"m{i}",
            draw(texts(20)),
            draw(urls),
            draw(requirements),
            draw(st.sampled_from(sorted(ACHIEVEMENT_TYPES))),
            draw(st.none() | texts(30)),
        )
        for i in range(count)
    )
    return Pathway(
        draw(urls | st.uuids().map(lambda u: f"urn:uuid:{u}")),
        draw(texts(30)),
        draw(st.just("") | texts(60)),
        draw(st.integers(1, 99)),
        draw(st.sampled_from(["", "did:web:college.example"])),
        parts,
        milestones,
        f"m{draw(st.integers(0, count - 1))}",
        draw(st.sampled_from(list(CascadePolicy))),
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pathways())
def test_any_pathway_round_trips_through_ctdl_and_credstack_json(p: Pathway) -> None:
    assert from_ctdl(json.loads(json.dumps(to_ctdl(p)))) == p
    assert from_json(json.loads(json.dumps(to_json(p)))) == p
    assert parse_pathway(to_ctdl(p)) == parse_pathway(to_json(p)) == p


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pathways(), st.lists(st.sampled_from(IDS), max_size=6))
def test_validation_and_progress_take_any_pathway_without_failing(
    p: Pathway, held: list[str]
) -> None:
    problems = validate(p)
    assert all(problem.code and "\n" not in problem.message for problem in problems)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    credentials = []
    for n, cid in enumerate(held):
        component = p.component(cid)
        if isinstance(component, AchievementComponent):
            credentials.append(
                EarnedCredential(
                    f"c{n}",
                    "did:web:college.example",
                    component.achievement_id,
                    now - timedelta(days=40 * n),
                )
            )
    result = progress(p, credentials, now)
    assert {m.milestone_id for m in result.milestones} == {m.id for m in p.milestones}
    assert all(0.0 <= m.percent <= 100.0 for m in result.milestones)
