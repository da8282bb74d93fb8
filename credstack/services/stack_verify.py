"""Stack-aware verification: every component checked, and the pathway version satisfied.

A CLR nests its credentials, so each is verified from the document itself (signature,
status, validity, issuer). A stacked AchievementCredential lists its components as
evidence; those issued or imported here are looked up and verified the same way. Then the
components that verified are run through the published pathway version the stack names
(an evidence entry ``{pathway}?version={n}``): the check ``stack.ok`` says the milestone
is met by them, ``stack.unmet`` says what is missing. A stack naming no pathway known
here gets ``stack.unchecked`` (its components are still verified one by one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from credstack.domain.clr import is_clr, nested_credentials
from credstack.domain.errors import Invalid, NotFound
from credstack.domain.pathway_facts import EarnedCredential
from credstack.domain.pathways import Pathway
from credstack.domain.platform import AwardId
from credstack.domain.progress import progress
from credstack.services import awards
from credstack.services.checks import Check, VerificationResult
from credstack.services.pathway_catalog import get_version, known_pathways, parsed, stable_of
from credstack.services.platform import Platform
from credstack.services.recognition import achievement_of, verify_for
from credstack.services.verifying import VerifyOptions, verify


def _evidence_ids(document: Mapping[str, Any]) -> list[str]:
    evidence = document.get("evidence")
    items = evidence if isinstance(evidence, list) else [evidence]
    return [str(e["id"]) for e in items if isinstance(e, Mapping) and isinstance(e.get("id"), str)]


def _pathway_named(platform: Platform, ids: Sequence[str]) -> Pathway | None:
    for ref in ids:
        iri, sep, query = ref.partition("?version=")
        if sep and query.isdigit():
            try:
                return parsed(get_version(platform, None, iri, int(query)))
            except NotFound:
                continue
    return None


def _held_document(platform: Platform, credential_id: str) -> Mapping[str, Any] | None:
    prefix = awards.credential_url(platform.base_url, "")
    if credential_id.startswith(prefix):
        award = platform.awards.get(AwardId(credential_id.removeprefix(prefix)))
        return json.loads(award.document) if award is not None else None
    return None


def _fact(platform: Platform, result: VerificationResult, stack_org_did: str) -> EarnedCredential:
    doc = result.credential or {}
    issuer = doc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    fact = EarnedCredential.from_ob(doc, external=issuer_id != stack_org_did)
    ach_id = str(achievement_of(doc).get("id") or "")
    from dataclasses import replace  # noqa: PLC0415

    return replace(fact, achievement_id=stable_of(platform, ach_id) or fact.achievement_id)


def verify_stack(
    platform: Platform,
    data: bytes | str | Mapping[str, Any],
    options: VerifyOptions | None = None,
) -> VerificationResult:
    """Verify a credential and, when it is a stack or a CLR, its components and pathway."""
    result = verify(data, options) if options is not None else verify_for(platform, data)
    document = result.credential
    if document is None:
        return result
    ids = _evidence_ids(document)
    pathway = _pathway_named(platform, ids)
    if is_clr(document):
        components = list(result.components)
    elif pathway is not None:
        components = []
        for credential_id in ids:
            held = _held_document(platform, credential_id)
            if held is not None:
                components.append(
                    verify(held, options) if options is not None else verify_for(platform, held)
                )
        result = VerificationResult.of(result.checks, document, result.form, components)
    else:
        return result
    return result.with_checks([_stack_check(platform, document, pathway, components)])


def _stack_check(
    platform: Platform,
    document: Mapping[str, Any],
    pathway: Pathway | None,
    components: Sequence[VerificationResult],
) -> Check:
    if pathway is None:
        return Check(
            "stack.unchecked",
            True,
            "the stack names no pathway published here; its components were checked one by one",
        )
    issuer = document.get("issuer")
    org_did = str(issuer.get("id") if isinstance(issuer, Mapping) else issuer)
    facts = []
    for component in components:
        if not component.verified or component.credential is None:
            continue
        try:
            facts.append(_fact(platform, component, org_did))
        except Invalid:
            continue
    run = progress(pathway, facts, platform.now(), known_pathways(platform))
    stack_achievement = _stack_achievement(platform, document, components)
    milestone = next(
        (m for m in run.milestones if m.achievement_id == stack_achievement), run.final
    )
    if milestone is None:
        return Check("stack.unmet", False, f"{pathway.name} has no milestone to check")
    if milestone.met:
        return Check(
            "stack.ok",
            True,
            f"the components meet {pathway.name} v{pathway.version} ({milestone.milestone_id})",
        )
    missing = "; ".join(milestone.missing) or "requirements not met"
    return Check("stack.unmet", False, f"{pathway.name} v{pathway.version} is not met: {missing}")


def _stack_achievement(
    platform: Platform, document: Mapping[str, Any], components: Sequence[VerificationResult]
) -> str:
    """The stable id of the stack's own achievement (a CLR's first nested credential)."""
    source: Mapping[str, Any] = document
    if is_clr(document):
        nested = nested_credentials(document)
        source = nested[0] if nested and isinstance(nested[0], Mapping) else {}
    return stable_of(platform, str(achievement_of(source).get("id") or ""))
