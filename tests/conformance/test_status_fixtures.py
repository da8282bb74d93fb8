"""Bitstring Status List v1.0 against the 1EdTech validator and DCC verifier-core fixtures.

https://www.w3.org/TR/vc-bitstring-status-list/ (STANDARDS-NOTES 4): the 1EdTech list
holds 131,072 entries with index 23 set (MSB-first) and an eddsa-rdfc-2022 proof by the OB
test key; the DCC list holds 100,000 entries, under the spec minimum.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

import credstack
from credstack.crypto import status_list
from credstack.crypto.did import DidResolver
from credstack.crypto.keys import Ed25519Key
from credstack.crypto.loader import OfflineLoader
from credstack.crypto.proofs import verify_proof
from credstack.services.status import StatusList, StatusResolver
from credstack.services.status_lists import LocalStatusLists, to_status_list
from credstack.services.verifying import VerifyOptions

from .support import (
    SPECS,
    STATUS_FIXTURES,
    controller_resolver,
    guide_page,
    ob_test_key,
    read_json,
    requires_shared,
)

pytestmark = requires_shared

ISSUER = "https://1edtech.edu/issuers/565049"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def status_list_credential() -> dict[str, Any]:
    # The file has no extension; it is the JSON the 1EdTech validator serves for the list.
    return read_json(STATUS_FIXTURES / "testlist")


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519Key:
    """The OB test key (linked-data-proof-ob.html) under the 1EdTech test issuer."""
    return ob_test_key(guide_page("linked-data-proof-ob.html"), ISSUER)


@pytest.fixture(scope="module")
def resolver(issuer_key: Ed25519Key) -> DidResolver:
    return controller_resolver(issuer_key)


@pytest.fixture(scope="module")
def local_lists(status_list_credential: dict[str, Any], resolver: DidResolver) -> LocalStatusLists:
    return LocalStatusLists([status_list_credential], VerifyOptions(now=NOW, resolve=resolver))


def _set_indices(bits: bytes) -> list[int]:
    return [
        index * 8 + bit
        for index, byte in enumerate(bits)
        if byte
        for bit in range(8)
        if byte & (0x80 >> bit)
    ]


def test_the_1edtech_status_list_decodes_to_131072_bits_with_only_index_23_set(
    status_list_credential: dict[str, Any],
) -> None:
    bits = status_list.decode(status_list_credential["credentialSubject"]["encodedList"])
    assert len(bits) * 8 == 131_072 == status_list.MIN_ENTRIES
    assert _set_indices(bits) == [23]
    assert status_list.get_status(bits, 23) == 1
    assert status_list.get_status(bits, 16) == 0, "index 16 is where an LSB-first reader looks"


def test_the_1edtech_status_list_proof_verifies_with_the_ob_test_key(
    status_list_credential: dict[str, Any],
    resolver: DidResolver,
    loader: OfflineLoader,
) -> None:
    (proof,) = status_list_credential["proof"]
    method = verify_proof(status_list_credential, proof, resolve=resolver, loader=loader)
    assert method.controller == ISSUER == status_list_credential["issuer"]


def test_local_status_lists_serve_the_verified_1edtech_list_under_its_id(
    status_list_credential: dict[str, Any], local_lists: LocalStatusLists
) -> None:
    found = local_lists(status_list_credential["id"], NOW)
    assert isinstance(found, StatusList)
    assert found.url == "https://example.com/credentials/status/3"
    assert found.purposes == frozenset({"revocation"})
    assert found.issuer == ISSUER
    assert _set_indices(found.bits) == [23]


def test_local_status_lists_refuse_the_1edtech_list_when_its_signer_is_unknown(
    status_list_credential: dict[str, Any],
) -> None:
    lists = LocalStatusLists([status_list_credential], VerifyOptions(now=NOW))
    assert lists(status_list_credential["id"], NOW) is None


def test_local_status_lists_refuse_a_1edtech_list_whose_bits_were_changed(
    status_list_credential: dict[str, Any], resolver: DidResolver
) -> None:
    tampered = copy.deepcopy(status_list_credential)
    tampered["credentialSubject"]["encodedList"] = status_list.encode(status_list.new_bitstring())
    lists = LocalStatusLists([tampered], VerifyOptions(now=NOW, resolve=resolver))
    assert lists(tampered["id"], NOW) is None


def _served_at_its_url(
    credential: dict[str, Any], status_list_credential: dict[str, Any], lists: LocalStatusLists
) -> StatusResolver:
    """The list under the URL the credential names.

    The 1EdTech validator fetches the list from ``statusListCredential`` (a GitHub raw
    URL), but the list's own ``id`` is https://example.com/credentials/status/3, and
    LocalStatusLists only looks lists up by their ``id``.
    """
    url = credential["credentialStatus"]["statusListCredential"]
    aliases = {url: str(status_list_credential["id"])}

    def resolve(wanted: str, now: datetime) -> StatusList | None:
        return lists(aliases.get(wanted, wanted), now)

    return resolve


@pytest.mark.parametrize(
    "name", ["credential-status-revoked.json", "credential-status-revoked-blank-nodes.json"]
)
def test_the_1edtech_revoked_credential_has_a_valid_proof_and_is_reported_revoked(
    name: str,
    status_list_credential: dict[str, Any],
    resolver: DidResolver,
    local_lists: LocalStatusLists,
) -> None:
    credential = read_json(STATUS_FIXTURES / name)
    assert credential["credentialStatus"]["statusListIndex"] == 23  # a number, not "23"
    status = _served_at_its_url(credential, status_list_credential, local_lists)
    result = credstack.verify(credential, now=NOW, resolver=resolver, status=status)
    checks = {c.code: c.ok for c in result.checks}
    # The fixture's proof is genuine (same OB test key under the 1EdTech issuer): only the
    # revocation must stop it.
    assert checks["proof.ok"] is True
    assert checks["issuer.ok"] is True
    assert checks["validity.ok"] is True
    assert checks["status.revoked"] is False
    assert not result.verified


def test_the_1edtech_revoked_credential_cannot_be_checked_without_its_status_list(
    resolver: DidResolver,
) -> None:
    credential = read_json(STATUS_FIXTURES / "credential-status-revoked.json")
    result = credstack.verify(credential, now=NOW, resolver=resolver)
    assert "status.unresolved" in result.codes()
    assert not result.verified


def test_the_dcc_status_list_is_refused_for_holding_fewer_than_131072_entries() -> None:
    dcc = read_json(SPECS / "dcc-verifier-core-fixtures" / "status_e5WK8CbZ1GjycuPombrj.json")
    encoded = dcc["credentialSubject"]["encodedList"]
    with pytest.raises(status_list.StatusListError, match="STATUS_LIST_LENGTH_ERROR") as caught:
        status_list.decode(encoded)
    assert "100000" in str(caught.value)
    assert to_status_list(dcc) is None
    # An ecosystem that sets a lower bound can still read it (BSL: minimumNumberOfEntries).
    assert len(status_list.decode(encoded, minimum_entries=100_000)) * 8 == 100_000
