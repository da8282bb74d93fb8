"""Verify a credential in any of its forms and report every check.

Verification never raises on bad input: each check carries a stable code and says what
it found (https://www.imsglobal.org/spec/ob/v3p0/#verification). Model:
digitalbazaar/vc ``verifyCredential`` returning ``{verified, results, error}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from credstack.crypto import jwt
from credstack.crypto.did import DidResolver, VerificationMethod
from credstack.crypto.loader import OfflineLoader, default_loader
from credstack.crypto.proofs import DEFAULT_SUITES, proofs_of, verify_proof
from credstack.domain import baking
from credstack.domain.clr import is_clr, nested_credentials, validate_clr_schema
from credstack.domain.credentials import (
    check_subject_identified,
    credential_types,
    parse_datetime,
    validate_schema,
)
from credstack.domain.errors import CredstackError, Invalid, UndefinedTerm
from credstack.services.checks import Check, VerificationResult
from credstack.services.status import StatusResolver, check_status

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
Resolver = Callable[[str], VerificationMethod | None]


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """Everything verification depends on; the world comes in here, never from globals."""

    now: datetime
    loader: OfflineLoader = field(default_factory=default_loader)
    resolve: Resolver = field(default_factory=DidResolver)
    suites: frozenset[str] = DEFAULT_SUITES
    allow_jwt: bool = True
    status: StatusResolver | None = None
    skew: timedelta = timedelta(minutes=5)


@dataclass(slots=True)
class _Parsed:
    credential: dict[str, Any] | None = None
    token: str | None = None
    form: str = "json"


def parse_input(data: bytes | str | Mapping[str, Any]) -> _Parsed:
    """Recognise a JSON credential, a VC-JWT, or a baked PNG/SVG (raises Invalid)."""
    if isinstance(data, Mapping):
        return _Parsed(credential=dict(data))
    form = "json"
    if isinstance(data, bytes):
        kind = baking.sniff(data)
        if kind is not None:
            payload = baking.unbake(data)
            if payload is None:
                raise Invalid(f"the {kind} image carries no baked credential")
            form, data = str(kind), payload
        else:
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise Invalid("input is neither text (JSON or JWT) nor a PNG/SVG image") from exc
    text = data.strip().lstrip("\ufeff")
    if jwt.is_compact_jws(text):
        return _Parsed(token=text, form="jwt" if form == "json" else form)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"input is not JSON, a JWT or a baked image ({exc.msg})") from exc
    except (RecursionError, ValueError) as exc:
        raise Invalid(
            f"input JSON is too deeply nested or holds too large a number: {exc}"
        ) from exc
    if not isinstance(value, dict):
        raise Invalid("a credential must be a JSON object")
    return _Parsed(credential=value, form=form)


#: How deep CLRs may nest CLRs before verification stops descending.
MAX_NESTING = 4


def verify(
    data: bytes | str | Mapping[str, Any], options: VerifyOptions, *, depth: int = 0
) -> VerificationResult:
    """Run every check, and for a CLR every nested credential's; never raises."""
    try:
        parsed = parse_input(data)
    except CredstackError as exc:
        return VerificationResult.of([Check("input.unusable", False, exc.message)], None, "")
    checks: list[Check] = []
    method: VerificationMethod | None = None
    credential = parsed.credential
    if parsed.token is not None:
        try:
            if not options.allow_jwt:
                raise Invalid("VC-JWT is not among the allowed proof formats")
            credential, method = jwt.verify(parsed.token, options.resolve)
            checks.append(Check("proof.ok", True, "VC-JWT signature is valid"))
        except CredstackError as exc:
            checks.append(Check("proof.invalid", False, exc.message))
            try:
                credential = jwt.credential_of(jwt.decode_unverified(parsed.token)[1])
            except CredstackError:
                return VerificationResult.of(checks, None, parsed.form)
    assert credential is not None
    try:
        checks[:0] = structure_checks(credential)
        if parsed.token is None:
            proof_check, method = data_integrity(credential, options)
            checks.append(proof_check)
        checks.append(issuer_check(credential, method))
        checks.append(validity_check(credential, options.now, options.skew))
        checks.extend(check_status(credential, options.status, options.now))
    except Exception as exc:  # noqa: BLE001 - the contract is to report, never to raise
        checks.append(Check("internal.error", False, f"verification stopped: {exc!r}"))
    components: list[VerificationResult] = []
    if is_clr(credential):
        components, check = _nested(credential, options, depth)
        checks.append(check)
    return VerificationResult.of(checks, credential, parsed.form, components)


