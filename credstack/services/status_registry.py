"""Bitstring Status List registry: allocation, revoke/suspend, list credentials.

Each organization has a revocation list and a suspension list of 131,072 entries; every
credential gets one random index, the same on both lists. When a pair fills up past
three quarters a new pair starts. https://www.w3.org/TR/vc-bitstring-status-list/
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from credstack.crypto import status_list
from credstack.crypto.keys import SigningKey
from credstack.domain.credentials import VC_V2, format_datetime
from credstack.domain.errors import NotFound
from credstack.domain.platform import Organization, StatusListState, StatusPurpose
from credstack.domain.ports import AwardRepository, StatusListRepository
from credstack.services.issuing import sign
from credstack.services.status import StatusList

SIZE = status_list.MIN_ENTRIES
FILL_LIMIT = SIZE * 3 // 4
TTL_MS = 300_000


def list_url(base_url: str, org: Organization, list_id: str) -> str:
    return f"{base_url.rstrip('/')}/orgs/{org.slug}/status/{list_id}"


def _new_list(
    lists: StatusListRepository, org: Organization, purpose: StatusPurpose, now: datetime
) -> StatusListState:
    state = StatusListState(
        str(uuid.uuid4()), org.id, purpose, bytes(status_list.new_bitstring(SIZE)), 1, now
    )
    lists.add(state)
    return state


def allocate(
    lists: StatusListRepository,
    awards: AwardRepository,
    org: Organization,
    *,
    now: datetime,
    rng: random.Random,
) -> tuple[StatusListState, StatusListState, int]:
    """A free random index on the organization's current revocation/suspension pair."""
    revocation = lists.current(org.id, StatusPurpose.REVOCATION)
    suspension = lists.current(org.id, StatusPurpose.SUSPENSION)
    if revocation is None or suspension is None or revocation.entries_used >= FILL_LIMIT:
        revocation = _new_list(lists, org, StatusPurpose.REVOCATION, now)
        suspension = _new_list(lists, org, StatusPurpose.SUSPENSION, now)
    for _ in range(64):
        index = rng.randrange(SIZE)
        if not awards.index_taken(revocation.id, index):
            break
    else:  # pragma: no cover - a list past FILL_LIMIT is replaced before this happens
        raise NotFound("no free status index; the list is full")
    # Count the entry on the row as it is now (locked), not as read above: saving the
    # earlier read would write back stale bits and undo a revocation made meanwhile.
    locked = lists.lock(revocation.id)
    if locked is None:
        raise NotFound(f"no status list {revocation.id}")
    used = replace(locked, entries_used=locked.entries_used + 1)
    lists.save(used)
    return used, suspension, index


def entries(
    base_url: str, org: Organization, revocation: str, suspension: str, index: int
) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{list_url(base_url, org, list_id)}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": list_url(base_url, org, list_id),
        }
        for purpose, list_id in (("revocation", revocation), ("suspension", suspension))
    ]


def set_bit(
    lists: StatusListRepository, list_id: str, index: int, value: int, now: datetime
) -> StatusListState:
    state = lists.lock(list_id)
    if state is None:
        raise NotFound(f"no status list {list_id}")
    bits = bytearray(state.bits)
    if status_list.get_status(bits, index) == value:
        return state
    status_list.set_status(bits, index, value)
    updated = replace(state, bits=bytes(bits), version=state.version + 1, updated_at=now)
    lists.save(updated)
    return updated


def list_credential(
    state: StatusListState,
    org: Organization,
    key: SigningKey,
    *,
    base_url: str,
    now: datetime,
) -> dict[str, Any]:
    """The signed BitstringStatusListCredential for ``state``."""
    url = list_url(base_url, org, state.id)
    unsigned = {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": key.controller,
        "validFrom": format_datetime(state.updated_at),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": str(state.purpose),
            "encodedList": status_list.encode(state.bits),
            "ttl": TTL_MS,
        },
    }
    signed = sign(unsigned, key, created=now)
    assert isinstance(signed, dict)
    return signed


def as_status_list(state: StatusListState, url: str, issuer: str) -> StatusList:
    return StatusList(url, frozenset({str(state.purpose)}), state.bits, issuer)
