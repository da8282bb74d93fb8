"""CLR 2.0 ClrCredential: a stack's component credentials nested exactly as issued.

Pure: ids, time and the signed component credentials are arguments. The nested
credentials keep their own proofs and are never reformatted (the outer proof covers them,
STANDARDS-NOTES 2.2). ``association`` links achievements, not credentials: each component
achievement ``isChildOf`` the stack's achievement, the stack ``isParentOf`` each component,
and a recommended order becomes ``precedes`` (CLR has no prerequisite type).
https://www.imsglobal.org/spec/clr/v2p0/
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Final

import jsonschema_rs

from credstack.domain.achievements import CREDSTACK_CONTEXT, Achievement, Profile
from credstack.domain.credentials import (
    OB_EXTENSIONS,
    OB_V3,
    VC_V2,
    Recipient,
    _stamp,
    _status_entries,
    credential_types,
)
from credstack.domain.errors import Invalid

CLR_V2: Final = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
CLR_SCHEMA_URL: Final = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)
CLR_TYPE: Final = ("VerifiableCredential", "ClrCredential")
ASSOCIATION_TYPES: Final = frozenset(
    {
        "exactMatchOf",
        "isChildOf",
        "isParentOf",
        "isPartOf",
        "isPeerOf",
        "isRelatedTo",
        "precedes",
        "replacedBy",
    }
)
_SCHEMA_FILE: Final = "clr_v2p0_clrcredential_schema.json"


@dataclass(frozen=True, slots=True)
class Association:
    """How two achievements relate (source ``associationType`` target)."""

    association_type: str
    source_id: str
    target_id: str

    def __post_init__(self) -> None:
        if self.association_type not in ASSOCIATION_TYPES:
            raise Invalid(f"association: {self.association_type!r} is not a CLR association type")

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "Association",
            "associationType": self.association_type,
            "sourceId": self.source_id,
            "targetId": self.target_id,
        }


def stack_associations(
    stack_id: str, component_ids: Sequence[str], order: Sequence[tuple[str, str]] = ()
) -> list[Association]:
    """isChildOf/isParentOf between the stack and each component, then ``precedes`` pairs."""
    out: list[Association] = []
    for component in dict.fromkeys(component_ids):
        out.append(Association("isChildOf", component, stack_id))
        out.append(Association("isParentOf", stack_id, component))
    wanted = set(component_ids)
    out.extend(
        Association("precedes", before, after)
        for before, after in order
        if before in wanted and after in wanted
    )
    return out


def build_clr(
    *,
    credential_id: str | None,
    issuer: Profile,
    recipient: Recipient,
    name: str,
    valid_from: datetime,
    credentials: Sequence[Mapping[str, Any]],
    achievements: Sequence[Achievement] = (),
    associations: Sequence[Association] = (),
    valid_until: datetime | None = None,
    awarded_date: datetime | None = None,
    description: str | None = None,
    partial: bool = False,
    credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    evidence: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An unsigned ClrCredential nesting ``credentials`` (signed, unchanged); without a
    ``credential_id`` it has no ``id`` (the platform assigns one when it issues it)."""
    if not credentials:
        raise Invalid("credentialSubject.verifiableCredential: a CLR nests at least one credential")
    for index, nested in enumerate(credentials):
        if not isinstance(nested, Mapping) or "proof" not in nested:
            raise Invalid(f"credentialSubject.verifiableCredential[{index}]: must be signed")
    if not name.strip():
        raise Invalid("name: a CLR needs a name")
    valid_from_s = _stamp(valid_from, "validFrom")
    valid_until_s = _stamp(valid_until, "validUntil")
    if valid_until is not None and valid_until <= valid_from:
        raise Invalid("validUntil: must be later than validFrom")
    subject: dict[str, Any] = {"type": ["ClrSubject"], **recipient.subject_fields()}
    if achievements:
        subject["achievement"] = [a.to_json() for a in achievements]
    subject["verifiableCredential"] = [copy.deepcopy(dict(c)) for c in credentials]
    if associations:
        subject["association"] = [a.to_json() for a in associations]
    contexts: list[Any] = [VC_V2, CLR_V2, OB_V3, OB_EXTENSIONS]
    if any(a.needs_credstack_context for a in achievements):
        contexts.append(copy.deepcopy(CREDSTACK_CONTEXT["@context"]))
    clr: dict[str, Any] = {
        "@context": contexts,
        "id": credential_id,
        "type": list(CLR_TYPE),
        "name": name,
        "description": description,
        "partial": partial or None,
        "issuer": issuer.to_json(),
        "validFrom": valid_from_s,
        "validUntil": valid_until_s,
        "awardedDate": _stamp(awarded_date, "awardedDate"),
        "credentialSubject": subject,
        "evidence": [dict(e) for e in evidence] or None,
        "credentialSchema": [{"id": CLR_SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}],
        "credentialStatus": None
        if credential_status is None
        else _status_entries(credential_status),
    }
    return {k: v for k, v in clr.items() if v is not None}


def is_clr(document: Mapping[str, Any]) -> bool:
    return "ClrCredential" in credential_types(document)


def nested_credentials(document: Mapping[str, Any]) -> list[Any]:
    """The credentials a CLR nests (an empty list when it nests none or is no CLR)."""
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping):
        return []
    nested = subject.get("verifiableCredential")
    if isinstance(nested, Mapping):
        return [nested]
    return list(nested) if isinstance(nested, list) else []


@functools.cache
def _validator() -> Any:
    text = (resources.files("credstack.domain") / "schemas" / _SCHEMA_FILE).read_text("utf-8")
    return jsonschema_rs.validator_for(json.loads(text))


def _first_status(document: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(document)
    status = out.get("credentialStatus")
    if isinstance(status, list) and status:
        out["credentialStatus"] = status[0]
    return out


def validate_clr_schema(document: Mapping[str, Any]) -> list[str]:
    """Problems the CLR 2.0 ClrCredential JSON Schema finds (empty when valid).

    Like OB, the schema allows one credentialStatus; credstack emits two (revocation and
    suspension, decision 0008), so the first entry stands in for the schema check, in the
    CLR and in each credential it nests.
    """
    subject = _first_status(document)
    inner = subject.get("credentialSubject")
    if isinstance(inner, Mapping):
        nested = [
            _first_status(c) if isinstance(c, Mapping) else c for c in nested_credentials(subject)
        ]
        subject["credentialSubject"] = {**inner, "verifiableCredential": nested}
    return [
        f"{'.'.join(str(p) for p in error.instance_path) or '(root)'}: {error.message}"
        for error in _validator().iter_errors(subject)
    ][:20]