def _nested(
    credential: Mapping[str, Any], options: VerifyOptions, depth: int
) -> tuple[list[VerificationResult], Check]:
    nested = nested_credentials(credential)
    if depth >= MAX_NESTING:
        return [], Check("components.too_deep", False, "CLRs nest too deeply to verify")
    if not nested:
        return [], Check("components.missing", False, "the CLR nests no credential")
    results = [verify(item, options, depth=depth + 1) for item in nested]
    bad = [i for i, r in enumerate(results) if not r.verified]
    if bad:
        which = ", ".join(f"#{i + 1}" for i in bad)
        return results, Check(
            "components.invalid", False, f"{len(bad)} of {len(results)} nested failed: {which}"
        )
    return results, Check("components.ok", True, f"all {len(results)} nested credentials valid")


def structure_checks(credential: Mapping[str, Any]) -> list[Check]:
    problems: list[str] = []
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first != VC_V2:
        problems.append(f"@context must start with {VC_V2}")
    types = credential_types(credential)
    if "VerifiableCredential" not in types:
        problems.append("type must include VerifiableCredential")
    if types & OB_TYPES:
        problems.extend(validate_schema(_one_status(credential), lenient=True))
    if "ClrCredential" in types:
        problems.extend(validate_clr_schema(credential))
    if types & (OB_TYPES | {"ClrCredential"}):
        missing = check_subject_identified(credential)
        if missing:
            problems.append(missing)
    if problems:
        return [Check("structure.invalid", False, "; ".join(problems))]
    kind = "Open Badges 3.0" if types & OB_TYPES else "VC 2.0"
    kind = "CLR 2.0" if "ClrCredential" in types else kind
    return [Check("structure.ok", True, f"well-formed {kind} credential")]


def _one_status(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    """The OB 3.0 schema allows one credentialStatus; VC 2.0 allows several.

    credstack gives each credential a revocation and a suspension entry (Bitstring Status
    List purposes are one per entry); the schema checks the first, the status checks all.
    """
    status = credential.get("credentialStatus")
    if isinstance(status, list) and status:
        return {**credential, "credentialStatus": status[0]}
    return credential


def data_integrity(
    credential: Mapping[str, Any], options: VerifyOptions
) -> tuple[Check, VerificationMethod | None]:
    proofs = proofs_of(credential)
    if not proofs:
        return Check("proof.missing", False, "the credential carries no proof"), None
    method: VerificationMethod | None = None
    for proof in proofs:
        try:
            method = verify_proof(
                credential,
                proof,
                resolve=options.resolve,
                loader=options.loader,
                allowed=options.suites,
            )
        except UndefinedTerm as exc:
            return Check("proof.undefined_term", False, exc.message), None
        except CredstackError as exc:
            return Check("proof.invalid", False, exc.message), None
    names = ", ".join(str(p.get("cryptosuite")) for p in proofs)
    return Check("proof.ok", True, f"{len(proofs)} proof(s) valid ({names})"), method


def issuer_check(credential: Mapping[str, Any], method: VerificationMethod | None) -> Check:
    issuer = jwt.issuer_id(credential)
    if issuer is None:
        return Check("issuer.missing", False, "the credential names no issuer id")
    if method is None:
        return Check("issuer.unbound", False, "no valid proof ties a key to the issuer")
    if method.controller != issuer or not method.id.startswith(issuer):
        return Check(
            "issuer.mismatch",
            False,
            f"signed by {method.id}, which the issuer {issuer} does not control",
        )
    return Check("issuer.ok", True, f"signed by a key of the issuer {issuer}")


def validity_check(credential: Mapping[str, Any], now: datetime, skew: timedelta) -> Check:
    raw_start, raw_end = credential.get("validFrom"), credential.get("validUntil")
    try:
        start = parse_datetime(str(raw_start)) if raw_start is not None else None
        end = parse_datetime(str(raw_end)) if raw_end is not None else None
    except Invalid as exc:
        return Check("validity.invalid", False, exc.message)
    if start is not None and start > now + skew:
        return Check("validity.not_yet_valid", False, f"not valid before {raw_start}")
    if end is not None and end < now - skew:
        return Check("validity.expired", False, f"expired at {raw_end}")
    since = f" from {raw_start}" if start else ""
    until = f" until {raw_end}" if end else ""
    return Check(
        "validity.ok", True, f"valid{since}{until}" if since or until else "no validity window"
    )
