"""The pathway model, its requirement registry, credstack's JSON format, validation, what-if."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import CredentialResult, EarnedCredential
from credstack.domain.pathway_formats import parse_pathway
from credstack.domain.pathway_json import FORMAT, from_json, to_json
from credstack.domain.pathway_validation import find_cycles, validate, what_if
from credstack.domain.pathways import (
    AchievementComponent,
    CascadePolicy,
    ExternalComponent,
    Milestone,
    Pathway,
    PathwayComponent,
)
from credstack.domain.requirements import (
    REQUIREMENTS,
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
    requirement_from_json,
)

FIXTURES = Path(__file__).parent / "fixtures" / "pathways"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def pathway(name: str) -> Pathway:
    return parse_pathway(fixture(name))


def small(
    components: tuple[AchievementComponent | PathwayComponent | ExternalComponent, ...],
    requirement: Requirement,
    *more: Milestone,
    pathway_id: str = "https://college.example/pathways/small",
) -> Pathway:
    final = Milestone("final", "Final", "urn:x:final", requirement)
    return Pathway(
        pathway_id, "Small", "", 1, "did:web:college.example", components, (final, *more), "final"
    )


def codes(problems: list[Any]) -> list[str]:
    return [p.code for p in problems]


# -- model and JSON format ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["data-analytics.json", "every-kind.json"])
def test_the_json_format_round_trips_exactly_both_ways(name: str) -> None:
    data = fixture(name)
    model = from_json(data)
    assert to_json(model) == data
    assert from_json(json.loads(json.dumps(to_json(model)))) == model


def test_the_data_analytics_fixture_reads_into_the_model() -> None:
    p = pathway("data-analytics.json")
    assert p.id == "https://college.example/pathways/data-analytics"
    assert (p.version, p.org_id, p.cascade_policy) == (2, "did:web:college.example", "suspend")
    sql = p.component("sql")
    assert isinstance(sql, AchievementComponent)
    assert (sql.credits, sql.hours, sql.level) == (1.5, 20.0, "EQF 4")
    assert sql.precedes == ("python",)
    mooc = p.component("mooc-sql")
    assert isinstance(mooc, ExternalComponent)
    assert (mooc.issuer, mooc.credits) == ("did:web:mooc.example", 1.0)
    assert p.final is not None
    assert p.final.id == "certificate"
    assert p.final.requirement == AllOf(
        (
            Credits(5, ("sql", "python", "viz", "mooc-sql", "capstone")),
            Result("capstone", "B", 70),
        )
    )


def test_a_bare_component_id_reads_as_a_component_requirement() -> None:
    assert requirement_from_json({"kind": "all_of", "of": ["sql", "python"]}) == AllOf(
        (Earn("sql"), Earn("python"))
    )
    stats = pathway("stats-stack.json")
    assert stats.milestones[0].requirement.to_json() == {
        "kind": "all_of",
        "of": [
            {"kind": "component", "component": "stats-1"},
            {"kind": "component", "component": "stats-2"},
        ],
    }


def test_the_registry_names_every_kind_and_each_reads_its_own_json() -> None:
    assert set(REQUIREMENTS) == {
        "component",
        "all_of",
        "any_of",
        "at_least",
        "credits",
        "competencies",
        "result",
        "recency",
        "max_external",
    }
    samples: list[Requirement] = [
        Earn("a"),
        AllOf((Earn("a"), Earn("b"))),
        AnyOf((Earn("a"),)),
        AtLeast(1, (Earn("a"), Earn("b"))),
        Credits(3, ("a", "b")),
        Competencies(("https://skills.example/x",), ("a",), 1),
        Result("a", None, 80),
        Recency("a", 2),
        MaxExternal(0, Credits(1.5, ("a",))),
    ]
    for sample in samples:
        data = sample.to_json()
        assert REQUIREMENTS[data["kind"]] is type(sample)
        assert requirement_from_json(data) == sample


def test_result_defaults_to_grade_b_or_seventy_percent_and_null_switches_one_off() -> None:
    assert requirement_from_json({"kind": "result", "component": "a"}) == Result("a", "B", 70)
    off = requirement_from_json({"kind": "result", "component": "a", "minPercent": None})
    assert off == Result("a", "B", None)
    assert off.to_json() == {
        "kind": "result",
        "component": "a",
        "minGrade": "B",
        "minPercent": None,
    }


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"kind": "most_of", "of": []}, "requirement.kind: 'most_of' is not a requirement kind"),
        ({"kind": "at_least", "n": "two", "of": []}, "requirement.n: must be an integer"),
        ({"kind": "at_least", "n": 0, "of": []}, "at_least.n: must be a positive integer"),
        ({"kind": "all_of", "of": [{"kind": "component"}]}, "requirement.of[0].component"),
        ({"kind": "all_of", "of": [], "extra": 1}, "unknown property 'extra'"),
        ({"kind": "result", "component": "a", "minGrade": "Q"}, "'Q' is not one of A+"),
        ({"kind": "result", "component": "a", "minGrade": None, "minPercent": None}, "give"),
        ({"kind": "credits", "credits": -1, "pool": ["a"]}, "must be a positive number"),
        ({"kind": "competencies", "targets": []}, "at least one alignment"),
        (7, "must be a requirement object or a component id"),
    ],
)
def test_malformed_requirements_are_invalid_naming_what(data: Any, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        requirement_from_json(data)
    assert words in caught.value.message
    assert "\n" not in caught.value.message


def test_an_external_component_needs_exactly_one_equivalency_rule() -> None:
    with pytest.raises(Invalid, match="exactly one of achievementId and alignmentUrl"):
        ExternalComponent("x", "did:web:other.example")
    with pytest.raises(Invalid, match="exactly one"):
        ExternalComponent("x", "did:web:o", achievement_id="urn:a", alignment_url="https://s/x")


def test_malformed_pathway_json_is_invalid_naming_the_path() -> None:
    data = fixture("data-analytics.json")
    data["components"][1]["credits"] = "lots"
    with pytest.raises(Invalid, match=r"pathway.components\[1\]: component 'python' credits"):
        from_json(data)
    data = fixture("data-analytics.json")
    data["cascadePolicy"] = "ignore"
    with pytest.raises(Invalid, match="'ignore' is not 'suspend' or 'revoke'"):
        from_json(data)
    data = fixture("data-analytics.json")
    data["components"][0]["kind"] = "course"
    with pytest.raises(Invalid, match=r"components\[0\].kind: must be one of"):
        from_json(data)


def test_the_cascade_policy_is_an_enum() -> None:
    assert pathway("stats-stack.json").cascade_policy is CascadePolicy.REVOKE


def test_parse_pathway_detects_the_format() -> None:
    assert parse_pathway(fixture("data-analytics.json")) == pathway("data-analytics.json")
    ctdl = parse_pathway(fixture("data-analytics.ctdl.json"))
    assert ctdl == pathway("data-analytics.json")
    unusable: object
    for unusable in ({"hello": "world"}, [], "pathway"):
        with pytest.raises(Invalid) as caught:
            parse_pathway(unusable)
        assert "\n" not in caught.value.message
    assert FORMAT == "credstack-pathway/1"


# -- validation ---------------------------------------------------------------------------


def test_the_fixtures_validate_cleanly_with_what_they_know() -> None:
    stats = pathway("stats-stack.json")
    every = pathway("every-kind.json")
    known = {
        c.achievement_id
        for p in (every, stats)
        for c in p.components
        if isinstance(c, AchievementComponent)
    } | {m.achievement_id for p in (every, stats) for m in p.milestones}
    assert validate(pathway("data-analytics.json")) == []
    assert validate(every, known, {stats.id: stats}) == []
    assert validate(stats) == []


def test_every_problem_of_the_invalid_fixture_is_reported_with_its_code() -> None:
    problems = validate(pathway("invalid.json"))
    assert codes(problems) == [
        "component.duplicate_id",
        "requirement.unknown_component",
        "requirement.unsatisfiable",
        "requirement.unsatisfiable",
        "milestone.empty",
        "prerequisite.cycle",
        "component.unused",
    ]
    assert all("\n" not in p.message for p in problems)
    messages = {p.code: p for p in problems}
    assert "'python'" in messages["component.duplicate_id"].message
    assert "ghost" in messages["requirement.unknown_component"].message
    assert messages["prerequisite.cycle"].components == ("sql", "capstone", "python")
    assert "sql -> capstone -> python -> sql" in messages["prerequisite.cycle"].message
    assert messages["component.unused"].components == ("orphan",)
    unsatisfiable = [p.message for p in problems if p.code == "requirement.unsatisfiable"]
    assert "at least 3 of 2" in unsatisfiable[0]
    assert (
        "10 credits required but the pool (sql, python, capstone) offers only 3" in unsatisfiable[1]
    )


def test_a_prerequisite_of_a_used_component_is_not_unused() -> None:
    orientation = AchievementComponent("orientation", "urn:x:orientation")
    course = AchievementComponent("course", "urn:x:course", prerequisites=("orientation",))
    assert validate(small((orientation, course), Earn("course"))) == []


def test_unknown_references_are_reported_naming_the_components() -> None:
    p = small(
        (
            AchievementComponent("a", "urn:x:a", prerequisites=("nope",), precedes=("gone",)),
            PathwayComponent("inner", "https://college.example/pathways/missing"),
        ),
        AllOf((Earn("a"), Earn("inner"))),
    )
    problems = validate(p, known_achievements={"urn:x:final"}, known_pathways={})
    assert codes(problems) == [
        "prerequisite.unknown_component",
        "precedes.unknown_component",
        "achievement.unknown",
        "pathway.unknown_nested",
    ]
    assert problems[0].components == ("a", "nope")
    assert "component a: achievement urn:x:a is not known" in problems[2].message
    assert "component inner" in problems[3].message


def test_nested_pathway_cycles_are_named() -> None:
    outer_id, inner_id = "https://college.example/p/outer", "https://college.example/p/inner"
    outer = small(
        (PathwayComponent("inner-stack", inner_id),), Earn("inner-stack"), pathway_id=outer_id
    )
    inner = small(
        (PathwayComponent("outer-stack", outer_id),), Earn("outer-stack"), pathway_id=inner_id
    )
    problems = validate(outer, known_pathways={inner_id: inner})
    assert codes(problems) == ["pathway.nesting_cycle"]
    assert problems[0].components == ("inner-stack",)
    assert f"{outer_id} -> {inner_id} -> {outer_id}" in problems[0].message
    itself = small((PathwayComponent("me", outer_id),), Earn("me"), pathway_id=outer_id)
    assert codes(validate(itself)) == ["pathway.nesting_cycle"]


def test_unsatisfiable_requirements_are_reported() -> None:
    a = AchievementComponent("a", "urn:x:a", credits=1, alignments=("https://s/x",))
    b = AchievementComponent("b", "urn:x:b")
    cases: list[tuple[Requirement, str]] = [
        (AtLeast(3, (Earn("a"), Earn("b"))), "at least 3 of 2"),
        (
            AllOf((Earn("b"), Credits(2, ("a",)))),
            "2 credits required but the pool (a) offers only 1",
        ),
        (AllOf((Earn("b"), Competencies(("https://s/y",), ("a", "b")))), "aligns to https://s/y"),
        (AllOf((Earn("b"), Earn("a"), AnyOf(()))), "an empty any_of"),
        (AllOf((Earn("b"), Competencies(("https://s/x",), ("a",), 2))), "2 competencies required"),
    ]
    for requirement, words in cases:
        problems = validate(small((a, b), requirement))
        assert codes(problems) == ["requirement.unsatisfiable"], requirement
        assert words in problems[0].message
    # credits from a component without declared credits may come from the credential
    assert validate(small((a, b), Credits(5, ("a", "b")))) == []


def test_milestones_that_need_each_others_awards_are_a_cycle() -> None:
    first = AchievementComponent("first-award", "urn:x:first")
    second = AchievementComponent("second-award", "urn:x:final")
    p = small(
        (first, second),
        Earn("first-award"),
        Milestone("first", "First", "urn:x:first", Earn("second-award")),
    )
    problems = validate(p)
    assert codes(problems) == ["milestone.cycle"]
    assert "final -> first -> final" in problems[0].message


def test_milestone_problems_are_reported() -> None:
    a = AchievementComponent("a", "urn:x:a")
    p = Pathway(
        "urn:p",
        "P",
        "",
        1,
        "",
        (a,),
        (
            Milestone("m", "M", "urn:x:m", Earn("a")),
            Milestone("m", "M again", "urn:x:m2", AllOf(())),
        ),
        "z",
    )
    assert codes(validate(p)) == [
        "milestone.duplicate_id",
        "milestone.final_unknown",
    ]
    nothing = Pathway("urn:p", "P", "", 1, "", (a,), (), "")
    assert codes(validate(nothing)) == ["pathway.no_milestones", "component.unused"]


def test_find_cycles_names_one_cycle_per_strongly_connected_component() -> None:
    graph = {"a": ["b"], "b": ["c", "a"], "c": ["a"], "d": ["d"], "e": ["a"]}
    assert find_cycles(graph) == [["a", "b"], ["d"]]
    assert find_cycles({"x": ["y"], "y": []}) == []


# -- what-if ------------------------------------------------------------------------------


def _credential(cid: str, achievement: str, grade: str | None = None) -> EarnedCredential:
    results = (CredentialResult(grade),) if grade else ()
    return EarnedCredential(
        cid, "did:web:college.example", achievement, NOW - timedelta(days=30), results=results
    )


def test_what_if_lists_who_newly_completes_and_who_loses_each_milestone() -> None:
    old = pathway("data-analytics.json")
    ids = {c.id: c.achievement_id for c in old.components if isinstance(c, AchievementComponent)}
    learners = {
        "ana": [_credential("ana-1", ids["sql"]), _credential("ana-2", ids["viz"])],
        "ben": [_credential("ben-1", ids["sql"]), _credential("ben-2", ids["python"])],
        "cem": [_credential("cem-1", ids["viz"])],
    }
    assert old.final is not None
    stricter = Milestone(
        "foundation",
        "Data Foundations Badge",
        "urn:uuid:6f1e4b8e-2a58-4b61-9f43-0d5a3c2e9b10",
        AllOf((Earn("sql"), Earn("python"))),
        "Badge",
    )
    looser = Milestone("extra", "Dashboards Badge", "urn:x:dash", Earn("viz"), "Badge")
    new = Pathway(
        old.id,
        old.name,
        old.description,
        3,
        old.org_id,
        old.components,
        (stricter, old.final, looser),
        old.final_milestone,
    )
    report = what_if(old, new, learners, NOW)
    assert report.changed
    assert report.change("foundation").newly_complete == ()
    assert report.change("foundation").no_longer_complete == ("ana",)
    assert report.change("extra").newly_complete == ("ana", "cem")
    assert report.change("certificate").newly_complete == ()
    first = what_if(None, old, learners, NOW)
    assert first.change("foundation").newly_complete == ("ana", "ben")
    assert not what_if(old, old, learners, NOW).changed
