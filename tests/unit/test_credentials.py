"""OB 3.0 AchievementCredential builder, date-times, recipients and structural validation."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from pyld import jsonld

from credstack.domain.achievements import (
    CREDSTACK_CONTEXT,
    CREDSTACK_CONTEXT_FILENAME,
    CREDSTACK_CONTEXT_URL,
    Achievement,
    Alignment,
    Criteria,
    Image,
    Price,
    Profile,
    ResultDescription,
)
from credstack.domain.credentials import (
    OB_EXTENSIONS,
    OB_SCHEMA_URL,
    OB_V3,
    VC_V2,
    Evidence,
    RecipientDid,
    RecipientEmail,
    Result,
    build_credential,
    check_subject_identified,
    credential_types,
    format_datetime,
    hash_identity,
    parse_datetime,
    validate_schema,
)
from credstack.domain.errors import Invalid
from credstack.testing import achievements, credential_ids

ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"
T0 = datetime(2024, 9, 1, 8, 30, tzinfo=UTC)
ISSUER = Profile("https://issuer.example", "Example Academy", url="https://issuer.example")
DID = RecipientDid("did:example:ebfeb1f712ebc6f1c276e12ec21")
RD_GRADE = "urn:uuid:00000000-0000-4000-8000-000000000001"
RD_STATUS = "urn:uuid:00000000-0000-4000-8000-000000000002"

# The spec's own sample (STANDARDS-NOTES 1.1, OB-spec/docformat.md).
SPEC_SAMPLE: dict[str, Any] = {
    "@context": [VC_V2, OB_V3],
    "id": "http://example.edu/credentials/3732",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {
        "id": "https://example.edu/issuers/565049",
        "type": ["Profile"],
        "name": "Example University",
    },
    "validFrom": "2010-01-01T00:00:00Z",
    "name": "Example University Degree",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://example.com/achievements/21st-century-skills/teamwork",
            "type": ["Achievement"],
            "criteria": {
                "narrative": "Team members are nominated for this badge by their peers and "
                "recognized upon review by Example Corp management."
            },
            "description": "This badge recognizes the development of the capacity to "
            "collaborate within a group environment.",
            "name": "Teamwork",
        },
    },
    "credentialSchema": [{"id": OB_SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}],
}


def minimal_achievement() -> Achievement:
    return Achievement(
        id="https://issuer.example/achievements/teamwork",
        name="Teamwork",
        description="Collaborates within a group.",
        criteria=Criteria(narrative="Nominated by peers."),
    )


def full_achievement() -> Achievement:
    return Achievement(
        id="https://issuer.example/achievements/python-101",
        name="Python 101",
        description="Programming fundamentals.",
        criteria=Criteria(narrative="Pass the final project.", id="https://issuer.example/c"),
        achievement_type="MicroCredential",
        alignments=(
            Alignment("Programming", "https://esco.example/s/1", "S1", "Code", "ESCO", "CTDL"),
        ),
        credits_available=6.0,
        result_descriptions=(
            ResultDescription(RD_GRADE, "Grade", "LetterGrade", ("C", "B", "A"), "C"),
            ResultDescription(RD_STATUS, "Status", "Status"),
        ),
        tags=("python",),
        image=Image("https://issuer.example/python.png", "Python badge"),
        version="1",
        human_code="PY101",
        field_of_study="Computer Science",
        in_language="en",
        creator=Profile("https://issuer.example", "Example Academy"),
        learning_hours=150.0,
        price=Price("49.00", "EUR"),
        level="EQF 5",
        ects=2.5,
    )


def full_credential(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "credential_id": "urn:uuid:9a7c3e1e-0000-4000-8000-000000000000",
        "issuer": Profile(
            "https://issuer.example",
            "Example Academy",
            url="https://issuer.example",
            email="registrar@issuer.example",
            description="We teach.",
            image=Image("https://issuer.example/logo.png"),
        ),
        "achievement": full_achievement(),
        "recipient": RecipientEmail("learner@example.com", "pepper"),
        "valid_from": T0,
        "valid_until": T0 + timedelta(days=365),
        "awarded_date": T0 - timedelta(days=1),
        "name": "Python 101 — Jane",
        "description": "Awarded for the spring cohort.",
        "evidence": [Evidence(id="https://issuer.example/ev/1", name="Project", genre="Code")],
        "results": [
            Result(value="A", result_description=RD_GRADE),
            Result(result_description=RD_STATUS, status="Completed"),
        ],
        "credits_earned": 6.0,
        "activity_start": T0 - timedelta(days=90),
        "activity_end": T0 - timedelta(days=2),
        "credential_status": {
            "id": "https://issuer.example/status/1#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://issuer.example/status/1",
        },
        "image": Image("https://issuer.example/credential.png", "Credential"),
    }
    kwargs.update(overrides)
    return build_credential(**kwargs)


def minimal_credential(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "credential_id": "urn:uuid:9a7c3e1e-0000-4000-8000-000000000001",
        "issuer": ISSUER,
        "achievement": minimal_achievement(),
        "recipient": DID,
        "valid_from": T0,
    }
    kwargs.update(overrides)
    return build_credential(**kwargs)


# -- hashing and recipients -------------------------------------------------------------


def test_hash_identity_matches_the_spec_example() -> None:
    assert (
        hash_identity("a@example.com", "Kosher")
        == "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    )


def test_email_recipient_is_normalised_before_hashing() -> None:
    recipient = RecipientEmail("  A@Example.COM ", "Kosher")

    assert recipient.email == "a@example.com"
    assert recipient.identity_object() == {
        "type": "IdentityObject",
        "hashed": True,
        "identityHash": "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399",
        "identityType": "emailAddress",
        "salt": "Kosher",
    }


@pytest.mark.parametrize("email", ["", "plainaddress", "a@b", "a b@example.com", "@example.com"])
def test_email_recipient_rejects_a_malformed_email(email: str) -> None:
    with pytest.raises(Invalid, match=re.escape("recipient.email")):
        RecipientEmail(email, "salt")


def test_email_recipient_requires_a_salt() -> None:
    with pytest.raises(Invalid, match=re.escape("recipient.salt")):
        RecipientEmail("a@example.com", "")


@pytest.mark.parametrize("did", ["", "did:", "did:key:", "DID:key:z6Mk", "https://x", "did:web: x"])
def test_did_recipient_rejects_a_malformed_did(did: str) -> None:
    with pytest.raises(Invalid, match=re.escape("recipient.did")):
        RecipientDid(did)


# -- date-times -------------------------------------------------------------------------


def test_format_datetime_writes_utc_with_a_z_suffix() -> None:
    plus_two = timezone(timedelta(hours=2))

    assert format_datetime(datetime(2024, 1, 1, 2, 0, tzinfo=plus_two)) == "2024-01-01T00:00:00Z"


def test_format_datetime_keeps_fractional_seconds_only_when_non_zero() -> None:
    assert format_datetime(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00Z"
    assert format_datetime(datetime(2024, 1, 1, 0, 0, 0, 250000, UTC)) == "2024-01-01T00:00:00.25Z"
    assert format_datetime(datetime(2024, 1, 1, 0, 0, 0, 1, UTC)) == "2024-01-01T00:00:00.000001Z"


def test_format_datetime_rejects_a_naive_datetime() -> None:
    with pytest.raises(Invalid, match=re.escape("no timezone")):
        format_datetime(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2023-12-31T19:00:00-05:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00.5Z", datetime(2024, 1, 1, 0, 0, 0, 500000, UTC)),
        ("2024-01-01T00:00:00.123456789Z", datetime(2024, 1, 1, 0, 0, 0, 123456, UTC)),
    ],
)
def test_parse_datetime_accepts_z_offsets_and_fractions(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["2024-01-01", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z", "yesterday", "2024-01-01 00:00Z"],
)
def test_parse_datetime_rejects_text_that_is_not_a_zoned_date_time(text: str) -> None:
    with pytest.raises(Invalid, match=re.escape(repr(text))):
        parse_datetime(text)


def test_format_and_parse_datetime_round_trip() -> None:
    dt = datetime(2024, 2, 29, 23, 59, 59, 999000, UTC)

    assert parse_datetime(format_datetime(dt)) == dt


# -- the builder ------------------------------------------------------------------------


def test_minimal_credential_with_a_did_recipient_validates_against_the_strict_schema() -> None:
    credential = minimal_credential()

    assert validate_schema(credential) == []
    assert check_subject_identified(credential) is None
    assert credential["credentialSubject"]["id"] == DID.did


def test_full_credential_with_an_email_recipient_validates_against_the_strict_schema() -> None:
    credential = full_credential()

    assert validate_schema(credential) == []
    assert check_subject_identified(credential) is None
    subject = credential["credentialSubject"]
    assert "id" not in subject
    assert subject["identifier"][0]["identityHash"] == hash_identity(
        "learner@example.com", "pepper"
    )


def test_full_credential_with_a_did_recipient_validates_against_the_strict_schema() -> None:
    assert validate_schema(full_credential(recipient=DID)) == []


def test_credential_has_the_ob_shape() -> None:
    credential = full_credential()

    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["type"] == ["Profile"]
    assert credential["validFrom"] == "2024-09-01T08:30:00Z"
    assert credential["validUntil"] == "2025-09-01T08:30:00Z"
    assert credential["awardedDate"] == "2024-08-31T08:30:00Z"
    assert credential["credentialSchema"] == [
        {"id": OB_SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}
    ]
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["creditsEarned"] == 6.0
    assert subject["activityStartDate"] == "2024-06-03T08:30:00Z"
    assert [r["type"] for r in subject["result"]] == [["Result"], ["Result"]]
    assert credential["evidence"][0]["type"] == ["Evidence"]
    assert credential["credentialStatus"]["type"] == "BitstringStatusListEntry"


def test_credential_name_defaults_to_the_achievement_name() -> None:
    assert minimal_credential()["name"] == "Teamwork"


def test_credential_without_micro_credential_fields_uses_the_ob_contexts_only() -> None:
    assert minimal_credential()["@context"] == [VC_V2, OB_V3, OB_EXTENSIONS]


def test_credential_with_micro_credential_fields_embeds_the_credstack_context_last() -> None:
    inline = CREDSTACK_CONTEXT["@context"]
    assert full_credential()["@context"] == [VC_V2, OB_V3, OB_EXTENSIONS, inline]


def test_builder_rejects_a_naive_datetime_naming_the_field() -> None:
    with pytest.raises(Invalid, match=r"validFrom: .*no timezone"):
        minimal_credential(valid_from=datetime(2024, 1, 1))


def test_builder_rejects_valid_until_not_after_valid_from() -> None:
    with pytest.raises(Invalid, match=re.escape("validUntil: must be later than validFrom")):
        minimal_credential(valid_until=T0)


def test_builder_rejects_an_activity_that_ends_before_it_starts() -> None:
    with pytest.raises(
        Invalid, match=re.escape("activityEndDate: must not be before activityStartDate")
    ):
        minimal_credential(activity_start=T0, activity_end=T0 - timedelta(seconds=1))


def test_builder_accepts_an_activity_that_ends_when_it_starts() -> None:
    credential = minimal_credential(activity_start=T0, activity_end=T0)

    assert credential["credentialSubject"]["activityEndDate"] == "2024-09-01T08:30:00Z"


def test_builder_rejects_a_result_linked_to_an_unknown_result_description() -> None:
    with pytest.raises(Invalid, match=r"result\[0\]\.resultDescription: 'urn:x:nope'"):
        full_credential(results=[Result(value="A", result_description="urn:x:nope")])


def test_builder_requires_a_status_for_a_status_result() -> None:
    with pytest.raises(Invalid, match=r"result\[0\]\.status: required"):
        full_credential(results=[Result(result_description=RD_STATUS)])


def test_builder_rejects_a_relative_credential_id() -> None:
    with pytest.raises(Invalid, match=re.escape("id: 'credentials/1' is not an absolute URI")):
        minimal_credential(credential_id="credentials/1")


def test_builder_rejects_a_credential_status_without_an_id() -> None:
    with pytest.raises(Invalid, match=r"credentialStatus\.id: is required"):
        minimal_credential(credential_status={"type": "1EdTechRevocationList"})


def test_builder_emits_a_one_item_status_sequence_as_an_object() -> None:
    status = {"id": "https://issuer.example/revocations", "type": "1EdTechRevocationList"}

    credential = minimal_credential(credential_status=[status])

    assert credential["credentialStatus"] == status
    assert validate_schema(credential) == []


def test_builder_emits_several_statuses_as_a_list() -> None:
    statuses = [
        {"id": "https://s.example/1#1", "type": "BitstringStatusListEntry"},
        {"id": "https://s.example/2#1", "type": "BitstringStatusListEntry"},
    ]

    assert minimal_credential(credential_status=statuses)["credentialStatus"] == statuses


def test_evidence_needs_some_content() -> None:
    with pytest.raises(Invalid, match=re.escape("evidence: at least one of")):
        Evidence(genre="Code")


def test_result_rejects_an_unknown_status() -> None:
    with pytest.raises(Invalid, match=re.escape("result.status: 'Done'")):
        Result(status="Done")


# -- schema validation messages ---------------------------------------------------------


def test_spec_sample_credential_validates_against_the_strict_schema() -> None:
    assert validate_schema(SPEC_SAMPLE) == []
    assert check_subject_identified(SPEC_SAMPLE) is None


def test_type_given_as_a_string_gives_a_readable_message() -> None:
    credential = minimal_credential() | {"type": "OpenBadgeCredential"}

    assert validate_schema(credential) == ["type: 'OpenBadgeCredential' is not of type 'array'"]


def test_type_without_open_badge_credential_gives_a_readable_message() -> None:
    credential = minimal_credential() | {"type": ["VerifiableCredential"]}

    assert validate_schema(credential) == [
        "type: must include 'AchievementCredential' or 'OpenBadgeCredential'"
    ]


def test_missing_achievement_name_gives_a_readable_message() -> None:
    credential = minimal_credential()
    del credential["credentialSubject"]["achievement"]["name"]

    assert validate_schema(credential) == [
        "credentialSubject.achievement: 'name' is a required property"
    ]


def test_missing_criteria_gives_the_documented_message() -> None:
    credential = minimal_credential()
    del credential["credentialSubject"]["achievement"]["criteria"]

    assert validate_schema(credential) == [
        "credentialSubject.achievement: 'criteria' is a required property"
    ]


def test_issuer_without_an_id_explains_the_profile_branch() -> None:
    credential = minimal_credential() | {"issuer": {"type": ["Profile"], "name": "X"}}

    assert validate_schema(credential) == ["issuer: 'id' is a required property"]


def test_every_problem_gets_its_own_message() -> None:
    credential = copy.deepcopy(SPEC_SAMPLE)
    del credential["id"]
    credential["credentialSubject"]["type"] = "AchievementSubject"
    credential["@context"] = [VC_V2]

    messages = validate_schema(credential)

    assert "credential: 'id' is a required property" in messages
    assert "credentialSubject.type: 'AchievementSubject' is not of type 'array'" in messages
    assert any(m.startswith("@context:") for m in messages)


def test_subject_without_id_or_identifier_is_reported() -> None:
    credential = copy.deepcopy(SPEC_SAMPLE)
    del credential["credentialSubject"]["id"]

    assert check_subject_identified(credential) == (
        "credentialSubject: either 'id' or at least one 'identifier' MUST be supplied"
    )
    credential["credentialSubject"]["identifier"] = []
    assert check_subject_identified(credential) is not None


def test_missing_subject_is_reported() -> None:
    assert check_subject_identified({}) == "credentialSubject: is missing or not an object"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"type": "VerifiableCredential"}, {"VerifiableCredential"}),
        (
            {"type": ["VerifiableCredential", "OpenBadgeCredential"]},
            {"VerifiableCredential", "OpenBadgeCredential"},
        ),
        ({"type": ["A", 3]}, {"A"}),
        ({}, set()),
        ({"type": None}, set()),
    ],
)
def test_credential_types_reads_type_leniently(doc: dict[str, Any], expected: set[str]) -> None:
    assert credential_types(doc) == expected


# -- JSON-LD: every term and type is defined (safe mode) ----------------------------------


def _documents() -> dict[str, Any]:
    folder = resources.files("credstack.crypto") / "contexts"
    index: dict[str, str] = json.loads((folder / "index.json").read_text("utf-8"))
    docs = {url: json.loads((folder / name).read_text("utf-8")) for url, name in index.items()}
    docs[CREDSTACK_CONTEXT_URL] = json.loads(
        (folder / CREDSTACK_CONTEXT_FILENAME).read_text("utf-8")
    )
    return docs


DOCUMENTS = _documents()


def offline_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    if url not in DOCUMENTS:
        raise LookupError(f"test loader does not hold {url}")
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(DOCUMENTS[url])}


def _iris(node: Any) -> Iterator[str]:
    """Every property IRI and @type IRI (node types and datatypes) in expanded JSON-LD."""
    if isinstance(node, list):
        for item in node:
            yield from _iris(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@type":
                yield from value if isinstance(value, list) else [value]
            elif not key.startswith("@"):
                yield key
            if key != "@value":
                yield from _iris(value)


def undefined_terms(credential: Mapping[str, Any]) -> list[str]:
    """IRIs that fall in the issuer-dependent namespace once that @vocab is in effect.

    The VC 2.0 context as published has no @vocab, so JSON-LD silently *drops* undefined
    terms; appending ``{"@vocab": issuer-dependent}`` turns every undefined property or type
    into a visible issuer-dependent IRI instead.
    """
    probe = copy.deepcopy(dict(credential))
    probe["@context"] = [*credential["@context"], {"@vocab": ISSUER_DEPENDENT}]
    expanded = jsonld.expand(probe, {"documentLoader": offline_loader})
    return sorted({iri for iri in _iris(expanded) if iri.startswith(ISSUER_DEPENDENT)})


def _as_singletons(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_singletons(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_as_singletons(v) for v in value]
        return items[0] if len(items) == 1 else items
    return value


def test_the_undefined_term_probe_detects_undefined_terms_and_types() -> None:
    credential = minimal_credential()
    credential["credentialSubject"]["achievement"]["learningHours"] = 10
    credential["credentialSubject"]["type"] = ["AchievementSubject", "Learner"]

    assert undefined_terms(credential) == [
        ISSUER_DEPENDENT + "Learner",
        ISSUER_DEPENDENT + "learningHours",
    ]


def test_full_credential_defines_every_term_and_type() -> None:
    credential = full_credential()

    assert undefined_terms(credential) == []
    expanded = jsonld.expand(credential, {"documentLoader": offline_loader})
    iris = set(_iris(expanded))
    assert (
        "https://purl.imsglobal.org/spec/vccs/v1p0/context.json#1EdTechJsonSchemaValidator2019"
        in iris
    )
    for term in ("learningHours", "price", "amount", "currency", "level", "ects"):
        assert f"https://credstack.org/vocab#{term}" in iris


def test_minimal_credential_defines_every_term_and_type() -> None:
    assert undefined_terms(minimal_credential()) == []


def test_full_credential_survives_expansion_and_compaction_unchanged() -> None:
    credential = full_credential()
    context = credential["@context"]

    expanded = jsonld.expand(credential, {"documentLoader": offline_loader})
    compacted = jsonld.compact(expanded, {"@context": context}, {"documentLoader": offline_loader})

    assert compacted.pop("@context") == context
    original = {k: v for k, v in credential.items() if k != "@context"}
    assert _as_singletons(compacted) == _as_singletons(original)


def test_credstack_level_does_not_clash_with_the_ob_rubric_criterion_level() -> None:
    credential = full_credential()
    credential["credentialSubject"]["achievement"]["resultDescription"][0][
        "rubricCriterionLevel"
    ] = [{"id": "urn:x:level", "type": ["RubricCriterionLevel"], "name": "M", "level": "Mastered"}]

    assert undefined_terms(credential) == []
    iris = set(_iris(jsonld.expand(credential, {"documentLoader": offline_loader})))
    assert "https://purl.imsglobal.org/spec/vc/ob/vocab.html#level" in iris
    assert "https://credstack.org/vocab#level" in iris


# -- generated achievements -------------------------------------------------------------


@settings(max_examples=75, deadline=None)
@given(achievement=achievements(), credential_id=credential_ids())
def test_every_generated_achievement_builds_a_schema_valid_credential(
    achievement: Achievement, credential_id: str
) -> None:
    credential = build_credential(
        credential_id=credential_id,
        issuer=ISSUER,
        achievement=achievement,
        recipient=DID,
        valid_from=T0,
    )

    assert validate_schema(credential) == []
    assert (CREDSTACK_CONTEXT["@context"] in credential["@context"]) is (
        achievement.needs_credstack_context
    )
