"""Bitstring Status List registry: allocation, revoke/suspend, list credentials.

Each organization has a revocation list and a suspension list of 131,072 entries; every
credential gets one random index, the same on both lists. When a pair fills up past
three quarters a new pair starts. https://www.w3.org/TR/vc-bitstring-status-list/

Two ways to get an index (decision 0013):

* :func:`allocate` (one award) draws a random free index and takes the list's lock.
* :func:`reserve` (a bulk batch) takes the list's lock once for the whole batch and
  reserves the next *slots* of the list: slot ``s`` is index ``permute(key, s)``, a keyed
  pseudo-random permutation of the list's indices (``key`` is derived from the platform
  secret and the list id, so indices look random from outside and are distinct by
  construction). ``entries_used`` is the slot watermark: slots below it are spent. A
  reservation is one short locked read-modify-write per batch, and it may be committed
  on its own before the batch is signed, because nothing else can take a reserved index:
  another reservation starts at the new watermark, and :func:`allocate` refuses a random
  index whose slot is below the watermark. Indices taken before this scheme existed are
  skipped (one query per batch). A batch that dies after its reservation only wastes
  its slots.
"""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
_BITS = (SIZE - 1).bit_length()  # 17: SIZE is a power of two
_HALF = (_BITS + 1) // 2  # the permutation runs on 2 * 9 bits and walks back into SIZE
_MASK = (1 << _HALF) - 1
_ROUNDS = 6
#: Tries of :func:`allocate` before it gives up (a list past FILL_LIMIT is replaced first).
_DRAWS = 256

#: The indices among ``indices`` that awards on list ``list_id`` already hold.
TakenIndices = Callable[[str, Sequence[int]], set[int]]


def slot_key(secret: bytes, list_id: str) -> bytes:
    """The permutation key of one list (secret: the platform's, never published)."""
    return hashlib.blake2b(
        list_id.encode("utf-8"),
        key=hashlib.sha256(secret).digest(),
        digest_size=16,
        person=b"credstack-slots",
    ).digest()


@functools.lru_cache(maxsize=64)
def _rounds(key: bytes) -> tuple[tuple[int, ...], ...]:
    """The Feistel round function of ``key`` as tables (one per round, 512 entries each):
    computed once per list, then a slot costs a few lookups."""
    return tuple(
        tuple(
            int.from_bytes(
                hashlib.blake2b(
                    bytes((number, half >> 8, half & 0xFF)), key=key, digest_size=4
                ).digest(),
                "big",
            )
            & _MASK
            for half in range(1 << _HALF)
        )
        for number in range(_ROUNDS)
    )


def _feistel(key: bytes, value: int) -> int:
    left, right = value >> _HALF, value & _MASK
    for table in _rounds(key):
        left, right = right, left ^ table[right]
    return (left << _HALF) | right


def _feistel_inverse(key: bytes, value: int) -> int:
    left, right = value >> _HALF, value & _MASK
    for table in reversed(_rounds(key)):
        left, right = right ^ table[left], left
    return (left << _HALF) | right


def permute(key: bytes, slot: int) -> int:
    """The index of ``slot``: a bijection of ``range(SIZE)`` (Feistel, cycle-walking)."""
    if not 0 <= slot < SIZE:
        raise ValueError(f"slot {slot} is outside the list")
    value = _feistel(key, slot)
    while value >= SIZE:
        value = _feistel(key, value)
    return value


def slot_of(key: bytes, index: int) -> int:
    """The slot whose index is ``index`` (the inverse of :func:`permute`)."""
    if not 0 <= index < SIZE:
        raise ValueError(f"index {index} is outside the list")
    value = _feistel_inverse(key, index)
    while value >= SIZE:
        value = _feistel_inverse(key, value)
    return value


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


def _current_pair(
    lists: StatusListRepository, org: Organization, now: datetime
) -> tuple[StatusListState, StatusListState]:
    revocation = lists.current(org.id, StatusPurpose.REVOCATION)
    suspension = lists.current(org.id, StatusPurpose.SUSPENSION)
    if revocation is None or suspension is None or revocation.entries_used >= FILL_LIMIT:
        revocation = _new_list(lists, org, StatusPurpose.REVOCATION, now)
        suspension = _new_list(lists, org, StatusPurpose.SUSPENSION, now)
    return revocation, suspension


