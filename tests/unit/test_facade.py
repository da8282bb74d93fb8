"""The library facade ``credstack``: its public surface and its documented example."""

from __future__ import annotations

import doctest
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

import credstack
from credstack.domain.baking import demo_badge_png, demo_badge_svg

PUBLIC_SURFACE = [
    "Achievement",
    "Alignment",
    "Check",
    "CredstackError",
    "Criteria",
    "DidResolver",
    "Evidence",
    "Invalid",
    "Key",
    "Price",
    "Profile",
    "RecipientDid",
    "RecipientEmail",
    "Result",
    "VerificationResult",
    "bake",
    "build_credential",
    "did_key",
    "did_web",
    "generate_key",
    "load_key",
    "save_key",
    "sign",
    "unbake",
    "verify",
]
NOW = datetime(2025, 5, 1, tzinfo=UTC)


def test_the_public_surface_is_exactly_the_pinned_list() -> None:
    assert credstack.__all__ == PUBLIC_SURFACE


def test_every_name_of_the_public_surface_exists() -> None:
    missing = [name for name in credstack.__all__ if not hasattr(credstack, name)]
    assert missing == []


def test_the_docstring_example_of_the_facade_runs() -> None:
    outcome = doctest.testmod(credstack, verbose=False, report=True)
    assert outcome.attempted >= 2
    assert outcome.failed == 0


def make_credential(key: credstack.Key) -> dict[str, object]:
    return credstack.build_credential(
        credential_id="urn:uuid:9d8c7b6a-0000-4000-8000-000000000003",
        issuer=credstack.Profile(id=key.controller, name="Facade College"),
        achievement=credstack.Achievement(
            id="https://facade.example/achievements/1",
            name="Facade",
            description="Uses only the facade.",
            criteria=credstack.Criteria(narrative="Import credstack."),
        ),
        recipient=credstack.RecipientEmail("learner@example.org", "pepper"),
        valid_from=NOW,
    )


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022", "vc-jwt"])
def test_the_facade_alone_issues_and_verifies(suite: str) -> None:
    key = credstack.generate_key(seed=bytes(32))
    signed = credstack.sign(make_credential(key), key, suite=suite, created=NOW)
    assert isinstance(signed, str) == (suite == "vc-jwt")
    result = credstack.verify(signed, now=NOW)
    assert isinstance(result, credstack.VerificationResult)
    assert result.verified, result.failed()


def test_signing_without_created_stamps_the_current_second() -> None:
    key = credstack.generate_key(seed=bytes(32))
    signed = credstack.sign(make_credential(key), key)
    assert isinstance(signed, dict)
    created = signed["proof"][0]["created"]
    stamped = datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - stamped).total_seconds()) < 60
    assert "." not in created


def test_signing_for_another_issuer_raises_a_credstack_error() -> None:
    key = credstack.generate_key(seed=bytes(32))
    other = credstack.generate_key(seed=bytes(range(32)))
    with pytest.raises(credstack.CredstackError, match="not the key's controller"):
        credstack.sign(make_credential(other), key, created=NOW)


def test_an_unknown_suite_is_invalid() -> None:
    key = credstack.generate_key(seed=bytes(32))
    with pytest.raises(credstack.Invalid, match="unknown suite"):
        credstack.sign(make_credential(key), key, suite="rsa-2048", created=NOW)


def test_generate_key_makes_rsa_keys_on_request() -> None:
    key = credstack.generate_key(rsa=True)
    assert key.public.algorithm == "RS256"
    assert key.controller == credstack.did_key(key.public)


def test_save_key_writes_mode_0600_and_load_key_reads_it_back(tmp_path: Path) -> None:
    key = credstack.generate_key(seed=bytes(32))
    path = tmp_path / "key.json"
    credstack.save_key(str(path), key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credstack.load_key(path) == key


def test_did_web_is_exposed() -> None:
    assert credstack.did_web("https://example.com:8443") == "did:web:example.com%3A8443"


@pytest.mark.parametrize("make_image", [demo_badge_png, demo_badge_svg])
def test_bake_then_unbake_returns_the_credential(make_image: Callable[[str], bytes]) -> None:
    key = credstack.generate_key(seed=bytes(32))
    signed = credstack.sign(make_credential(key), key, created=NOW)
    image = make_image("Facade")
    baked = credstack.bake(image, signed)
    assert credstack.unbake(baked) == signed
    assert credstack.unbake(image) is None
    token = credstack.sign(make_credential(key), key, suite="vc-jwt", created=NOW)
    assert credstack.unbake(credstack.bake(image, token)) == token


def test_bake_accepts_the_credential_as_text() -> None:
    key = credstack.generate_key(seed=bytes(32))
    signed = credstack.sign(make_credential(key), key, created=NOW)
    baked = credstack.bake(demo_badge_png(), json.dumps(signed))
    assert credstack.unbake(baked) == signed
