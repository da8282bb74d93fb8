"""An organization's analytics: credentials issued per week, each pathway's funnel, the
median time to complete a pathway, how many learners come back for more, and what expires
soon. The counting happens in the repository (``domain.ports.AnalyticsRepository``); this
module frames the periods, reads the pathways and does the arithmetic. ``now`` is an
argument.

Definitions:

* **Credentials** are awards of an achievement (stacked credentials included, CLR records
  not).
* **Awards per week**: the last ``weeks`` weeks, Monday 00:00 UTC to Monday, the current
  (partial) week last; revoked credentials count in the week they were issued.
* **Funnel** of a pathway (its latest published version): learners enrolled (any version),
  then, per milestone, learners holding its stacked credential now (state active); the
  final milestone's count is the number who completed.
* **Time to complete**: for each learner holding the final milestone's stacked credential,
  from their first credential of one of the pathway's component achievements to that
  stacked credential; the median in days.
* **Learners who stack**: learners with at least two unrevoked credentials of the
  organization, over learners with at least one.
* **Expiring**: unrevoked credentials whose ``validUntil`` falls in the next 30, 60 and 90
  days (each count includes the shorter ones).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from credstack.domain.errors import Invalid
from credstack.domain.pathway_json import from_json
from credstack.domain.pathways import AchievementComponent, Pathway
from credstack.domain.platform import Organization
from credstack.domain.ports import AnalyticsRepository
from credstack.domain.stack_records import PathwayVersion
from credstack.services.pathway_catalog import key_url

WEEKS: Final = 26
EXPIRY_DAYS: Final = (30, 60, 90)


@dataclass(frozen=True, slots=True)
class WeekCount:
    start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class FunnelStep:
    label: str
    count: int
    milestone: str | None = None
    final: bool = False


@dataclass(frozen=True, slots=True)
class Funnel:
    iri: str
    name: str
    version: int
    steps: tuple[FunnelStep, ...]

    @property
    def enrolled(self) -> int:
        return self.steps[0].count if self.steps else 0

    @property
    def completed(self) -> int:
        return next((s.count for s in self.steps if s.final), 0)


@dataclass(frozen=True, slots=True)
class Completion:
    """The median days to complete a pathway, over ``learners`` completions (None: none)."""

    iri: str
    name: str
    learners: int
    median_days: float | None


@dataclass(frozen=True, slots=True)
class Stacking:
    learners: int
    stacking: int

    @property
    def share(self) -> float | None:
        return self.stacking / self.learners if self.learners else None


@dataclass(frozen=True, slots=True)
class Expiring:
    days: int
    count: int


@dataclass(frozen=True, slots=True)
class Report:
    now: datetime
    weeks: tuple[WeekCount, ...]
    funnels: tuple[Funnel, ...]
    completions: tuple[Completion, ...]
    stacking: Stacking
    expiring: tuple[Expiring, ...]


def week_edges(now: datetime, weeks: int = WEEKS) -> list[datetime]:
    """``weeks + 1`` Mondays (00:00 UTC): the last ``weeks`` weeks, this one included."""
    if weeks < 1:
        raise Invalid("weeks must be at least 1")
    moment = now.astimezone(UTC)
    monday = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) - timedelta(
        days=moment.weekday()
    )
    first = monday - timedelta(weeks=weeks - 1)
    return [first + timedelta(weeks=i) for i in range(weeks + 1)]


def awards_per_week(
    repo: AnalyticsRepository, org: Organization, now: datetime, weeks: int = WEEKS
) -> list[WeekCount]:
    edges = week_edges(now, weeks)
    counts = repo.awards_per_period(org.id, edges)
    return [WeekCount(start, count) for start, count in zip(edges, counts, strict=False)]


def published(repo: AnalyticsRepository, org: Organization) -> list[tuple[PathwayVersion, Pathway]]:
    """The latest published version of each of the organization's pathways, by name."""
    latest: dict[str, PathwayVersion] = {}
    for version in repo.pathway_versions(org.id):
        if version.published and (
            version.iri not in latest or version.version > latest[version.iri].version
        ):
            latest[version.iri] = version
    found = [(v, from_json(v.definition)) for v in latest.values()]
    return sorted(found, key=lambda pair: (pair[0].name.lower(), pair[0].iri))


def funnel(repo: AnalyticsRepository, version: PathwayVersion, pathway: Pathway) -> Funnel:
    met = repo.milestones_met(version.iri)
    steps = [FunnelStep("Enrolled", repo.enrolled(version.iri))]
    ordered = [m for m in pathway.milestones if m.id != pathway.final_milestone]
    ordered += [m for m in pathway.milestones if m.id == pathway.final_milestone]
    for milestone in ordered:
        final = milestone.id == pathway.final_milestone
        label = f"Completed: {milestone.name}" if final else milestone.name
        steps.append(FunnelStep(label, met.get(milestone.id, 0), milestone.id, final))
    return Funnel(version.iri, version.name, version.version, tuple(steps))


def component_keys(pathway: Pathway, key_prefix: str) -> list[str]:
    """The achievement keys of the pathway's components (stable URLs under ``key_prefix``:
    ``{base}/orgs/{slug}/achievements/``)."""
    return sorted(
        {
            c.achievement_id.removeprefix(key_prefix)
            for c in pathway.components
            if isinstance(c, AchievementComponent) and c.achievement_id.startswith(key_prefix)
        }
    )


def time_to_complete(
    repo: AnalyticsRepository,
    org: Organization,
    version: PathwayVersion,
    pathway: Pathway,
    key_prefix: str,
) -> Completion:
    done = repo.completions(version.iri, pathway.final_milestone)
    starts = repo.first_credentials(
        org.id, component_keys(pathway, key_prefix), [learner for learner, _ in done]
    )
    days = [
        max((finished - starts[learner]).total_seconds(), 0.0) / 86400
        for learner, finished in done
        if learner in starts
    ]
    median = statistics.median(days) if days else None
    return Completion(version.iri, version.name, len(days), median)


def stacking(repo: AnalyticsRepository, org: Organization) -> Stacking:
    one, two = repo.learner_counts(org.id)
    return Stacking(one, two)


def expiring(
    repo: AnalyticsRepository, org: Organization, now: datetime, days: Sequence[int] = EXPIRY_DAYS
) -> list[Expiring]:
    counts = repo.expiring(org.id, now, [now + timedelta(days=d) for d in days])
    return [Expiring(d, n) for d, n in zip(days, counts, strict=True)]


def report(repo: AnalyticsRepository, org: Organization, *, now: datetime, base_url: str) -> Report:
    """Every figure of the analytics page."""
    key_prefix = key_url(base_url, org.slug, "")
    pathways = published(repo, org)
    return Report(
        now=now,
        weeks=tuple(awards_per_week(repo, org, now)),
        funnels=tuple(funnel(repo, v, p) for v, p in pathways),
        completions=tuple(time_to_complete(repo, org, v, p, key_prefix) for v, p in pathways),
        stacking=stacking(repo, org),
        expiring=tuple(expiring(repo, org, now)),
    )
