"""Awards: issue an achievement to a recipient, and revoke, suspend or reinstate it.

The signed credential is verified once and stored exactly as signed; its ``id`` is the
dereferenceable ``{base_url}/credentials/{uuid}``. An idempotency key makes a retried
request return the award it already made.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from credstack.crypto.loader import default_loader
from credstack.domain.achievements import Achievement
from credstack.domain.credentials import (
    Evidence,
    Recipient,
    RecipientDid,
    RecipientEmail,
    Result,
    build_credential,
    format_datetime,
    parse_datetime,
)
from credstack.domain.errors import Conflict, Invalid, NotFound
from credstack.domain.messages import Email, award_email
from credstack.domain.platform import (
    AchievementVersion,
    Award,
    AwardId,
    Organization,
    StatusListState,
)
from credstack.services import status_registry
from credstack.services.issuing import sign
from credstack.services.organizations import (
    Issuer,
    PlatformDidResolver,
    issuer_for,
    org_by_slug,
    org_did,
)
from credstack.services.platform import Platform
from credstack.services.status import StatusList
from credstack.services.verifying import VerifyOptions, data_integrity


@dataclass(frozen=True, slots=True)
class AwardRequest:
    recipient_email: str | None = None
    recipient_did: str | None = None
    learner_name: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    awarded_date: datetime | None = None
    activity_start: datetime | None = None
    activity_end: datetime | None = None
    credits_earned: float | None = None
    evidence: Sequence[Evidence] = field(default_factory=tuple)
    results: Sequence[Result] = field(default_factory=tuple)
    idempotency_key: str | None = None


def credential_url(base_url: str, award_id: str) -> str:
    return f"{base_url.rstrip('/')}/credentials/{award_id}"


def _recipient(request: AwardRequest, rng_salt: str) -> tuple[Recipient, str, str]:
    if (request.recipient_email is None) == (request.recipient_did is None):
        raise Invalid("give exactly one recipient: an email address or a DID")
    if request.recipient_email is not None:
        email = RecipientEmail(request.recipient_email, rng_salt)
        return email, email.email, "email"
    did = RecipientDid(str(request.recipient_did))
    return did, did.did, "did"


@dataclass(frozen=True, slots=True)
class Draft:
    """An award before signing: the record (``document`` still empty) and the unsigned
    credential that becomes its document."""

    award: Award
    unsigned: dict[str, Any]


def check_issuable(org: Organization, achievement: AchievementVersion) -> None:
    if achievement.org_id != org.id:
        raise NotFound("the achievement belongs to another organization")
    if not achievement.published:
        raise Conflict(f"achievement {achievement.key!r} v{achievement.version} is a draft")


def draft_award(
    base_url: str,
    issuer: Issuer,
    achievement: AchievementVersion,
    definition: Achievement,
    request: AwardRequest,
    *,
    now: datetime,
    status: tuple[str, str, int],
    award_id: AwardId | None = None,
    salt: str | None = None,
    claim_token: str | None = None,
) -> Draft:
    """The award and its unsigned credential for ``request`` at the status index given
    as (revocation list id, suspension list id, index). Pure but for the random salt,
    uuid and claim token (drawn here unless given); raises Invalid for a request that
    cannot be issued."""
    org = issuer.org
    recipient, recipient_id, kind = _recipient(request, salt or secrets.token_hex(8))
    valid_from = request.valid_from or now
    valid_until = request.valid_until
    if valid_until is None and achievement.validity_days:
        valid_until = valid_from + timedelta(days=achievement.validity_days)
    revocation_id, suspension_id, index = status
    award_id = award_id or AwardId(str(uuid.uuid4()))
    unsigned = build_credential(
        credential_id=credential_url(base_url, award_id),
        issuer=issuer.profile,
        achievement=definition,
        recipient=recipient,
        valid_from=valid_from,
        valid_until=valid_until,
        awarded_date=request.awarded_date or now,
        evidence=request.evidence,
        results=request.results,
        credits_earned=request.credits_earned,
        activity_start=request.activity_start,
        activity_end=request.activity_end,
        credential_status=status_registry.entries(
            base_url, org, revocation_id, suspension_id, index
        ),
    )
    award = Award(
        id=award_id,
        org_id=org.id,
        achievement_id=achievement.id,
        recipient=recipient_id,
        recipient_kind=kind,
        document="",
        issued_at=now,
        status_index=index,
        revocation_list_id=revocation_id,
        suspension_list_id=suspension_id,
        valid_until=valid_until,
        idempotency_key=request.idempotency_key,
        claim_token=(claim_token or secrets.token_urlsafe(24)) if kind == "email" else None,
        learner_name=request.learner_name,
    )
    return Draft(award, unsigned)


def stored_text(signed: Mapping[str, Any]) -> str:
    """The exact text a signed credential is stored as."""
    return json.dumps(signed, ensure_ascii=False, separators=(",", ":"))


def issue_award(
    platform: Platform,
    issuer: Issuer,
    achievement: AchievementVersion,
    request: AwardRequest,
) -> Award:
    """Build, sign, verify and store one credential (or return the one already made)."""
    org = issuer.org
    if request.idempotency_key:
        existing = platform.awards.by_idempotency_key(org.id, request.idempotency_key)
        if existing is not None:
            if existing.achievement_id != achievement.id:
                raise Conflict("this idempotency key was used for another achievement")
            return existing
    check_issuable(org, achievement)
    now = platform.now().replace(microsecond=0)
    salt = secrets.token_hex(8)
    _recipient(request, salt)  # refuse a bad recipient before taking a status index
    revocation, suspension, index = status_registry.allocate(
        platform.status_lists,
        platform.awards,
        org,
        now=now,
        rng=platform.rng,
        secret=platform.secret,
    )
    definition = Achievement.from_json(achievement.definition)
    draft = draft_award(
        platform.base_url,
        issuer,
        achievement,
        definition,
        request,
        now=now,
        status=(revocation.id, suspension.id, index),
        salt=salt,
    )
    signed = sign(draft.unsigned, issuer.key, created=now)
    assert isinstance(signed, dict)
    _verify_before_storing(platform, signed)
    award = replace(draft.award, document=stored_text(signed))
    platform.awards.add(award)
    if platform.outbox is not None and award.recipient_kind == "email":
        notify_award(platform, award, definition.name, issuer.org.name)
    changed(platform, award, "awarded")
    return award


def changed(platform: Platform, award: Award, event: str) -> None:
    """Tell the platform's listener (the stacking engine) what happened to ``award``."""
    if platform.on_change is not None:
        platform.on_change(platform, award, event)


