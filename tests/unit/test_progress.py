"""A learner's progress: component states, milestones, credits, percent, next steps, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import CredentialResult, EarnedCredential
from credstack.domain.pathway_index import (
    affected_by_credential,
    affected_pathways,
    build_index,
    progress_all,
)
from credstack.domain.pathway_json import from_json
from credstack.domain.pathways import (
    AchievementComponent,
    ExternalComponent,
    Milestone,
    Pathway,
    PathwayComponent,
)
from credstack.domain.progress import CompiledPathway, ComponentState, Progress, progress
from credstack.domain.requirements import Credits, Earn, MaxExternal, Recency

FIXTURES = Path(__file__).parent / "fixtures" / "pathways"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
COLLEGE = "did:web:college.example"


def load(name: str) -> Pathway:
    data: Any = json.loads((FIXTURES / name).read_text("utf-8"))
    return from_json(data)


DATA = load("data-analytics.json")
EVERY = load("every-kind.json")
STATS = load("stats-stack.json")
NESTED = {STATS.id: STATS}


def achievement(p: Pathway, component_id: str) -> str:
    found = p.component(component_id)
    assert isinstance(found, AchievementComponent | ExternalComponent)
    assert found.achievement_id is not None
    return found.achievement_id


def earned(
    cid: str,
    achievement_id: str,
    *,
    days: int = 30,
    issuer: str = COLLEGE,
    until: datetime | None = None,
    grade: str | None = None,
    external: bool = False,
    **more: Any,
) -> EarnedCredential:
    if grade is not None:
        more["results"] = (CredentialResult(grade),)
    return EarnedCredential(
        cid, issuer, achievement_id, NOW - timedelta(days=days), until, external=external, **more
    )


def data(cid: str, component_id: str, **kwargs: Any) -> EarnedCredential:
    return earned(cid, achievement(DATA, component_id), **kwargs)


def state(result: Progress, component_id: str) -> ComponentState:
    return result.component(component_id).state


# -- component states and prerequisites ---------------------------------------------------


def test_a_learner_holding_nothing_may_start_anywhere_not_locked() -> None:
    result = progress(DATA, [], NOW)
    assert [state(result, c) for c in ("sql", "python", "viz", "mooc-sql", "capstone")] == [
        ComponentState.AVAILABLE,
        ComponentState.LOCKED,
        ComponentState.AVAILABLE,
        ComponentState.AVAILABLE,
        ComponentState.LOCKED,
    ]
    assert result.component("python").locked_by == ("sql",)
    assert result.met_milestones == ()
    assert (result.percent, result.credits_counted, result.credits_required) == (0.0, 0.0, 5.0)
    assert result.valid_until is None


def test_a_held_credential_does_not_count_while_its_prerequisite_is_missing() -> None:
    result = progress(DATA, [data("p", "python"), data("v", "viz")], NOW)
    python = result.component("python")
    assert (python.state, python.credential_ids, python.locked_by) == (
        ComponentState.LOCKED,
        ("p",),
        ("sql",),
    )
    assert python.credits == 0.0
    assert not result.milestone("foundation").met
    assert "sql" in result.milestone("foundation").next_steps
    unlocked = progress(DATA, [data("p", "python"), data("v", "viz"), data("s", "sql")], NOW)
    assert state(unlocked, "python") is ComponentState.EARNED
    assert state(unlocked, "capstone") is ComponentState.AVAILABLE


def test_the_foundation_is_met_by_two_of_three_and_names_the_credentials_it_uses() -> None:
    result = progress(DATA, [data("s", "sql"), data("v", "viz")], NOW)
    foundation = result.milestone("foundation")
    assert foundation.met
    assert foundation.percent == 100.0
    assert foundation.credential_ids == ("s", "v")
    assert foundation.missing == ()
    assert result.met_milestones == ("foundation",)
    assert not result.complete


def test_an_equivalent_credential_counts_only_from_the_named_issuer() -> None:
    mooc = "https://mooc.example/badges/sql-basics"
    right = earned("m", mooc, issuer="did:web:mooc.example", external=True)
    wrong = earned("w", mooc, issuer="did:web:copycat.example", external=True)
    assert state(progress(DATA, [right], NOW), "mooc-sql") is ComponentState.EARNED
    assert state(progress(DATA, [wrong], NOW), "mooc-sql") is ComponentState.AVAILABLE
    # an external credential never earns one of this platform's own achievements
    foreign = earned("f", achievement(DATA, "sql"), issuer="did:web:other.example", external=True)
    assert state(progress(DATA, [foreign], NOW), "sql") is ComponentState.AVAILABLE


# -- the certificate: credits, results, percent, expiry -----------------------------------


def _certificate_set(grade: str) -> list[EarnedCredential]:
    return [
        data("s", "sql"),
        data("p", "python"),
        data("v", "viz"),
        data("c", "capstone", grade=grade),
    ]


def test_the_certificate_needs_five_credits_and_a_capstone_of_grade_b() -> None:
    met = progress(DATA, _certificate_set("B+"), NOW)
    assert met.complete
    assert met.percent == 100.0
    final = met.milestone("certificate")
    assert (final.credits_counted, final.credits_required) == (6.0, 5.0)
    assert met.credits_counted == 6.0
    low = progress(DATA, _certificate_set("C"), NOW)
    assert not low.complete
    assert low.missing == ("capstone: a result of grade B or better or at least 70% is needed",)
    assert low.percent == 50.0


def test_a_percentage_counts_when_the_score_reaches_seventy() -> None:
    def scored(value: str) -> Progress:
        result = CredentialResult(value, "urn:rd:score", "RawScore", "0", "50")
        held = [*_certificate_set("F")[:3], data("c", "capstone", results=(result,))]
        return progress(DATA, held, NOW)

    assert scored("35").complete  # 70 %
    assert not scored("34").complete
    assert progress(DATA, _certificate_set("71%"), NOW).complete


def test_credits_come_from_the_credential_else_the_component() -> None:
    held = [
        data("s", "sql", credits_earned=4.0),
        data("v", "viz"),
        data("c", "capstone", grade="A"),
    ]
    result = progress(DATA, held, NOW)
    certificate = result.milestone("certificate")
    assert certificate.credits_counted == 5.0  # 4 from the credential, 1 declared by viz
    assert result.component("sql").credits == 4.0
    assert result.component("capstone").state is ComponentState.LOCKED  # python is missing
    assert not certificate.met
    assert certificate.next_steps == ("python",)


def test_percent_complete_is_weighted_by_credits() -> None:
    result = progress(DATA, [data("s", "sql"), data("v", "viz")], NOW)
    certificate = result.milestone("certificate")
    assert certificate.credits_counted == 2.5
    assert certificate.percent == 25.0  # (2.5 / 5 + 0) / 2 requirements
    assert certificate.missing == (
        "2.5 more credits from: python, mooc-sql, capstone",
        "earn capstone with grade B or better or at least 70%",
    )


def test_next_steps_are_available_components_that_advance_an_unmet_requirement() -> None:
    result = progress(DATA, [data("s", "sql")], NOW)
    assert result.milestone("foundation").next_steps == ("python", "viz")
    # capstone is locked behind python, so python is the step towards it
    assert result.milestone("certificate").next_steps == ("python", "viz", "mooc-sql")
    assert result.next_steps == ("python", "viz", "mooc-sql")


def test_the_stack_expires_with_the_earliest_credential_it_needs() -> None:
    soon, later = NOW + timedelta(days=10), NOW + timedelta(days=400)
    held = [
        data("s", "sql", until=later),
        data("p", "python", until=soon),
        data("v", "viz", credits_earned=2.0),
        data("c", "capstone", grade="A", until=later),
    ]
    result = progress(DATA, held, NOW)
    assert result.complete
    # viz, sql and capstone make the 5 credits; capstone counts only while python (its
    # prerequisite) is earned, so python's credential is needed too, and expires first
    assert result.milestone("certificate").credential_ids == ("c", "p", "s", "v")
    assert result.valid_until == soon
    assert result.milestone("foundation").credential_ids == ("s", "v")
    assert result.milestone("foundation").valid_until == later


def test_credentials_with_the_latest_expiry_are_chosen_when_more_than_enough() -> None:
    p = Pathway(
        "urn:p",
        "P",
        "",
        1,
        COLLEGE,
        tuple(AchievementComponent(c, f"urn:x:{c}", credits=1) for c in "abc"),
        (Milestone("m", "M", "urn:x:m", Credits(2, ("a", "b", "c"))),),
        "m",
    )
    held = [
        earned("a1", "urn:x:a", until=NOW + timedelta(days=5)),
        earned("b1", "urn:x:b"),
        earned("c1", "urn:x:c", until=NOW + timedelta(days=50)),
    ]
    result = progress(p, held, NOW)
    assert result.milestone("m").credential_ids == ("b1", "c1")
    assert result.valid_until == NOW + timedelta(days=50)


# -- every kind, nesting ------------------------------------------------------------------


def _every(component_id: str, cid: str, **kwargs: Any) -> EarnedCredential:
    return earned(cid, achievement(EVERY, component_id), **kwargs)


def test_recency_counts_only_credentials_issued_within_the_years() -> None:
    # cert needs 2 of: (a or <=1 external in 2 credits of c,e1,e2), b with B+, d within 3 years
    fresh = progress(EVERY, [_every("a", "a1"), _every("d", "d1", days=365)], NOW)
    assert fresh.milestone("cert").met
    stale = progress(EVERY, [_every("a", "a1"), _every("d", "d1", days=4 * 366)], NOW)
    assert not stale.milestone("cert").met
    assert stale.milestone("cert").missing == (
        "1 more of: b with grade B+ or better; d earned within 3 years",
    )
    p = Pathway(
        "urn:p",
        "P",
        "",
        1,
        COLLEGE,
        (AchievementComponent("d", "urn:x:d"),),
        (Milestone("m", "M", "urn:x:m", Recency("d", 3)),),
        "m",
    )
    old = progress(p, [earned("d1", "urn:x:d", days=4 * 366)], NOW)
    assert old.missing == ("earn d again: the one held is older than 3 years",)
    assert old.component("d").state is ComponentState.EARNED
    assert progress(p, [earned("d1", "urn:x:d", days=3 * 365)], NOW).complete


def test_at_most_the_allowed_number_of_external_components_count() -> None:
    partner = "did:web:partner.example"
    components = (
        AchievementComponent("c", "urn:x:c", credits=1),
        ExternalComponent("e1", partner, achievement_id="https://partner.example/1", credits=1),
        ExternalComponent("e2", partner, alignment_url="https://skills.example/z", credits=1),
    )
    requirement = MaxExternal(1, Credits(2, ("c", "e1", "e2")))
    assert requirement.describe() == "at most 1 from other issuers in (2 credits from: c, e1, e2)"
    p = Pathway(
        "urn:p",
        "P",
        "",
        1,
        COLLEGE,
        components,
        (Milestone("m", "M", "urn:x:m", requirement),),
        "m",
    )
    e1 = earned("x1", "https://partner.example/1", issuer=partner, external=True)
    e2 = earned(
        "x2",
        "https://partner.example/other",
        issuer=partner,
        external=True,
        alignments=("https://skills.example/z",),
    )
    only_external = progress(p, [e1, e2], NOW)
    assert only_external.component("e2").state is ComponentState.EARNED
    assert not only_external.complete
    assert only_external.missing[-1] == ("at most 1 of e1, e2 count (earned from other issuers)")
    with_own = progress(p, [e1, e2, earned("c1", "urn:x:c", until=NOW + timedelta(days=9))], NOW)
    assert with_own.complete
    assert with_own.milestone("m").credential_ids in {("c1", "x1"), ("c1", "x2")}


def test_competencies_are_covered_by_the_alignments_of_what_is_earned() -> None:
    # the diploma needs x and y covered: a declares x, b declares y (b needs a first)
    held = [_every("a", "a1"), _every("d", "d1")]
    diploma = progress(EVERY, held, NOW, NESTED).milestone("diploma")
    assert any("https://skills.example/y" in line for line in diploma.missing)
    aligned = earned(
        "s1",
        "urn:uuid:7a000000-0000-4000-8000-000000000001",
        alignments=("https://skills.example/y",),
    )
    assert (
        "s1" not in progress(EVERY, [*held, aligned], NOW, NESTED).milestone("cert").credential_ids
    )


def test_a_met_milestone_counts_as_its_award_within_the_same_pathway() -> None:
    result = progress(EVERY, [_every("a", "a1"), _every("d", "d1")], NOW)
    cert = result.component("cert")
    assert (cert.state, cert.via_milestone) == (ComponentState.EARNED, "cert")
    assert cert.credential_ids == ("a1", "d1")


def test_a_nested_pathway_counts_when_its_final_milestone_is_met_or_its_award_is_held() -> None:
    stats = [
        earned("s1", "urn:uuid:7a000000-0000-4000-8000-000000000001"),
        earned("s2", "urn:uuid:7a000000-0000-4000-8000-000000000002"),
    ]
    base = [_every("a", "a1"), _every("b", "b1", grade="A"), _every("d", "d1")]
    unknown = progress(EVERY, [*base, *stats], NOW)  # the nested pathway is not given
    assert unknown.component("stats").state is ComponentState.AVAILABLE
    result = progress(EVERY, [*base, *stats], NOW, NESTED)
    assert result.component("stats").state is ComponentState.EARNED
    assert result.complete
    # the certificate (2 of 3 met: a1 and b1 are chosen) and the nested stack's credentials
    assert result.milestone("diploma").credential_ids == ("a1", "b1", "s1", "s2")
    award = earned("stack", "urn:uuid:7a000000-0000-4000-8000-000000000010")
    held_award = progress(EVERY, [*base, award], NOW, NESTED)
    assert held_award.complete
    assert "stack" in held_award.milestone("diploma").credential_ids


def test_a_pathway_nesting_itself_does_not_loop() -> None:
    me = "https://college.example/pathways/me"
    p = Pathway(
        me,
        "Me",
        "",
        1,
        COLLEGE,
        (PathwayComponent("again", me),),
        (Milestone("m", "M", "urn:x:m", Earn("again")),),
        "m",
    )
    assert progress(p, [], NOW, {me: p}).component("again").state is ComponentState.AVAILABLE


def test_progress_needs_a_timezone_aware_now() -> None:
    with pytest.raises(Invalid, match="timezone-aware"):
        progress(DATA, [], datetime(2026, 1, 1))


def test_an_ob_credential_reads_into_a_learner_fact() -> None:
    doc = {
        "id": "urn:uuid:11111111-2222-4333-8444-555555555555",
        "issuer": {"id": COLLEGE, "type": ["Profile"]},
        "validFrom": "2026-01-10T00:00:00Z",
        "validUntil": "2028-01-10T00:00:00Z",
        "credentialSubject": {
            "achievement": {
                "id": achievement(DATA, "capstone"),
                "alignment": [{"targetUrl": "https://skills.example/data/capstone"}],
                "resultDescription": [
                    {"id": "urn:rd:1", "resultType": "RawScore", "valueMin": "0", "valueMax": "20"}
                ],
            },
            "result": [{"resultDescription": "urn:rd:1", "value": "15"}],
            "creditsEarned": 2.5,
        },
    }
    fact = EarnedCredential.from_ob(doc)
    assert fact.achievement_id == achievement(DATA, "capstone")
    assert fact.valid_until == datetime(2028, 1, 10, tzinfo=UTC)
    assert fact.results[0].percent() == 75.0
    assert fact.credits_earned == 2.5
    assert fact.alignments == ("https://skills.example/data/capstone",)
    with pytest.raises(Invalid, match=r"not an OB 3\.0 AchievementCredential"):
        EarnedCredential.from_ob({"id": "x"})


# -- many pathways ------------------------------------------------------------------------


def test_affected_pathways_follow_nesting() -> None:
    index = build_index([DATA, EVERY, STATS])
    stats_course = "urn:uuid:7a000000-0000-4000-8000-000000000001"
    assert affected_pathways(index, stats_course) == {STATS.id, EVERY.id}
    assert affected_pathways(index, "urn:uuid:7a000000-0000-4000-8000-000000000010") == {EVERY.id}
    assert affected_pathways(index, achievement(DATA, "sql")) == {DATA.id}
    assert affected_pathways(index, "urn:x:unrelated") == set()
    aligned = earned(
        "z",
        "https://partner.example/any",
        issuer="did:web:partner.example",
        alignments=("https://skills.example/z",),
    )
    assert affected_by_credential(index, aligned) == {EVERY.id}


def test_progress_in_all_pathways_equals_progress_in_each() -> None:
    index = build_index([DATA, EVERY, STATS])
    held = [
        data("s", "sql"),
        data("v", "viz"),
        earned("s1", "urn:uuid:7a000000-0000-4000-8000-000000000001"),
    ]
    everything = progress_all(index, held, NOW)
    assert set(everything) == {DATA.id, EVERY.id, STATS.id}
    for pathway in (DATA, EVERY, STATS):
        assert everything[pathway.id] == progress(pathway, held, NOW, NESTED)
    assert progress_all(index, held, NOW, [STATS.id, "urn:unknown"]) == {
        STATS.id: everything[STATS.id]
    }


def test_untouched_pathways_get_their_progress_without_credentials() -> None:
    index = build_index([DATA, STATS])
    result = progress_all(index, [data("s", "sql")], NOW)
    assert result[STATS.id] == progress(STATS, [], NOW)
    assert result[STATS.id].percent == 0.0


def test_a_compiled_pathway_gives_the_same_progress() -> None:
    held = _certificate_set("A")
    assert progress(CompiledPathway(DATA), held, NOW) == progress(DATA, held, NOW)


# -- properties ---------------------------------------------------------------------------

UNIVERSE = [
    *(
        data(f"d-{c}", c, grade=g)
        for c, g in (
            ("sql", None),
            ("python", None),
            ("viz", None),
            ("capstone", "A"),
            ("capstone", "D"),
        )
    ),
    earned(
        "m-sql",
        "https://mooc.example/badges/sql-basics",
        issuer="did:web:mooc.example",
        external=True,
    ),
    *(
        _every(c, f"e-{c}", grade="A", days=days)
        for c, days in (("a", 10), ("b", 20), ("c", 30), ("d", 40), ("d", 2000))
    ),
    earned(
        "e-e1",
        "https://partner.example/achievements/1",
        issuer="did:web:partner.example",
        external=True,
        credits_earned=3.0,
    ),
    earned(
        "e-e2",
        "https://partner.example/2",
        issuer="did:web:partner.example",
        external=True,
        alignments=("https://skills.example/z",),
    ),
    earned("st-1", "urn:uuid:7a000000-0000-4000-8000-000000000001"),
    earned("st-2", "urn:uuid:7a000000-0000-4000-8000-000000000002"),
    earned("st-award", "urn:uuid:7a000000-0000-4000-8000-000000000010"),
]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    held=st.lists(st.sampled_from(UNIVERSE), unique_by=lambda c: c.id),
    extra=st.sampled_from(UNIVERSE),
    which=st.sampled_from([DATA, EVERY]),
)
def test_adding_a_credential_never_reduces_what_is_earned_or_met(
    held: list[EarnedCredential], extra: EarnedCredential, which: Pathway
) -> None:
    before = progress(which, held, NOW, NESTED)
    after = progress(which, [*held, extra], NOW, NESTED)
    assert before.earned() <= after.earned()
    assert set(before.met_milestones) <= set(after.met_milestones)
    assert after.percent >= before.percent
    for milestone in after.milestones:
        assert 0.0 <= milestone.percent <= 100.0
        assert milestone.met == (milestone.percent == 100.0)
        assert set(milestone.credential_ids) <= {c.id for c in [*held, extra]}