def _reserved(key: bytes | None, state: StatusListState, index: int) -> bool:
    """Whether ``index`` may belong to a reservation (its slot is below the watermark)."""
    return key is not None and slot_of(key, index) < state.entries_used


def allocate(
    lists: StatusListRepository,
    awards: AwardRepository,
    org: Organization,
    *,
    now: datetime,
    rng: random.Random,
    secret: bytes | None = None,
) -> tuple[StatusListState, StatusListState, int]:
    """A free random index on the organization's current revocation/suspension pair.

    With ``secret`` (the platform's), an index that a bulk :func:`reserve` may hold is
    drawn again; the check runs on the list as locked, so a reservation committed while
    this award was drawing is seen.
    """
    revocation, suspension = _current_pair(lists, org, now)
    key = slot_key(secret, revocation.id) if secret is not None else None
    locked: StatusListState | None = None
    for _ in range(_DRAWS):
        index = rng.randrange(SIZE)
        if locked is not None and _reserved(key, locked, index):
            continue
        if awards.index_taken(revocation.id, index):
            continue
        if locked is None:
            # Count the entry on the row as it is now (locked), not as read above: saving
            # the earlier read would write back stale bits and undo a revocation made
            # meanwhile.
            locked = lists.lock(revocation.id)
            if locked is None:
                raise NotFound(f"no status list {revocation.id}")
            if _reserved(key, locked, index):
                continue
        break
    else:  # pragma: no cover - a list past FILL_LIMIT is replaced before this happens
        raise NotFound("no free status index; the list is full")
    if locked is None:  # pragma: no cover - the loop locks before it breaks
        raise NotFound(f"no status list {revocation.id}")
    used = replace(locked, entries_used=locked.entries_used + 1)
    lists.save(used)
    return used, suspension, index


@dataclass(frozen=True, slots=True)
class Reservation:
    """Status indices reserved for a batch, all on one revocation/suspension pair."""

    revocation: StatusListState
    suspension: StatusListState
    indices: tuple[int, ...]


def reserve(
    lists: StatusListRepository,
    org: Organization,
    count: int,
    *,
    now: datetime,
    secret: bytes,
    taken: TakenIndices,
) -> Reservation:
    """Reserve ``count`` distinct indices on the current pair in one locked step.

    The pair may pass FILL_LIMIT by at most one batch (the next reservation starts a new
    pair). ``taken`` finds indices awarded before reservations existed; their slots are
    skipped.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    revocation, suspension = _current_pair(lists, org, now)
    locked = lists.lock(revocation.id)
    if locked is None:
        raise NotFound(f"no status list {revocation.id}")
    if locked.entries_used >= FILL_LIMIT:  # filled up by another runner meanwhile
        revocation = _new_list(lists, org, StatusPurpose.REVOCATION, now)
        suspension = _new_list(lists, org, StatusPurpose.SUSPENSION, now)
        locked = revocation
    key = slot_key(secret, locked.id)
    chosen: list[int] = []
    cursor = locked.entries_used
    while len(chosen) < count:
        end = min(SIZE, cursor + count - len(chosen))
        if end <= cursor:  # pragma: no cover - FILL_LIMIT leaves a quarter of the slots
            raise NotFound("no free status index; the list is full")
        candidates = [permute(key, slot) for slot in range(cursor, end)]
        held = taken(locked.id, candidates) if candidates else set()
        chosen.extend(index for index in candidates if index not in held)
        cursor = end
    used = replace(locked, entries_used=cursor)
    lists.save(used)
    return Reservation(used, suspension, tuple(chosen))


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


_LISTENERS: list[weakref.WeakMethod[Callable[[str], None]]] = []


def on_list_change(listener: Callable[[str], None]) -> None:
    """Call the bound method ``listener(list_id)`` whenever this process changes a list's
    bits (a revocation, a suspension or its lifting), before that change commits.

    For caches of decoded lists (the verification API's): held weakly, so a cache that is
    gone is forgotten.
    """
    _LISTENERS.append(weakref.WeakMethod(listener))


def _changed(list_id: str) -> None:
    for reference in list(_LISTENERS):
        listener = reference()
        if listener is None:
            _LISTENERS.remove(reference)
        else:
            listener(list_id)


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
    _changed(list_id)
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
