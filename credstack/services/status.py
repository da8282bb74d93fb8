"""Status checks over W3C Bitstring Status List entries.

The resolver that finds a status list is injected: the platform resolves its own lists
from its database and other issuers' lists through ``credstack.remote``; offline tools
pass list credentials they already hold (:mod:`credstack.services.status_lists`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from credstack.crypto import status_list
from credstack.domain.errors import CredstackError
from credstack.services.checks import Check

ENTRY_TYPE = "BitstringStatusListEntry"


@dataclass(frozen=True, slots=True)
class StatusList:
    """A status list whose credential has already been verified."""

    url: str
    purposes: frozenset[str]
    bits: bytes
    issuer: str
    status_size: int = 1


StatusResolver = Callable[[str, datetime], StatusList | None]


def entries(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = credential.get("credentialStatus")
    listed = raw if isinstance(raw, list) else [raw] if raw is not None else []
    return [e for e in listed if isinstance(e, Mapping)]


def check_status(
    credential: Mapping[str, Any], resolve: StatusResolver | None, now: datetime
) -> list[Check]:
    listed = entries(credential)
    if not listed:
        return [Check("status.none", True, "the credential declares no status to check")]
    return [_check_entry(entry, resolve, now) for entry in listed]


def _check_entry(entry: Mapping[str, Any], resolve: StatusResolver | None, now: datetime) -> Check:
    if entry.get("type") != ENTRY_TYPE:
        return Check("status.unsupported", False, f"status type {entry.get('type')!r} unknown")
    purpose = str(entry.get("statusPurpose", ""))
    url = entry.get("statusListCredential")
    if not isinstance(url, str):
        return Check("status.invalid", False, "the status entry names no statusListCredential")
    if resolve is None:
        return Check("status.unresolved", False, f"no way to fetch the status list {url}")
    try:
        index = status_list.parse_index(entry.get("statusListIndex"))
        size = int(entry.get("statusSize", 1))
        found = resolve(url, now)
        if found is None:
            return Check("status.unresolved", False, f"status list {url} is not available")
        if purpose not in found.purposes:
            return Check("status.invalid", False, f"{url} is not a {purpose!r} list")
        value = status_list.get_status(found.bits, index, size)
    except (CredstackError, ValueError) as exc:
        return Check("status.invalid", False, str(exc))
    if value and purpose == "revocation":
        return Check("status.revoked", False, "the issuer has revoked this credential")
    if value and purpose == "suspension":
        return Check("status.suspended", False, "the issuer has suspended this credential")
    if value:
        return Check("status.ok", True, f"{purpose} status is {value:#x}")
    return Check("status.ok", True, f"not flagged on the {purpose} list")
