"""The stacking engine: learners' progress, stacked credentials issued by themselves, cascades.

After every award, revocation, suspension or reinstatement (``Platform.on_change``) the
engine re-evaluates only the pathways that contain the achievement involved, or that a
stack already rests on, for that one learner:

* a milestone met for the first time issues the stack's OB 3.0 AchievementCredential
  (creditsEarned the sum, validUntil the earliest validUntil among the credentials it
  needs) and a CLR 2.0 ClrCredential nesting those credentials exactly as issued; both are
  recorded in one ``StackAward`` row, unique per learner and milestone, so they are issued
  once only;
* a met milestone whose requirements no longer hold is suspended or revoked, as the
  pathway's cascade policy says, with the reason recorded; a suspended one is reinstated
  when the learner meets the requirements again (a revoked one is issued anew);
* learners follow the version they enrolled under (``enroll`` moves them).

Expiry has no event: ``sweep`` re-evaluates every learner (``credstack pathway sweep``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from credstack.domain.achievements import Achievement
from credstack.domain.clr import build_clr, stack_associations
from credstack.domain.credentials import Evidence, RecipientDid, RecipientEmail
from credstack.domain.errors import Invalid, NotFound
from credstack.domain.pathway_facts import EarnedCredential
from credstack.domain.pathway_index import affected_by_credential
from credstack.domain.pathways import AchievementComponent, Pathway
from credstack.domain.platform import AchievementId, Award, AwardId, Organization, OrgId
from credstack.domain.progress import progress
from credstack.domain.progress_model import MilestoneProgress, Progress
from credstack.domain.stack_records import Enrollment, StackAward, StackState
from credstack.services import awards
from credstack.services.organizations import org_did
from credstack.services.pathway_catalog import (
    catalogue,
    get_version,
    key_of,
    known_pathways,
    parsed,
    stable_id,
    stable_of,
    store,
)
from credstack.services.platform import Platform
from credstack.services.recognition import learner_id

#: How deep one award may cascade through stacks of stacks.
MAX_CASCADE: Final = 6
_ACTIVE_EVENTS: Final = frozenset({"awarded", "reinstated"})


# -- learner facts ----------------------------------------------------------------------


def _usable(award: Award, now: datetime) -> bool:
    if award.revoked_at is not None or award.suspended or award.achievement_id is None:
        return False
    return award.valid_until is None or award.valid_until > now


def earned_of(platform: Platform, award: Award) -> EarnedCredential:
    """An award as a learner fact, its achievement named by the stable key URL."""
    fact = EarnedCredential.from_ob(json.loads(award.document))
    record = platform.achievements.get(AchievementId(str(award.achievement_id)))
    if record is None:
        return fact
    return replace(fact, achievement_id=stable_id(platform, record))


def facts_of(platform: Platform, learner: str) -> list[EarnedCredential]:
    """The learner's valid credentials: this platform's awards and verified imports."""
    now = platform.now()
    facts = [
        earned_of(platform, a) for a in store(platform).learner_awards(learner) if _usable(a, now)
    ]
    for item in store(platform).imports(learner):
        if item.verified and (item.valid_until is None or item.valid_until > now):
            try:
                facts.append(EarnedCredential.from_ob(json.loads(item.document), external=True))
            except Invalid:
                continue
    return facts


def trusted_facts(
    platform: Platform, org_id: str, facts: Sequence[EarnedCredential]
) -> list[EarnedCredential]:
    """The facts as a pathway of ``org_id`` sees them.

    A credential of any other issuer (another organization here, or an import) is
    external: it counts only through an equivalency rule, and only when the organization
    trusts its issuer. A credential held twice (awarded here and imported) counts once.
    """
    org = platform.orgs.get(OrgId(org_id))
    own = org_did(platform.base_url, org.slug) if org is not None else ""
    trusted: set[str] | None = None
    seen: set[str] = set()
    out: list[EarnedCredential] = []
    for fact in facts:
        if fact.id in seen:
            continue
        seen.add(fact.id)
        external = fact.issuer != own
        if external:
            if trusted is None:
                trusted = {t.issuer for t in store(platform).trusted(org_id)}
            if fact.issuer not in trusted:
                continue
        out.append(fact if fact.external == external else replace(fact, external=external))
    return out


# -- progress ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LearnerPathway:
    pathway: Pathway
    enrolled_version: int | None
    progress: Progress


def pathway_for(platform: Platform, learner: str, iri: str) -> Pathway:
    """The version ``learner`` follows: the one enrolled under, else the latest published."""
    enrolled = store(platform).enrollment(learner, iri)
    record = get_version(platform, None, iri, enrolled.version if enrolled else None)
    return parsed(record)


def learner_progress(
    platform: Platform, learner: str, iris: Iterable[str] | None = None
) -> list[LearnerPathway]:
    who = learner_id(learner)
    facts = facts_of(platform, who)
    nested = known_pathways(platform)
    out = []
    for iri in iris if iris is not None else sorted(nested):
        pathway = pathway_for(platform, who, iri)
        enrolled = store(platform).enrollment(who, iri)
        usable = trusted_facts(platform, pathway.org_id, facts)
        out.append(
            LearnerPathway(
                pathway,
                enrolled.version if enrolled else None,
                progress(pathway, usable, platform.now(), nested),
            )
        )
    return out


def enroll(platform: Platform, learner: str, iri: str, version: int | None = None) -> Enrollment:
    """Follow ``version`` (default: the latest published) of a pathway from now on."""
    record = get_version(platform, None, iri, version)
    if not record.published:
        raise Invalid(f"version {record.version} of {iri} is not published")
    enrollment = Enrollment(learner_id(learner), iri, record.version, platform.now())
    store(platform).enroll(enrollment)
    evaluate(platform, enrollment.learner, iri)
    return enrollment


# -- reacting to changes ----------------------------------------------------------------


_DEPTH: ContextVar[int] = ContextVar("stacking_depth", default=0)


def react(platform: Platform, award: Award, event: str) -> None:
    """``Platform.on_change``: re-evaluate what this change can affect, for its learner.

    A stack issued, suspended or revoked here is itself a change, so this recurses
    through stacks of stacks, at most :data:`MAX_CASCADE` levels deep.
    """
    depth = _DEPTH.get()
    if platform.stacking is None or depth >= MAX_CASCADE or not award.recipient:
        return
    token = _DEPTH.set(depth + 1)
    try:
        _react(platform, award, event)
    finally:
        _DEPTH.reset(token)


def _keys_of(platform: Platform, achievement_id: str) -> tuple[str, ...]:
    """The stable URL and alignment targets of an achievement version (immutable: cached)."""
    cache_key = (platform.base_url, achievement_id)
    found = _KEYS.get(cache_key)
    if found is None:
        record = platform.achievements.get(AchievementId(achievement_id))
        if record is None:
            return ()
        aligned = record.definition.get("alignment") or []
        urls = [a.get("targetUrl") for a in aligned if isinstance(a, Mapping)]
        found = (stable_id(platform, record), *(u for u in urls if isinstance(u, str)))
        if len(_KEYS) > 65536:
            _KEYS.clear()
        _KEYS[cache_key] = found
    return found


_KEYS: dict[tuple[str, str], tuple[str, ...]] = {}


def _react(platform: Platform, award: Award, event: str) -> None:
    known = catalogue(platform)
    keys = _keys_of(platform, award.achievement_id) if award.achievement_id else ()
    moves = any(k in known.keys for k in keys)
    if event == "awarded" and not moves:
        return  # a new credential no pathway names: nothing can change (the bulk fast path)
    affected: set[str] = set()
    if moves:
        affected |= affected_by_credential(known.index, earned_of(platform, award))
        # Learners on an older version: its achievements may differ from the latest's.
        affected |= {e.pathway_iri for e in store(platform).learner_enrollments(award.recipient)}
    credential_id = awards.credential_url(platform.base_url, award.id)
    using = store(platform).stacks_using(award.recipient, credential_id)
    affected |= {s.pathway_iri for s in using}
    for iri in sorted(affected):
        evaluate(platform, award.recipient, iri)


_BUSY: ContextVar[frozenset[tuple[str, str]]] = ContextVar("stacking_busy", default=frozenset())


def evaluate(platform: Platform, learner: str, iri: str) -> list[StackAward]:
    """Bring the learner's stacks on one pathway in line with their credentials now.

    Issuing or suspending a stack is itself a change that reaches :func:`react`; the
    pathway being evaluated is skipped there (it is brought in line here).
    """
    busy = _BUSY.get()
    if (learner, iri) in busy:
        return []
    token = _BUSY.set(busy | {(learner, iri)})
    try:
        return _evaluate(platform, learner, iri)
    finally:
        _BUSY.reset(token)


def _evaluate(platform: Platform, learner: str, iri: str) -> list[StackAward]:
    enrolled = store(platform).enrollment(learner, iri)
    try:
        record = get_version(platform, None, iri, enrolled.version if enrolled else None)
    except NotFound:
        return []
    if not record.published:
        return []
    pathway = parsed(record)
    facts = trusted_facts(platform, pathway.org_id, facts_of(platform, learner))
    result = progress(pathway, facts, platform.now(), known_pathways(platform))
    if enrolled is None and result.earned():
        store(platform).enroll(Enrollment(learner, iri, record.version, platform.now()))
    existing = {s.milestone: s for s in store(platform).stack_awards(learner=learner, iri=iri)}
    changed: list[StackAward] = []
    for milestone in pathway.milestones:
        outcome = result.milestone(milestone.id)
        stack = existing.get(milestone.id)
        if outcome.met:
            credits = _credits(result, outcome)
            updated = _on_met(platform, pathway, milestone.id, learner, outcome, stack, credits)
        elif stack is not None and stack.state is StackState.ACTIVE:
            updated = _on_unmet(platform, pathway, stack, "; ".join(outcome.missing))
        else:
            updated = None
        if updated is not None:
            changed.append(updated)
    return changed


def _credits(result: Progress, outcome: MilestoneProgress) -> float:
    """creditsEarned of a stack: the credits of the components its credentials earned."""
    used = set(outcome.credential_ids)
    counted = sum(c.credits for c in result.components if used & set(c.credential_ids))
    return max(counted, outcome.credits_counted)


def _on_met(
    platform: Platform,
    pathway: Pathway,
    milestone_id: str,
    learner: str,
    outcome: MilestoneProgress,
    stack: StackAward | None,
    credits: float,
) -> StackAward | None:
    now = platform.now()
    if stack is not None and stack.state is StackState.ACTIVE:
        award = platform.awards.get(AwardId(stack.award_id))
        if award is not None and (award.valid_until is None or award.valid_until > now):
            return None
    if stack is not None and stack.state is StackState.SUSPENDED:
        award = platform.awards.get(AwardId(stack.award_id))
        if award is not None and (award.valid_until is None or award.valid_until > now):
            for award_id in (stack.award_id, stack.clr_award_id):
                if award_id:
                    _set_suspended(platform, award_id, False)
            updated = replace(stack, state=StackState.ACTIVE, reason=None, updated_at=now)
            store(platform).update_stack_award(updated)
            return updated
    made = _issue_stack(platform, pathway, milestone_id, learner, outcome, credits)
    if stack is None:
        store(platform).add_stack_award(made)
        return made
    renewed = replace(made, id=stack.id, created_at=stack.created_at)
    store(platform).update_stack_award(renewed)
    return renewed


def _on_unmet(platform: Platform, pathway: Pathway, stack: StackAward, missing: str) -> StackAward:
    revoke = pathway.cascade_policy.value == "revoke"
    reason = f"requirements of {pathway.name} no longer met: {missing}"
    for award_id in (stack.award_id, stack.clr_award_id):
        if not award_id:
            continue
        award = platform.awards.get(AwardId(award_id))
        if award is None:
            continue
        if revoke:
            awards.revoke(platform, award, reason)
        else:
            _set_suspended(platform, award_id, True)
    state = StackState.REVOKED if revoke else StackState.SUSPENDED
    updated = replace(stack, state=state, reason=reason, updated_at=platform.now())
    store(platform).update_stack_award(updated)
    return updated


def _set_suspended(platform: Platform, award_id: str, value: bool) -> None:
    award = platform.awards.get(AwardId(award_id))
    if award is None or award.revoked_at is not None or award.suspended == value:
        return
    awards.suspend(platform, award, value)


# -- issuing a stack --------------------------------------------------------------------


def _component_documents(
    platform: Platform, learner: str, ids: Sequence[str]
) -> list[dict[str, Any]]:
    wanted = set(ids)
    found: dict[str, dict[str, Any]] = {}
    for award in store(platform).learner_awards(learner):
        url = awards.credential_url(platform.base_url, award.id)
        if url in wanted:
            found[url] = json.loads(award.document)
    for item in store(platform).imports(learner):
        if item.credential_id in wanted:
            found[item.credential_id] = json.loads(item.document)
    return [found[i] for i in ids if i in found]


def _issue_stack(
    platform: Platform,
    pathway: Pathway,
    milestone_id: str,
    learner: str,
    outcome: MilestoneProgress,
    credits: float,
) -> StackAward:
    milestone = pathway.milestone(milestone_id)
    assert milestone is not None
    org = platform.orgs.get(OrgId(pathway.org_id))
    if org is None:
        raise NotFound(f"the organization of {pathway.id} is gone")
    record = key_of(platform, org, milestone.achievement_id)
    if record is None:
        raise NotFound(f"milestone {milestone.id!r} names no achievement of {org.slug!r}")
    issuer = awards.issuer_of(platform, org)
    used = list(outcome.credential_ids)
    documents = _component_documents(platform, learner, used)
    kind_email = "@" in learner and not learner.startswith("did:")
    evidence = [
        Evidence(
            id=pathway_reference(pathway.id, pathway.version),
            name=f"{pathway.name}, version {pathway.version}",
            description="The published pathway version whose requirements were met.",
        )
    ]
    evidence += [
        Evidence(id=str(d["id"]), name=str(d.get("name") or "component"))
        for d in documents
        if isinstance(d.get("id"), str)
    ]
    request = awards.AwardRequest(
        recipient_email=learner if kind_email else None,
        recipient_did=None if kind_email else learner,
        credits_earned=credits or None,
        valid_until=outcome.valid_until,
        evidence=tuple(evidence),
        idempotency_key=f"stack:{pathway.id}:{milestone.id}:{learner}:{uuid.uuid4().hex[:8]}",
    )
    stack_award = awards.issue_award(platform, issuer, record, request)
    stack_doc = json.loads(stack_award.document)
    clr = _issue_clr(platform, org, pathway, milestone_id, learner, stack_doc, documents)
    now = platform.now()
    return StackAward(
        id=str(uuid.uuid4()),
        org_id=org.id,
        learner=learner,
        pathway_iri=pathway.id,
        version=pathway.version,
        milestone=milestone.id,
        award_id=stack_award.id,
        clr_award_id=clr.id,
        state=StackState.ACTIVE,
        components=tuple(used),
        created_at=now,
        updated_at=now,
    )


def _issue_clr(
    platform: Platform,
    org: Organization,
    pathway: Pathway,
    milestone_id: str,
    learner: str,
    stack_doc: Mapping[str, Any],
    documents: Sequence[Mapping[str, Any]],
) -> Award:
    """Sign and store the CLR that nests the stack's credential and its components."""
    issuer = awards.issuer_of(platform, org)
    milestone = pathway.milestone(milestone_id)
    assert milestone is not None
    stack_ach = Achievement.from_json(stack_doc["credentialSubject"]["achievement"])
    component_achs: dict[str, Achievement] = {}
    for doc in documents:
        subject = doc.get("credentialSubject")
        raw = subject.get("achievement") if isinstance(subject, Mapping) else None
        try:
            ach = Achievement.from_json(raw)
        except Invalid:
            continue
        component_achs.setdefault(ach.id, ach)
    order = _order_pairs(pathway, documents, platform)
    salt = uuid.uuid4().hex[:16]
    recipient = (
        RecipientDid(learner) if learner.startswith("did:") else RecipientEmail(learner, salt)
    )
    now = platform.now().replace(microsecond=0)
    unsigned = build_clr(
        credential_id=None,
        issuer=issuer.profile,
        recipient=recipient,
        name=f"{milestone.name}: learner record",
        description=f"{pathway.name} (version {pathway.version}): the credentials it rests on.",
        valid_from=now,
        valid_until=awards.parse_optional(stack_doc.get("validUntil")),
        awarded_date=now,
        credentials=[stack_doc, *documents],
        achievements=[stack_ach, *component_achs.values()],
        associations=stack_associations(stack_ach.id, list(component_achs), order),
        evidence=[_pathway_evidence(pathway)],
    )
    kind = "did" if learner.startswith("did:") else "email"
    return awards.issue_document(
        platform, issuer, unsigned, suite="eddsa-rdfc-2022", recipient=(learner, kind)
    )


