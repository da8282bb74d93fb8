"""A learner's progress through a pathway: component states, milestones met, what is missing.

Pure: ``now`` and the learner's currently valid credentials come in as arguments.
:func:`progress` does not validate the pathway (validate before publishing); a
:class:`CompiledPathway` holds the per-pathway indexes (achievement id -> components,
prerequisites, milestone order) built once and reused for every learner.

Definitions:

* A component is **earned** when a credential matches it (or, for a nested pathway, its
  final milestone is met; or a milestone of this pathway awarding its achievement is met)
  and every prerequisite is earned; **locked** when a prerequisite is not earned (a held
  credential then does not count yet); **available** otherwise.
* **percent** of a milestone is 100 x the fraction of its requirement tree that is met:
  a component counts 0 or 1, ``all_of`` averages its children, ``any_of`` takes the best,
  ``at_least n`` sums its best n children / n, ``credits`` is credits earned / required
  (so credits-weighted where a credits requirement exists), ``competencies`` covered /
  needed. An unmet milestone never shows 100; one naming no component shows 0.
* **next steps** are available components that would move an unmet requirement forward,
  and the available prerequisites of locked ones that would.
* The **credentials** of a met milestone are those its requirement uses, chosen so that
  ``valid_until`` (their earliest validUntil) is as late as possible, plus those earning the
  prerequisites of the components used (without them those would not count).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from credstack.domain.compiled_pathway import CompiledPathway, LearnerFacts
from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import ComponentEvidence, EarnedCredential
from credstack.domain.pathways import Pathway
from credstack.domain.progress_model import (
    ComponentProgress,
    ComponentState,
    MilestoneProgress,
    Progress,
)
from credstack.domain.progress_report import report, with_prerequisites
from credstack.domain.requirement_base import RequirementResult

__all__ = [
    "CompiledPathway",
    "ComponentProgress",
    "ComponentState",
    "MilestoneProgress",
    "Progress",
    "Run",
    "compile_pathway",
    "compiler",
    "progress",
]


def _evidence(
    credential: EarnedCredential, credits: float | None, declared: frozenset[str]
) -> ComponentEvidence:
    earned = credential.credits_earned
    return ComponentEvidence(
        (credential.id,),
        earned if earned is not None else (credits or 0.0),
        credential.valid_from,
        credential.valid_until,
        credential.results,
        declared.union(credential.alignments) if credential.alignments else declared,
        credential.external,
    )


class Run:
    """One learner at one moment: credentials, ``now``, pathways to resolve nesting with,
    and the progress already computed (each nested pathway is evaluated once)."""

    __slots__ = ("_by_achievement", "_by_id", "_lookup", "credentials", "memo", "now")

    def __init__(
        self,
        credentials: Iterable[EarnedCredential],
        now: datetime,
        lookup: Callable[[str], CompiledPathway | None],
    ) -> None:
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise Invalid("progress: now must be a timezone-aware datetime")
        self.credentials = tuple(credentials)
        self.now = now
        self._lookup = lookup
        self.memo: dict[str, Progress | None] = {}
        self._by_id: dict[str, EarnedCredential] | None = None
        self._by_achievement: dict[str, list[EarnedCredential]] | None = None

    def valid_from(self, credential_ids: Iterable[str]) -> datetime:
        if self._by_id is None:
            self._by_id = {c.id: c for c in self.credentials}
        dates = [self._by_id[i].valid_from for i in credential_ids if i in self._by_id]
        return max(dates) if dates else self.now

    def holding(self, achievement_id: str) -> list[EarnedCredential]:
        if self._by_achievement is None:
            self._by_achievement = {}
            for credential in self.credentials:
                self._by_achievement.setdefault(credential.achievement_id, []).append(credential)
        return self._by_achievement.get(achievement_id, [])

    def nested(self, pathway_id: str, stack: tuple[str, ...]) -> Progress | None:
        """Progress through a nested pathway (None: unknown, or a nesting cycle)."""
        if pathway_id in stack:
            return None
        if pathway_id not in self.memo:
            compiled = self._lookup(pathway_id)
            self.memo[pathway_id] = None if compiled is None else self.evaluate(compiled, stack)
        return self.memo[pathway_id]

    def final_award(self, pathway_id: str) -> str | None:
        compiled = self._lookup(pathway_id)
        final = None if compiled is None else compiled.pathway.final
        return None if final is None else final.achievement_id

    def evaluate(self, compiled: CompiledPathway, stack: tuple[str, ...] = ()) -> Progress:
        held = self._held(compiled, (*stack, compiled.pathway.id))
        if not held and compiled.empty is not None:
            return compiled.empty
        facts = LearnerFacts(self.now, held, compiled)
        results: dict[str, tuple[RequirementResult, bool]] = {}
        for milestone in compiled.milestones:
            if facts.holds_any(compiled.reach[milestone.id]):
                result = milestone.requirement.evaluate(facts)
            else:  # the same for every learner holding none of what it can depend on
                result = compiled.unheld.get(milestone.id) or milestone.requirement.evaluate(facts)
                compiled.unheld[milestone.id] = result
            if compiled.prerequisites and result.credential_ids:
                result = with_prerequisites(result, facts, compiled)
            met = result.satisfied and compiled.named[milestone.id]
            results[milestone.id] = (result, met)
            if met and milestone.achievement_id in compiled.awards:
                for cid in compiled.awards[milestone.achievement_id]:
                    facts.add(cid, self._met(result, compiled, cid), milestone.id)
        outcome = report(compiled, facts, results)
        if not held:
            compiled.empty = outcome
        return outcome

    def _met(
        self, result: RequirementResult, compiled: CompiledPathway, cid: str
    ) -> ComponentEvidence:
        ids = tuple(sorted(result.credential_ids))
        credits = compiled.credits.get(cid)
        return ComponentEvidence(
            ids,
            credits if credits is not None else 0.0,  # counted once: in its milestone
            self.valid_from(ids),
            result.valid_until,
            alignments=compiled.declared.get(cid, frozenset()),
        )

    def _held(
        self, compiled: CompiledPathway, stack: tuple[str, ...]
    ) -> dict[str, tuple[ComponentEvidence, ...]]:
        found: dict[str, list[ComponentEvidence]] = {}
        credits, declared, match = compiled.credits, compiled.declared, compiled.match
        by_alignment = compiled.external_by_alignment
        for credential in self.credentials:
            for cid, issuer in match.get(credential.achievement_id, ()):
                if (issuer is None and not credential.external) or issuer == credential.issuer:
                    evidence = _evidence(credential, credits[cid], declared[cid])
                    found.setdefault(cid, []).append(evidence)
            if by_alignment and credential.alignments:
                matched = {
                    cid
                    for url in credential.alignments
                    for issuer, cid in by_alignment.get(url, ())
                    if issuer == credential.issuer
                }
                for cid in sorted(matched):
                    evidence = _evidence(credential, credits[cid], declared[cid])
                    found.setdefault(cid, []).append(evidence)
        for cid, pathway_id in compiled.nested:
            options = found.setdefault(cid, [])
            inner = self.nested(pathway_id, stack)
            final = None if inner is None else inner.final
            if final is not None and final.met:
                options.append(self._met_nested(final, compiled, cid))
            award = self.final_award(pathway_id)
            for credential in self.holding(award) if award is not None else ():
                if not credential.external:
                    options.append(_evidence(credential, credits[cid], declared[cid]))
        return {
            cid: (options[0],)
            if len(options) == 1
            else tuple(sorted(options, key=ComponentEvidence.sort_key, reverse=True))
            for cid, options in found.items()
            if options
        }

    def _met_nested(
        self, final: MilestoneProgress, compiled: CompiledPathway, cid: str
    ) -> ComponentEvidence:
        credits = compiled.credits.get(cid)
        return ComponentEvidence(
            final.credential_ids,
            credits if credits is not None else final.credits_counted,
            self.valid_from(final.credential_ids),
            final.valid_until,
            alignments=compiled.declared.get(cid, frozenset()),
        )


def progress(
    pathway: Pathway | CompiledPathway,
    credentials: Iterable[EarnedCredential],
    now: datetime,
    nested: Mapping[str, Pathway | CompiledPathway] | None = None,
) -> Progress:
    """A learner's progress through ``pathway`` given their currently valid credentials.

    ``nested`` maps pathway ids to the pathways nested components name (pass compiled ones
    to reuse their indexes). See the module docstring for the definitions.
    """
    return Run(credentials, now, compiler(nested or {})).evaluate(compile_pathway(pathway))


_COMPILED: dict[int, tuple[Pathway, CompiledPathway]] = {}


def compile_pathway(pathway: Pathway | CompiledPathway) -> CompiledPathway:
    """The indexes of ``pathway``, built once per pathway object (a bounded memo)."""
    if isinstance(pathway, CompiledPathway):
        return pathway
    hit = _COMPILED.get(id(pathway))
    if hit is not None and hit[0] is pathway:
        return hit[1]
    if len(_COMPILED) >= 1024:
        _COMPILED.clear()
    compiled = CompiledPathway(pathway)
    _COMPILED[id(pathway)] = (pathway, compiled)
    return compiled


def compiler(
    pathways: Mapping[str, Pathway | CompiledPathway],
) -> Callable[[str], CompiledPathway | None]:
    """A lookup that compiles each pathway of ``pathways`` once, when first needed."""
    done: dict[str, CompiledPathway] = {}

    def lookup(pathway_id: str) -> CompiledPathway | None:
        if pathway_id not in done:
            found = pathways.get(pathway_id)
            if found is None:
                return None
            done[pathway_id] = (
                found if isinstance(found, CompiledPathway) else CompiledPathway(found)
            )
        return done[pathway_id]

    return lookup
