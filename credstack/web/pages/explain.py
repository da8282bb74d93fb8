"""Verification results in plain language: the one place that maps each stable check code
(``credstack.services.verifying``) to a sentence a person without a standards background
understands, grouped under the question it answers (issuer, signature, status, expiry,
format). Unknown codes fall back to the check's own message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from credstack.services.checks import Check

TOPICS: Final[dict[str, str]] = {
    "input": "Input",
    "structure": "Format and schema",
    "proof": "Signature",
    "issuer": "Issuer",
    "validity": "Dates and expiry",
    "status": "Revocation and suspension",
    "credentials": "Contents",
    "components": "Credentials inside",
    "stack": "Pathway requirements",
    "internal": "Verification",
}

SENTENCES: Final[dict[str, str]] = {
    "input.unusable": "This is not a credential we can read: paste its JSON or JWT, or "
    "upload a badge image that carries one.",
    "structure.ok": "It is a well-formed credential that follows the Open Badges 3.0 / "
    "Verifiable Credentials format.",
    "structure.invalid": "It does not follow the credential format: required parts are "
    "missing or malformed.",
    "proof.ok": "The digital signature is valid: nothing has changed since it was issued.",
    "proof.invalid": "The digital signature does not match: the credential was altered or "
    "was not signed by the key it names.",
    "proof.missing": "The credential carries no digital signature, so nothing proves who "
    "issued it.",
    "proof.none": "The credential carries no digital signature, so nothing proves who issued it.",
    "proof.undefined_term": "The credential contains fields its vocabulary does not define, "
    "so its signature cannot be checked safely.",
    "proof.challenge": "The presentation was made for another request (challenge mismatch).",
    "proof.domain": "The presentation was made for another site (domain mismatch).",
    "issuer.ok": "The issuer named in the credential holds the key that signed it.",
    "issuer.missing": "The credential does not say who issued it.",
    "issuer.unbound": "No valid signature ties the credential to its issuer.",
    "issuer.mismatch": "It was signed with a key that does not belong to the issuer it names.",
    "validity.ok": "It is within its validity period.",
    "validity.invalid": "Its validity dates cannot be read.",
    "validity.not_yet_valid": "It is not valid yet: its validity period starts later.",
    "validity.expired": "It has expired.",
    "status.none": "The issuer publishes no revocation status for this credential.",
    "status.ok": "The issuer has not revoked or suspended it.",
    "status.revoked": "The issuer has revoked this credential: it is no longer valid.",
    "status.suspended": "The issuer has suspended this credential for now.",
    "status.unresolved": "Its revocation status could not be checked right now.",
    "status.invalid": "Its revocation status entry is malformed.",
    "status.unsupported": "Its revocation status uses a method we cannot check.",
    "credentials.none": "The presentation contains no credentials.",
    "components.ok": "Every credential inside it is valid on its own.",
    "components.invalid": "Some credentials inside it did not verify; each is listed below.",
    "components.missing": "It is a record of credentials, but it contains none.",
    "components.too_deep": "It nests records inside records too deeply to check.",
    "stack.ok": "Together, the credentials inside meet the requirements of the published "
    "pathway it was awarded for.",
    "stack.unmet": "The credentials inside no longer meet the requirements of the pathway it "
    "was awarded for.",
    "stack.unchecked": "It names no pathway published here, so each credential inside was "
    "checked on its own.",
    "internal.error": "Verification stopped because of an unexpected problem.",
}

VERDICTS: Final[dict[str, tuple[str, str]]] = {
    "valid": ("Verified", "This credential is genuine, unaltered and in good standing."),
    "revoked": ("Revoked", "The issuer has revoked this credential. It is no longer valid."),
    "suspended": ("Suspended", "The issuer has suspended this credential for now."),
    "expired": ("Expired", "This credential was genuine but has expired."),
    "not_yet_valid": ("Not valid yet", "This credential's validity period has not started."),
    "forged": ("Not genuine", "The signature does not match: do not trust this credential."),
    "unreadable": ("Not a credential", "We could not read a credential from this input."),
    "components": ("Not verified", "Some credentials inside did not verify; see each below."),
    "unverified": ("Not verified", "Some checks failed; see below."),
}


@dataclass(frozen=True, slots=True)
class CheckView:
    code: str
    ok: bool
    topic: str
    sentence: str
    detail: str


@dataclass(frozen=True, slots=True)
class ResultView:
    """A verification result as a page shows it."""

    verdict: str
    title: str
    summary: str
    checks: tuple[CheckView, ...]
    name: str = ""
    issuer: str = ""
    issued: str = ""
    valid_until: str = ""
    kind: str = ""
    credential_id: str = ""
    document: str = ""
    components: tuple[ResultView, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.verdict == "valid"


BY_PURPOSE: Final[dict[str, str]] = {
    "revocation": "The issuer has not revoked it.",
    "suspension": "The issuer has not suspended it.",
}
_PURPOSE = re.compile(r"\bon the (\w+) list\b|^(\w+) status is\b")


def sentence(check: Check) -> CheckView:
    topic = TOPICS.get(check.code.partition(".")[0], "Other")
    text = SENTENCES.get(check.code)
    if check.code == "status.ok":  # one check per status list: say which one it was
        found = _PURPOSE.search(check.message)
        purpose = (found.group(1) or found.group(2)) if found else ""
        text = BY_PURPOSE.get(purpose, text)
    if text is None:
        text = ("Passed: " if check.ok else "Failed: ") + check.message
    return CheckView(check.code, check.ok, topic, text, check.message)


def verdict_of(codes: Sequence[str], verified: bool, readable: bool) -> str:
    if verified:
        return "valid"
    if not readable or "input.unusable" in codes:
        return "unreadable"
    for code, verdict in (
        ("status.revoked", "revoked"),
        ("proof.invalid", "forged"),
        ("issuer.mismatch", "forged"),
        ("status.suspended", "suspended"),
        ("validity.expired", "expired"),
        ("validity.not_yet_valid", "not_yet_valid"),
        ("components.invalid", "components"),
    ):
        if code in codes:
            return verdict
    return "unverified"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("en", "en-US", "en-GB"):
            if isinstance(value.get(key), str):
                return str(value[key])
        first = next((v for v in value.values() if isinstance(v, str)), "")
        return str(first)
    return ""


def _describe(credential: Mapping[str, Any]) -> dict[str, str]:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer_name = _text(issuer.get("name")) or str(issuer.get("id", ""))
    else:
        issuer_name = str(issuer or "")
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    name = _text(achievement.get("name")) if isinstance(achievement, Mapping) else ""
    types = credential.get("type")
    listed = types if isinstance(types, list) else [types]
    kind = (
        "Comprehensive Learner Record"
        if "ClrCredential" in listed
        else "Open Badge"
        if {"OpenBadgeCredential", "AchievementCredential"} & {str(t) for t in listed}
        else "Verifiable credential"
    )
    return {
        "name": name or _text(credential.get("name")) or "Unnamed credential",
        "issuer": issuer_name,
        "issued": str(credential.get("validFrom") or credential.get("issuanceDate") or ""),
        "valid_until": str(credential.get("validUntil") or ""),
        "kind": kind,
        "credential_id": str(credential.get("id") or ""),
    }


def explain(result: Any) -> ResultView:
    """The view of a ``VerificationResult`` (and of its ``components``, when it has any:
    the credentials inside a stacked credential or a CLR, each verified on its own)."""
    checks = tuple(sentence(c) for c in result.checks)
    codes = [c.code for c in result.checks]
    credential = result.credential
    readable = isinstance(credential, Mapping)
    verdict = verdict_of(codes, bool(result.verified), readable)
    title, summary = VERDICTS[verdict]
    described = _describe(credential) if isinstance(credential, Mapping) else {}
    document = json.dumps(credential, indent=2, ensure_ascii=False) if readable else ""
    components = tuple(explain(c) for c in getattr(result, "components", None) or ())
    return ResultView(
        verdict=verdict,
        title=title,
        summary=summary,
        checks=checks,
        document=document,
        components=components,
        **described,
    )