def pathway_reference(pathway_iri: str, version: int) -> str:
    return f"{pathway_iri}?version={version}"


def _pathway_evidence(pathway: Pathway) -> dict[str, Any]:
    return {
        "id": pathway_reference(pathway.id, pathway.version),
        "type": ["Evidence"],
        "name": f"{pathway.name}, version {pathway.version}",
        "description": "The published pathway version whose requirements this record meets.",
    }


def _order_pairs(
    pathway: Pathway, documents: Sequence[Mapping[str, Any]], platform: Platform
) -> list[tuple[str, str]]:
    """``precedes`` between the achievement ids embedded in the nested credentials."""
    by_stable: dict[str, str] = {}
    for doc in documents:
        subject = doc.get("credentialSubject")
        ach = subject.get("achievement") if isinstance(subject, Mapping) else None
        if isinstance(ach, Mapping) and isinstance(ach.get("id"), str):
            by_stable[stable_of(platform, str(ach["id"]))] = str(ach["id"])
    targets = {
        c.id: by_stable.get(c.achievement_id)
        for c in pathway.components
        if isinstance(c, AchievementComponent)
    }
    pairs = []
    for component in pathway.components:
        for after in component.precedes:
            first, then = targets.get(component.id), targets.get(after)
            if first and then:
                pairs.append((first, then))
    return pairs