def claim_url(base_url: str, award: Award) -> str:
    return f"{base_url.rstrip('/')}/claim/{award.claim_token}"


def award_notice(
    base_url: str, award: Award, achievement_name: str, issuer_name: str
) -> Email | None:
    """The award email, or None for an address that the credential accepts but a mail
    server would not (for example a non-ASCII local part): the award itself stands."""
    try:
        return award_email(
            learner_email=award.recipient,
            learner_name=award.learner_name,
            achievement_name=achievement_name,
            issuer_name=issuer_name,
            claim_url=claim_url(base_url, award),
            credential_url=credential_url(base_url, award.id),
        )
    except Invalid:
        return None


def notify_award(platform: Platform, award: Award, achievement_name: str, issuer_name: str) -> None:
    """Queue the award email (once per credential, whatever retries happen)."""
    assert platform.outbox is not None
    email = award_notice(platform.base_url, award, achievement_name, issuer_name)
    if email is not None:
        platform.outbox.enqueue(email, platform.now())


def _verify_before_storing(platform: Platform, signed: Mapping[str, Any]) -> None:
    options = VerifyOptions(now=platform.now(), loader=default_loader(), resolve=resolver(platform))
    check, _ = data_integrity(signed, options)
    if not check.ok:
        raise Invalid(f"the signed credential did not verify: {check.message}")


def verify_stored(platform: Platform, document: str) -> None:
    """Verify a stored credential's proof through the general path (its text parsed back,
    the issuer's key resolved from its DID document); raises Invalid when it fails."""
    _verify_before_storing(platform, json.loads(document))


def resolver(platform: Platform) -> PlatformDidResolver:
    return PlatformDidResolver(
        platform.orgs, platform.keys, platform.base_url, platform.remote_dids
    )


def get_award(platform: Platform, award_id: str) -> Award:
    award = platform.awards.get(AwardId(award_id))
    if award is None:
        raise NotFound(f"no credential {award_id!r}")
    return award


def find(platform: Platform, reference: str) -> Award:
    """An award by its uuid or by its credential URL."""
    return get_award(platform, reference.rstrip("/").rsplit("/", 1)[-1])


def _org_of(platform: Platform, award: Award) -> Organization:
    org = platform.orgs.get(award.org_id)
    if org is None:
        raise NotFound("the credential's organization is gone")
    return org


def revoke(platform: Platform, award: Award, reason: str | None = None) -> Award:
    """Revoke for good (the reason stays private to the issuer); revoking again changes nothing."""
    if award.revoked_at is not None:
        return award
    now = platform.now()
    status_registry.set_bit(
        platform.status_lists, award.revocation_list_id, award.status_index, 1, now
    )
    platform.awards.set_revoked(award.id, now, reason)
    revoked = get_award(platform, award.id)
    changed(platform, revoked, "revoked")
    return revoked


