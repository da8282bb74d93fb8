"""What a certificate, a badge image, a LinkedIn link and employer search say about one
credential: plain facts read from the signed document, never from columns beside it.

Pure functions of the credential's JSON (no I/O). Rendering (PDF, PNG, SVG, QR codes)
is an adapter's work: ``credstack.web.pages.downloads``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from credstack.crypto.jwt import credential_of, decode_unverified
from credstack.domain.credentials import parse_datetime
from credstack.domain.errors import Invalid

LINKEDIN_ADD: Final = "https://www.linkedin.com/profile/add"
_KINDS: Final = {
    "ClrCredential": "Comprehensive Learner Record",
    "AchievementCredential": "Open Badge",
    "OpenBadgeCredential": "Open Badge",
}


def text_of(value: Any) -> str:
    """A plain string of a string or a language map (English first)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("en", "en-US", "en-GB"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return next((str(v) for v in value.values() if isinstance(v, str)), "")
    return ""


@dataclass(frozen=True, slots=True)
class Alignment:
    name: str
    url: str
    framework: str = ""


@dataclass(frozen=True, slots=True)
class CredentialFacts:
    """The facts of one credential as people read them."""

    name: str
    description: str
    issuer_name: str
    issuer_id: str
    kind: str
    credential_id: str
    achievement_type: str = ""
    achievement_name: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    credits: float | None = None
    alignments: tuple[Alignment, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def is_stack(self) -> bool:
        return self.kind == "Comprehensive Learner Record"


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = credential.get("credentialSubject")
    first = subject[0] if isinstance(subject, list) and subject else subject
    return first if isinstance(first, Mapping) else {}


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except Invalid:
        return None


def _alignments(achievement: Mapping[str, Any]) -> tuple[Alignment, ...]:
    listed = achievement.get("alignment")
    found = []
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, Mapping):
            continue
        name, url = text_of(item.get("targetName")), str(item.get("targetUrl") or "")
        if name or url:
            found.append(Alignment(name, url, text_of(item.get("targetFramework"))))
    return tuple(found)


def facts_of(credential: Mapping[str, Any]) -> CredentialFacts:
    """The facts of an OB 3.0 AchievementCredential or a CLR 2.0 ClrCredential."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer_id = str(issuer.get("id") or "")
        issuer_name = text_of(issuer.get("name")) or issuer_id
    else:
        issuer_id = issuer_name = str(issuer or "")
    subject = _subject(credential)
    raw = subject.get("achievement")
    achievement: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    types = credential.get("type")
    listed = [str(t) for t in (types if isinstance(types, list) else [types])]
    kind = next((_KINDS[t] for t in listed if t in _KINDS), "Verifiable credential")
    credits = subject.get("creditsEarned")
    tags = achievement.get("tag")
    achievement_name = text_of(achievement.get("name"))
    return CredentialFacts(
        name=achievement_name or text_of(credential.get("name")) or "Unnamed credential",
        description=text_of(achievement.get("description"))
        or text_of(credential.get("description")),
        issuer_name=issuer_name,
        issuer_id=issuer_id,
        kind=kind,
        credential_id=str(credential.get("id") or ""),
        achievement_type=str(achievement.get("achievementType") or ""),
        achievement_name=achievement_name,
        valid_from=_when(credential.get("validFrom") or credential.get("issuanceDate")),
        valid_until=_when(credential.get("validUntil")),
        credits=float(credits)
        if isinstance(credits, int | float) and not isinstance(credits, bool)
        else None,
        alignments=_alignments(achievement),
        tags=tuple(str(t) for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
    )


def facts_of_text(document: str) -> CredentialFacts:
    """:func:`facts_of` for stored text (JSON; a compact JWT's payload ``vc`` or itself)."""
    text = document.strip()
    jwt = not text.startswith("{")
    loaded: object = credential_of(decode_unverified(text)[1]) if jwt else json.loads(text)
    if not isinstance(loaded, Mapping):
        raise Invalid("the stored credential is not a JSON object")
    return facts_of(loaded)


def search_text(facts: CredentialFacts) -> str:
    """What employer search matches: names, issuer, alignments (name, URL), tags."""
    parts: list[str] = [facts.name, facts.achievement_name, facts.issuer_name]
    for item in facts.alignments:
        parts += [item.name, item.url, item.framework]
    parts += list(facts.tags)
    return "\n".join(p.strip().lower() for p in parts if p and p.strip())


def matches(text: str, terms: Sequence[str]) -> bool:
    """Every term (lower case) occurs in ``text``."""
    return all(term in text for term in terms)


def terms_of(query: str) -> list[str]:
    """The search terms of a query: lower-cased words, at most eight, two letters or more."""
    words = [w.strip().lower() for w in query.split()]
    return [w for w in words if len(w) >= 2][:8]


def matched_alignments(facts: CredentialFacts, terms: Sequence[str]) -> list[Alignment]:
    """The alignments (competencies) a search matched, to show why a credential matched."""
    return [
        a
        for a in facts.alignments
        if any(t in f"{a.name}\n{a.url}\n{a.framework}".lower() for t in terms)
    ]


def linkedin_url(
    facts: CredentialFacts,
    *,
    cert_url: str,
    cert_id: str,
    organization_id: str | None,
) -> str:
    """LinkedIn's "Add to profile" link for a certification.

    Carries the organization id when the issuer set one (LinkedIn then links the
    organization's page), else the organization's name; issue and expiry year and month
    from ``validFrom`` and ``validUntil``.
    """
    params: list[tuple[str, str]] = [("startTask", "CERTIFICATION_NAME"), ("name", facts.name)]
    if organization_id:
        params.append(("organizationId", organization_id))
    else:
        params.append(("organizationName", facts.issuer_name))
    if facts.valid_from is not None:
        params += [
            ("issueYear", str(facts.valid_from.year)),
            ("issueMonth", str(facts.valid_from.month)),
        ]
    if facts.valid_until is not None:
        params += [
            ("expirationYear", str(facts.valid_until.year)),
            ("expirationMonth", str(facts.valid_until.month)),
        ]
    params += [("certUrl", cert_url), ("certId", cert_id)]
    return f"{LINKEDIN_ADD}?{urlencode(params)}"


def check_linkedin_organization_id(value: str | None) -> str | None:
    """LinkedIn organization ids are numbers (the digits in linkedin.com/company/{id})."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 20 or not text.isascii():
        raise Invalid(
            "a LinkedIn organization id is the number of the organization's page "
            "(linkedin.com/company/<number>)",
            code="linkedin.invalid",
        )
    return text