def sweep(platform: Platform, learners: Iterable[str] | None = None) -> int:
    """Re-evaluate every (or the given) learner on every pathway; the number of changes."""
    changes = 0
    iris = sorted(known_pathways(platform))
    for learner in learners if learners is not None else store(platform).learners():
        for iri in iris:
            changes += len(evaluate(platform, learner, iri))
    return changes


def progress_json(item: LearnerPathway) -> dict[str, Any]:
    """A learner's progress on one pathway, as the API and the CLI show it."""
    pathway, run = item.pathway, item.progress
    names = {c.id: getattr(c, "name", None) or c.id for c in pathway.components}
    return {
        "pathway": pathway.id,
        "name": pathway.name,
        "version": pathway.version,
        "enrolledVersion": item.enrolled_version,
        "percent": round(run.percent, 1),
        "complete": run.complete,
        "creditsCounted": run.credits_counted,
        "creditsRequired": run.credits_required,
        "validUntil": run.valid_until.isoformat() if run.valid_until else None,
        "nextSteps": [{"id": i, "name": names.get(i, i)} for i in run.next_steps],
        "missing": list(run.missing),
        "components": [
            {
                "id": c.component_id,
                "name": names.get(c.component_id, c.component_id),
                "state": c.state.value,
                "credentials": list(c.credential_ids),
                "lockedBy": list(c.locked_by),
                "credits": c.credits,
            }
            for c in run.components
        ],
        "milestones": [
            {
                "id": m.milestone_id,
                "achievement": m.achievement_id,
                "met": m.met,
                "percent": round(m.percent, 1),
                "creditsCounted": m.credits_counted,
                "creditsRequired": m.credits_required,
                "credentials": list(m.credential_ids),
                "missing": list(m.missing),
                "nextSteps": list(m.next_steps),
            }
            for m in run.milestones
        ],
    }


def stack_json(stack: StackAward, base_url: str) -> dict[str, Any]:
    return {
        "id": stack.id,
        "learner": stack.learner,
        "pathway": stack.pathway_iri,
        "version": stack.version,
        "milestone": stack.milestone,
        "state": stack.state.value,
        "reason": stack.reason,
        "credential": awards.credential_url(base_url, stack.award_id),
        "clr": awards.credential_url(base_url, stack.clr_award_id) if stack.clr_award_id else None,
        "components": list(stack.components),
        "updatedAt": stack.updated_at.isoformat(),
    }