def suspend(platform: Platform, award: Award, suspended: bool = True) -> Award:
    if award.revoked_at is not None and suspended is False:
        raise Conflict("a revoked credential cannot be reinstated")
    value = 1 if suspended else 0
    status_registry.set_bit(
        platform.status_lists, award.suspension_list_id, award.status_index, value, platform.now()
    )
    platform.awards.set_suspended(award.id, suspended)
    updated = get_award(platform, award.id)
    changed(platform, updated, "suspended" if suspended else "reinstated")
    return updated


def issuer_of(platform: Platform, org: Organization) -> Issuer:
    return issuer_for(
        platform.orgs, platform.keys, org, secret=platform.secret, base_url=platform.base_url
    )


def issuer_by_slug(platform: Platform, slug: str) -> Issuer:
    return issuer_of(platform, org_by_slug(platform.orgs, slug))


class PlatformStatusLists:
    """Status lists of this platform straight from storage; others through ``fallback``."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._prefix = f"{platform.base_url.rstrip('/')}/orgs/"

    def __call__(self, url: str, now: datetime) -> StatusList | None:
        if url.startswith(self._prefix) and "/status/" in url:
            slug, _, list_id = url.removeprefix(self._prefix).partition("/status/")
            state = self._platform.status_lists.get(list_id)
            org = self._platform.orgs.by_slug(slug)
            if state is None or org is None or state.org_id != org.id:
                return None
            return status_registry.as_status_list(
                state, url, org_did(self._platform.base_url, org.slug)
            )
        fallback = self._platform.remote_status
        return fallback(url, now) if fallback else None


def list_state(platform: Platform, slug: str, list_id: str) -> tuple[Organization, StatusListState]:
    org = org_by_slug(platform.orgs, slug)
    state = platform.status_lists.get(list_id)
    if state is None or state.org_id != org.id:
        raise NotFound(f"no status list {list_id!r} for {slug!r}")
    return org, state


def signed_list(platform: Platform, org: Organization, state: StatusListState) -> dict[str, Any]:
    """The list as a signed BitstringStatusListCredential (signed now, by the active key)."""
    issuer = issuer_of(platform, org)
    return status_registry.list_credential(
        state, org, issuer.key, base_url=platform.base_url, now=platform.now()
    )


def issue_document(
    platform: Platform,
    issuer: Issuer,
    credential: Mapping[str, Any],
    *,
    suite: str,
    recipient: tuple[str, str] | None = None,
) -> Award:
    """W3C VC-API issue: sign a caller-built credential as the organization.

    The platform sets ``issuer`` (the organization's profile), an ``id`` when absent, a
    ``validFrom`` when absent and the status entries, then signs, verifies and stores it.
    ``recipient`` (the learner and its kind, ``email`` or ``did``) is stored when given,
    else the subject's id is.
    """
    if not isinstance(credential, Mapping):
        raise Invalid("credential must be a JSON object")
    org = issuer.org
    now = platform.now().replace(microsecond=0)
    revocation, suspension, index = status_registry.allocate(
        platform.status_lists,
        platform.awards,
        org,
        now=now,
        rng=platform.rng,
        secret=platform.secret,
    )
    award_id = AwardId(str(uuid.uuid4()))
    unsigned = dict(credential)
    unsigned["issuer"] = issuer.profile.to_json()
    unsigned.setdefault("id", credential_url(platform.base_url, award_id))
    if unsigned["id"] != credential_url(platform.base_url, award_id):
        raise Invalid("leave out the credential id: the platform assigns a dereferenceable one")
    unsigned.setdefault("validFrom", format_datetime(now))
    unsigned["credentialStatus"] = status_registry.entries(
        platform.base_url, org, revocation.id, suspension.id, index
    )
    secured = sign(unsigned, issuer.key, suite=suite, created=now)
    if not isinstance(secured, dict):
        raise Invalid("the VC-API returns Data Integrity credentials; use a Data Integrity suite")
    _verify_before_storing(platform, secured)
    if recipient is None:
        subject = secured.get("credentialSubject")
        subject_id = str((subject.get("id") if isinstance(subject, Mapping) else None) or "")
        recipient = (subject_id, "did" if subject_id.startswith("did:") else "other")
    award = Award(
        id=award_id,
        org_id=org.id,
        achievement_id=None,
        recipient=recipient[0],
        recipient_kind=recipient[1],
        document=stored_text(secured),
        issued_at=now,
        status_index=index,
        revocation_list_id=revocation.id,
        suspension_list_id=suspension.id,
        valid_until=parse_optional(secured.get("validUntil")),
    )
    platform.awards.add(award)
    return award


def parse_optional(value: object) -> datetime | None:
    """A credential's optional date (``validUntil``...) as a datetime, else None."""
    return parse_datetime(value) if isinstance(value, str) else None
