"""Achievement, Profile and friends: OB 3.0 JSON shape, parsing and validation."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings

from credstack.domain.achievements import (
    CREDSTACK_CONTEXT,
    CREDSTACK_CONTEXT_FILENAME,
    CREDSTACK_VOCAB,
    Achievement,
    Alignment,
    Criteria,
    Image,
    Price,
    Profile,
    ResultDescription,
)
from credstack.domain.errors import Invalid
from credstack.testing import achievements


def full_achievement() -> Achievement:
    return Achievement(
        id="https://issuer.example/achievements/python-101",
        name="Python für Einsteiger",
        description="Grundlagen der Programmierung mit Python.",
        criteria=Criteria(narrative="Pass the **final** project.", id="https://ex.org/c/1"),
        achievement_type="MicroCredential",
        alignments=(
            Alignment(
                target_name="Programming",
                target_url="https://esco.example/skill/42",
                target_code="S42",
                target_description="Write programs",
                target_framework="ESCO",
                target_type="ceasn:Competency",
            ),
        ),
        credits_available=6.0,
        result_descriptions=(
            ResultDescription(
                id="urn:uuid:6b0f5e1c-0000-4000-8000-000000000001",
                name="Final grade",
                result_type="LetterGrade",
                allowed_values=("C", "B", "A"),
                required_value="C",
            ),
            ResultDescription(
                id="urn:uuid:6b0f5e1c-0000-4000-8000-000000000002",
                name="Score",
                result_type="Percent",
                value_min="0",
                value_max="100",
            ),
        ),
        tags=("python", "programming"),
        image=Image("https://issuer.example/badges/python.png", caption="Python badge"),
        version="2024.1",
        human_code="PY101",
        field_of_study="Computer Science",
        in_language="de-AT",
        creator=Profile("https://issuer.example", "Example Academy", url="https://ex.org"),
        learning_hours=150.0,
        price=Price("49.00", "EUR"),
        level="EQF 5",
        ects=6.0,
    )


def minimal_achievement() -> Achievement:
    return Achievement(
        id="https://issuer.example/achievements/teamwork",
        name="Teamwork",
        description="Collaborates within a group.",
        criteria=Criteria(narrative="Nominated by peers."),
    )


# -- to_json ----------------------------------------------------------------------------


def test_to_json_emits_arrays_for_every_multi_valued_property() -> None:
    data = full_achievement().to_json()

    assert data["type"] == ["Achievement"]
    assert isinstance(data["alignment"], list)
    assert data["alignment"][0]["type"] == ["Alignment"]
    assert isinstance(data["resultDescription"], list)
    assert data["resultDescription"][0]["type"] == ["ResultDescription"]
    assert data["resultDescription"][0]["allowedValue"] == ["C", "B", "A"]
    assert data["tag"] == ["python", "programming"]
    assert data["creator"]["type"] == ["Profile"]


def test_to_json_emits_image_type_as_the_string_the_schema_requires() -> None:
    assert full_achievement().to_json()["image"] == {
        "id": "https://issuer.example/badges/python.png",
        "type": "Image",
        "caption": "Python badge",
    }


def test_to_json_uses_ob_camel_case_names() -> None:
    data = full_achievement().to_json()

    for key in ("achievementType", "creditsAvailable", "humanCode", "fieldOfStudy", "inLanguage"):
        assert key in data
    alignment = data["alignment"][0]
    assert set(alignment) == {
        "type",
        "targetName",
        "targetUrl",
        "targetCode",
        "targetDescription",
        "targetFramework",
        "targetType",
    }


def test_to_json_omits_unset_optional_fields() -> None:
    assert minimal_achievement().to_json() == {
        "id": "https://issuer.example/achievements/teamwork",
        "type": ["Achievement"],
        "name": "Teamwork",
        "description": "Collaborates within a group.",
        "criteria": {"narrative": "Nominated by peers."},
    }


def test_micro_credential_fields_are_emitted_with_credstack_terms() -> None:
    data = full_achievement().to_json()

    assert data["learningHours"] == 150.0
    assert data["price"] == {"amount": "49.00", "currency": "EUR"}
    assert data["level"] == "EQF 5"
    assert data["ects"] == 6.0


def test_only_micro_credential_fields_need_the_credstack_context() -> None:
    assert full_achievement().needs_credstack_context
    assert not minimal_achievement().needs_credstack_context
    minimal = minimal_achievement()
    for field, value in (
        ("learning_hours", 1.0),
        ("price", Price("0", "USD")),
        ("level", "NQF 4"),
        ("ects", 2.5),
    ):
        kwargs: dict[str, Any] = {
            "id": minimal.id,
            "name": minimal.name,
            "description": minimal.description,
            "criteria": minimal.criteria,
            field: value,
        }
        assert Achievement(**kwargs).needs_credstack_context, field


# -- from_json --------------------------------------------------------------------------


def test_full_achievement_round_trips_through_json() -> None:
    achievement = full_achievement()

    assert Achievement.from_json(achievement.to_json()) == achievement


def test_minimal_achievement_round_trips_through_json() -> None:
    achievement = minimal_achievement()

    assert Achievement.from_json(achievement.to_json()) == achievement


def test_from_json_accepts_single_values_where_arrays_are_expected() -> None:
    data = full_achievement().to_json()
    data["type"] = "Achievement"
    data["tag"] = "python"
    data["alignment"] = data["alignment"][0]
    data["resultDescription"] = data["resultDescription"][0]

    parsed = Achievement.from_json(data)

    assert parsed.tags == ("python",)
    assert parsed.alignments == full_achievement().alignments
    assert parsed.result_descriptions == full_achievement().result_descriptions[:1]


def test_from_json_accepts_a_bare_image_uri() -> None:
    data = minimal_achievement().to_json() | {"image": "https://ex.org/i.png"}

    assert Achievement.from_json(data).image == Image("https://ex.org/i.png")


def test_from_json_ignores_unknown_properties() -> None:
    data = minimal_achievement().to_json() | {"specialization": "Backend"}

    assert Achievement.from_json(data) == minimal_achievement()


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("name", "achievement.name: is required"),
        ("description", "achievement.description: is required"),
        ("id", "achievement.id: is required"),
        ("criteria", "achievement.criteria: is required"),
    ],
)
def test_from_json_names_the_missing_field(field: str, message: str) -> None:
    data = minimal_achievement().to_json()
    del data[field]

    with pytest.raises(Invalid, match=re.escape(message)):
        Achievement.from_json(data)


def test_from_json_names_the_path_of_a_nested_missing_field() -> None:
    data = full_achievement().to_json()
    del data["alignment"][0]["targetUrl"]

    with pytest.raises(Invalid, match=r"achievement\.alignment\[0\]\.targetUrl: is required"):
        Achievement.from_json(data)


def test_from_json_names_a_field_of_the_wrong_json_type() -> None:
    data = minimal_achievement().to_json() | {"creditsAvailable": "lots"}

    with pytest.raises(
        Invalid, match=re.escape("achievement.creditsAvailable: 'lots' is not a number")
    ):
        Achievement.from_json(data)


def test_from_json_rejects_an_object_of_another_type() -> None:
    data = minimal_achievement().to_json() | {"type": ["Profile"]}

    with pytest.raises(Invalid, match=re.escape("achievement.type: must include 'Achievement'")):
        Achievement.from_json(data)


def test_from_json_rejects_a_non_object() -> None:
    with pytest.raises(Invalid, match=re.escape("achievement: expected a JSON object")):
        Achievement.from_json(["not", "an", "object"])


# -- validation -------------------------------------------------------------------------


def test_achievement_requires_a_non_blank_name() -> None:
    with pytest.raises(Invalid, match=re.escape("achievement.name: must be a non-empty string")):
        Achievement(id="https://ex.org/a", name="  ", description="d", criteria=Criteria("n"))


def test_achievement_rejects_an_unknown_achievement_type() -> None:
    with pytest.raises(Invalid, match=re.escape("achievement.achievementType: 'Nanodegree'")):
        Achievement(
            id="https://ex.org/a",
            name="n",
            description="d",
            criteria=Criteria("n"),
            achievement_type="Nanodegree",
        )


def test_achievement_accepts_an_extension_achievement_type() -> None:
    achievement = Achievement(
        id="https://ex.org/a",
        name="n",
        description="d",
        criteria=Criteria("n"),
        achievement_type="ext:Nanodegree",
    )

    assert achievement.to_json()["achievementType"] == "ext:Nanodegree"


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_achievement_rejects_negative_or_non_finite_credits(value: float) -> None:
    with pytest.raises(Invalid, match=re.escape("achievement.creditsAvailable")):
        Achievement(
            id="https://ex.org/a",
            name="n",
            description="d",
            criteria=Criteria("n"),
            credits_available=value,
        )


def test_achievement_rejects_duplicate_result_description_ids() -> None:
    rd = ResultDescription("urn:x:1", "Grade", "LetterGrade")
    with pytest.raises(Invalid, match=re.escape("ids must be unique")):
        Achievement(
            id="https://ex.org/a",
            name="n",
            description="d",
            criteria=Criteria("n"),
            result_descriptions=(rd, rd),
        )


def test_criteria_needs_a_narrative_or_an_id() -> None:
    with pytest.raises(Invalid, match=re.escape("criteria: a narrative or an id")):
        Criteria()


def test_alignment_requires_an_absolute_target_url() -> None:
    with pytest.raises(
        Invalid, match=re.escape("alignment.targetUrl: 'esco/skill' is not an absolute URI")
    ):
        Alignment("Skill", "esco/skill")


def test_result_description_required_value_must_be_an_allowed_value() -> None:
    with pytest.raises(Invalid, match=re.escape("resultDescription.requiredValue: 'A+'")):
        ResultDescription("urn:x:1", "Grade", "LetterGrade", ("C", "B", "A"), "A+")


@pytest.mark.parametrize("amount", ["-1", "1e3", "", "abc", "1.", ".5", "1,50", " 1"])
def test_price_rejects_an_amount_that_is_not_a_non_negative_decimal_string(amount: str) -> None:
    with pytest.raises(Invalid, match=re.escape("price.amount")):
        Price(amount, "EUR")


def test_price_rejects_a_numeric_amount() -> None:
    with pytest.raises(Invalid, match=re.escape("price.amount")):
        Price(49.0, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", "", "€"])
def test_price_rejects_a_currency_that_is_not_an_iso_4217_code(currency: str) -> None:
    with pytest.raises(Invalid, match=re.escape("price.currency")):
        Price("10.00", currency)


@pytest.mark.parametrize("amount", ["0", "49", "49.00", "0.5", "1000000.001"])
def test_price_accepts_decimal_strings(amount: str) -> None:
    assert Price(amount, "CHF").to_json() == {"amount": amount, "currency": "CHF"}


def test_profile_round_trips_through_json() -> None:
    profile = Profile(
        "https://issuer.example",
        "Example Academy",
        url="https://issuer.example/about",
        email="registrar@issuer.example",
        description="We teach.",
        image=Image("https://issuer.example/logo.png", "Logo"),
    )

    data = profile.to_json()

    assert data["type"] == ["Profile"]
    assert Profile.from_json(data) == profile


def test_profile_rejects_an_invalid_email() -> None:
    with pytest.raises(Invalid, match=re.escape("profile.email: 'not-an-email'")):
        Profile("https://issuer.example", "X", email="not-an-email")


def test_profile_from_json_names_the_missing_id() -> None:
    with pytest.raises(Invalid, match=r"issuer\.id: is required"):
        Profile.from_json({"type": ["Profile"], "name": "X"}, "issuer")


# -- the credstack JSON-LD context ------------------------------------------------------


def test_shipped_context_file_equals_the_context_constant() -> None:
    folder = resources.files("credstack.crypto") / "contexts"
    shipped = json.loads((folder / CREDSTACK_CONTEXT_FILENAME).read_text("utf-8"))

    assert shipped == CREDSTACK_CONTEXT


def test_context_defines_every_micro_credential_term_in_the_credstack_vocabulary() -> None:
    context = CREDSTACK_CONTEXT["@context"]

    assert context["@version"] == 1.1
    assert context["@protected"] is True
    for term in ("learningHours", "price", "level", "ects"):
        assert context[term]["@id"] == CREDSTACK_VOCAB + term
    for term in ("amount", "currency"):
        assert context["price"]["@context"][term]["@id"] == CREDSTACK_VOCAB + term


# -- generated achievements -------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(achievements())
def test_every_generated_achievement_round_trips_through_json(achievement: Achievement) -> None:
    data = json.loads(json.dumps(achievement.to_json()))

    assert Achievement.from_json(data) == achievement
