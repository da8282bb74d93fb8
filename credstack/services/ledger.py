"""A learner's credit ledger for one program, across issuers.

Each valid credential the learner holds counts at most once, in this order:

1. ``native``: it is an achievement of the program's pathway (its creditsEarned, else the
   component's credits);
2. ``equivalency``: an external component of the pathway (issuer plus achievement id or
   alignment) matches it, and the pathway's organization trusts the issuer;
3. ``articulation``: an articulation agreement of the program's organization matches it
   (issuer plus achievement id or alignment), and grants the agreement's credits.
"""

from __future__ import annotations

from credstack.domain.pathway_facts import EarnedCredential
from credstack.domain.pathways import AchievementComponent, ExternalComponent, Pathway
from credstack.domain.stack_records import Articulation, Ledger, LedgerEntry
from credstack.services.pathway_catalog import store
from credstack.services.platform import Platform
from credstack.services.recognition import learner_id
from credstack.services.stacking import facts_of, pathway_for, trusted_facts


def _native(pathway: Pathway, fact: EarnedCredential) -> LedgerEntry | None:
    for component in pathway.components:
        if (
            isinstance(component, AchievementComponent)
            and not fact.external
            and component.achievement_id == fact.achievement_id
        ):
            credits = fact.credits_earned if fact.credits_earned is not None else None
            credits = credits if credits is not None else component.credits or 0.0
            name = component.name or component.id
            return LedgerEntry(fact.id, fact.issuer, fact.achievement_id, name, credits, "native")
    return None


def _equivalent(pathway: Pathway, fact: EarnedCredential) -> LedgerEntry | None:
    if not fact.external:
        return None
    for component in pathway.components:
        if not isinstance(component, ExternalComponent) or component.issuer != fact.issuer:
            continue
        by_id = component.achievement_id is not None and component.achievement_id == (
            fact.achievement_id
        )
        by_alignment = component.alignment_url is not None and (
            component.alignment_url in fact.alignments
        )
        if by_id or by_alignment:
            credits = component.credits or fact.credits_earned or 0.0
            name = component.name or component.id
            return LedgerEntry(
                fact.id, fact.issuer, fact.achievement_id, name, credits, "equivalency"
            )
    return None


def _articulated(agreements: list[Articulation], fact: EarnedCredential) -> LedgerEntry | None:
    for agreement in agreements:
        if agreement.matches(fact.issuer, fact.achievement_id, frozenset(fact.alignments)):
            name = agreement.note or fact.achievement_id
            return LedgerEntry(
                fact.id,
                fact.issuer,
                fact.achievement_id,
                name,
                agreement.credits,
                "articulation",
                agreement.id,
            )
    return None


def ledger(platform: Platform, learner: str, program: str) -> Ledger:
    """The learner's credits toward ``program`` (a pathway IRI), one entry per credential."""
    who = learner_id(learner)
    pathway = pathway_for(platform, who, program)
    agreements = [a for a in store(platform).articulations(pathway.org_id) if a.program == program]
    entries: list[LedgerEntry] = []
    facts = facts_of(platform, who)
    judged = {f.id: f for f in trusted_facts(platform, pathway.org_id, facts)}
    seen: set[str] = set()
    for fact in facts:
        if fact.id in seen:
            continue
        seen.add(fact.id)
        known = judged.get(fact.id)
        entry = None
        if known is not None:
            entry = _native(pathway, known) or _equivalent(pathway, known)
        entry = entry or _articulated(agreements, fact)
        if entry is not None:
            entries.append(entry)
    return Ledger(who, program, tuple(entries))
