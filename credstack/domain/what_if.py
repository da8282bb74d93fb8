"""What publishing a new pathway version would change: who newly meets each milestone, and
who no longer does (re-exported by :mod:`credstack.domain.pathway_validation`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from credstack.domain.compiled_pathway import CompiledPathway
from credstack.domain.pathway_facts import EarnedCredential
from credstack.domain.pathways import Pathway
from credstack.domain.progress import Run, compiler


@dataclass(frozen=True, slots=True)
class MilestoneChange:
    """Learners who would newly meet, or no longer meet, one milestone."""

    milestone_id: str
    newly_complete: tuple[str, ...]
    no_longer_complete: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    """What publishing ``new`` in place of ``old`` would change, per milestone id."""

    pathway_id: str
    changes: tuple[MilestoneChange, ...]

    @property
    def changed(self) -> bool:
        return any(c.newly_complete or c.no_longer_complete for c in self.changes)

    def change(self, milestone_id: str) -> MilestoneChange:
        for change in self.changes:
            if change.milestone_id == milestone_id:
                return change
        raise KeyError(milestone_id)


def what_if(
    old: Pathway | None,
    new: Pathway,
    learners: Mapping[str, Sequence[EarnedCredential]],
    now: datetime,
    nested: Mapping[str, Pathway] | None = None,
) -> WhatIfReport:
    """Who would newly complete each milestone of ``new``, and who would lose completion.

    Milestones are matched by id; ``old`` None means a first publication. Learners are
    reported in the mapping's order.
    """
    lookup = compiler(nested or {})
    new_compiled = CompiledPathway(new)
    old_compiled = None if old is None else CompiledPathway(old)
    milestone_ids = list(dict.fromkeys(m.id for m in new.milestones))
    if old is not None:
        milestone_ids += [m.id for m in old.milestones if m.id not in milestone_ids]
    gained: dict[str, list[str]] = {m: [] for m in milestone_ids}
    lost: dict[str, list[str]] = {m: [] for m in milestone_ids}
    for learner, credentials in learners.items():
        after = set(Run(credentials, now, lookup).evaluate(new_compiled).met_milestones)
        before: set[str] = set()
        if old_compiled is not None:
            before = set(Run(credentials, now, lookup).evaluate(old_compiled).met_milestones)
        for milestone_id in after - before:
            gained[milestone_id].append(learner)
        for milestone_id in before - after:
            lost[milestone_id].append(learner)
    return WhatIfReport(
        new.id,
        tuple(MilestoneChange(m, tuple(gained[m]), tuple(lost[m])) for m in milestone_ids),
    )
