"""Properties: random achievements sign and verify; any signed value changed breaks the proof."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credstack.crypto.keys import b64url, b64url_decode, ed25519_from_seed
from credstack.domain.achievements import Achievement, Profile
from credstack.domain.credentials import Recipient, RecipientDid, RecipientEmail, build_credential
from credstack.services.issuing import sign
from credstack.services.verifying import VerifyOptions, verify
from credstack.testing import achievements, credential_ids, texts

KEY = ed25519_from_seed(bytes.fromhex("5e" * 32))
ISSUED = datetime(2025, 2, 1, tzinfo=UTC)
NOW = ISSUED + timedelta(days=1)
FORMATS = ["eddsa-rdfc-2022", "eddsa-jcs-2022", "vc-jwt"]
JWT_CLAIMS = ("iss", "jti", "nbf", "sub", "exp")
Path = tuple[str | int, ...]

recipients: st.SearchStrategy[Recipient] = st.one_of(
    st.from_regex(r"did:example:[a-z0-9]{1,16}", fullmatch=True).map(RecipientDid),
    st.builds(
        RecipientEmail,
        st.from_regex(r"[a-z0-9._]{1,12}@[a-z0-9]{1,10}\.(org|edu|de)", fullmatch=True),
        st.text("0123456789abcdef", min_size=8, max_size=16),
    ),
)


def build(achievement: Achievement, recipient: Recipient, credential_id: str, name: str) -> Any:
    return build_credential(
        credential_id=credential_id,
        issuer=Profile(id=KEY.controller, name=name),
        achievement=achievement,
        recipient=recipient,
        valid_from=ISSUED,
        valid_until=ISSUED + timedelta(days=365),
        awarded_date=ISSUED,
        credits_earned=achievement.credits_available,
    )


def leaf_paths(node: Any, path: Path = ()) -> list[Path]:
    """Every path to a string, number or boolean inside ``node``."""
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in leaf_paths(value, (*path, key))]
    if isinstance(node, list):
        return [p for index, value in enumerate(node) for p in leaf_paths(value, (*path, index))]
    return [path]


def signed_meaning(path: Path, suite: str) -> bool:
    """Whether a change at ``path`` must break the proof.

    eddsa-rdfc-2022 signs the RDF dataset: a term definition inside an inline ``@context``
    that the document does not use (or ``@protected``) carries no signed meaning, so only
    the JSON-signing formats must notice a change there.
    """
    inside_inline_context = len(path) > 2 and path[0] == "@context"
    return not (suite == "eddsa-rdfc-2022" and inside_inline_context)


def changed(value: Any) -> Any:
    """A different value of the same JSON type (negation keeps floats distinct at any size)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return -value - 1
    if isinstance(value, str):
        return value + "x"
    raise AssertionError(f"unexpected leaf {value!r}")


def with_change(document: dict[str, Any], path: Path) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    parent: Any = copied
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = changed(parent[path[-1]])
    return copied


def retamper_jwt(token: str, path: Path) -> str:
    """The token with one credential value changed in its payload, header and signature kept."""
    head, body, signature = token.split(".")
    payload = json.loads(b64url_decode(body))
    tampered = with_change(payload, path)
    return f"{head}.{b64url(json.dumps(tampered).encode())}.{signature}"


COMMON = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@COMMON
@given(
    achievement=achievements(),
    recipient=recipients,
    credential_id=credential_ids(),
    issuer_name=texts(),
)
def test_any_achievement_builds_a_credential_that_signs_and_verifies_in_every_format(
    achievement: Achievement, recipient: Recipient, credential_id: str, issuer_name: str
) -> None:
    credential = build(achievement, recipient, credential_id, issuer_name)
    options = VerifyOptions(now=NOW)
    for suite in FORMATS:
        signed = sign(credential, KEY, suite=suite, created=ISSUED)
        result = verify(signed, options)
        assert result.verified, (suite, result.failed())
        assert result.credential is not None
        assert {k: v for k, v in result.credential.items() if k != "proof"} == credential


@COMMON
@given(
    achievement=achievements(),
    recipient=recipients,
    suite=st.sampled_from(FORMATS),
    data=st.data(),
)
def test_changing_any_one_signed_value_makes_verification_fail(
    achievement: Achievement, recipient: Recipient, suite: str, data: st.DataObject
) -> None:
    credential = build(achievement, recipient, "urn:uuid:0e6f5a4b-0000-4000-8000-00000000abcd", "X")
    signed = sign(credential, KEY, suite=suite, created=ISSUED)
    options = VerifyOptions(now=NOW)
    if isinstance(signed, str):
        payload = json.loads(b64url_decode(signed.split(".")[1]))
        paths = [p for p in leaf_paths(payload) if p[0] not in JWT_CLAIMS]
        path = data.draw(st.sampled_from(paths), label="path")
        tampered: Any = retamper_jwt(signed, path)
    else:
        unsecured = {k: v for k, v in signed.items() if k != "proof"}
        paths = [p for p in leaf_paths(unsecured) if signed_meaning(p, suite)]
        path = data.draw(st.sampled_from(paths), label="path")
        tampered = with_change(signed, path)
    result = verify(tampered, options)
    assert not result.verified, (suite, path)
    proof_codes = [c.code for c in result.checks if c.code.startswith("proof.")]
    assert proof_codes, result.codes()
    assert proof_codes[0] != "proof.ok", (suite, path, result.codes())
