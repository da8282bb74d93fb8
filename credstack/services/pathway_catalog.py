"""Pathways as the platform keeps them: import, validate, publish, export, what-if.

A pathway refers to this platform's achievements by their stable key URL
(``{base}/orgs/{slug}/achievements/{key}``), so a new version of an achievement keeps
counting. Importing a pathway (CTDL or credstack's format) binds each achievement it names:
a key URL or version URL of the organization is kept, and any other achievement is created
in the organization's catalogue from what the pathway says about it (name, credits, hours,
level; milestones become Certificates, Diplomas, ... by their achievement type).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from credstack.domain.achievements import Achievement, slug
from credstack.domain.ctdl import to_ctdl
from credstack.domain.errors import Conflict, Invalid, NotFound
from credstack.domain.pathway_formats import parse_pathway
from credstack.domain.pathway_index import PathwayIndex
from credstack.domain.pathway_json import from_json, to_json
from credstack.domain.pathway_validation import validate, what_if
from credstack.domain.pathways import (
    AchievementComponent,
    Component,
    ExternalComponent,
    Milestone,
    Pathway,
)
from credstack.domain.platform import AchievementId, AchievementVersion, Organization, OrgId
from credstack.domain.ports import StackingRepository
from credstack.domain.requirement_base import Problem
from credstack.domain.stack_records import PathwayVersion
from credstack.services import achievements
from credstack.services.organizations import profile_of
from credstack.services.platform import Platform


def store(platform: Platform) -> StackingRepository:
    if platform.stacking is None:
        raise Invalid("this platform was built without the stacking store")
    return platform.stacking


def key_url(base_url: str, slug: str, key: str) -> str:
    """The stable URL of an achievement across its versions."""
    return f"{base_url.rstrip('/')}/orgs/{slug}/achievements/{key}"


def pathway_url(base_url: str, slug: str, key: str) -> str:
    return f"{base_url.rstrip('/')}/orgs/{slug}/pathways/{key}"


def stable_id(platform: Platform, record: AchievementVersion) -> str:
    org = platform.orgs.get(record.org_id)
    slug = org.slug if org is not None else record.org_id
    return key_url(platform.base_url, slug, record.key)


def stable_of(platform: Platform, version_url: str) -> str:
    prefix = f"{platform.base_url.rstrip('/')}/achievements/"
    if version_url.startswith(prefix):
        record = platform.achievements.get(AchievementId(version_url.removeprefix(prefix)))
        if record is not None:
            return stable_id(platform, record)
    return version_url


def key_of(platform: Platform, org: Organization, reference: str) -> AchievementVersion | None:
    """The organization's achievement a pathway reference names (key URL, version URL, key)."""
    prefix = key_url(platform.base_url, org.slug, "")
    version_prefix = achievements.achievement_url(platform.base_url, "")
    if reference.startswith(prefix):
        key = reference.removeprefix(prefix)
        try:
            return achievements.resolve(platform.achievements, org, key)
        except NotFound:
            return None
    if reference.startswith(version_prefix):
        found = platform.achievements.get(AchievementId(reference.removeprefix(version_prefix)))
        return found if found is not None and found.org_id == org.id else None
    return None


def _free_key(platform: Platform, org: Organization, name: str) -> str:
    base = slug(name) or "achievement"
    key, n = base, 1
    while platform.achievements.latest(org.id, key) is not None:
        n += 1
        key = f"{base}-{n}"
    return key


def _create(
    platform: Platform, org: Organization, name: str, fields: Mapping[str, Any]
) -> AchievementVersion:
    definition: dict[str, Any] = {
        "name": name,
        "description": fields.get("description") or name,
        "criteria": {"narrative": fields.get("criteria") or f"Earn {name}."},
    }
    for source, target in (
        ("achievementType", "achievementType"),
        ("credits", "creditsAvailable"),
        ("hours", "learningHours"),
        ("level", "level"),
    ):
        if fields.get(source) is not None:
            definition[target] = fields[source]
    return achievements.define(
        platform.achievements,
        org,
        key=_free_key(platform, org, name),
        definition=definition,
        creator=profile_of(org, platform.base_url),
        base_url=platform.base_url,
        now=platform.now(),
    )


def _previous_bindings(platform: Platform, pathway: Pathway) -> dict[str, str]:
    """Component and milestone ids of the latest stored version -> their achievement URLs."""
    versions = store(platform).pathway_versions(pathway.id)
    if not versions:
        return {}
    before = from_json(versions[-1].definition)
    out = {f"m:{m.id}": m.achievement_id for m in before.milestones}
    for component in before.components:
        if isinstance(component, AchievementComponent):
            out[f"c:{component.id}"] = component.achievement_id
    return out


def bind(
    platform: Platform, org: Organization, pathway: Pathway, *, create: bool = True
) -> Pathway:
    """``pathway`` with every achievement it names bound to this organization's catalogue.

    A reference to one of the organization's achievements (key URL or version URL) is
    kept; otherwise a component or milestone keeps what the same id was bound to in the
    pathway's previous version, else binds to a published achievement of the same name,
    else (when ``create``) a new achievement is defined from what the pathway says.
    External components naming an achievement of this platform get its stable URL.
    """
    previous = _previous_bindings(platform, pathway)
    by_name = {a.definition.get("name"): a for a in platform.achievements.of(org.id) if a.published}
    bound: dict[str, str] = {}

    def resolve(slot: str, reference: str, name: str, fields: Mapping[str, Any]) -> str:
        if reference in bound:
            return bound[reference]
        found = key_of(platform, org, reference)
        if found is None and slot in previous:
            found = key_of(platform, org, previous[slot])
        found = found or by_name.get(name)
        if found is None and not create:
            return reference
        found = found or _create(platform, org, name, fields)
        bound[reference] = stable_id(platform, found)
        return bound[reference]

    components: list[Component] = []
    for component in pathway.components:
        if isinstance(component, AchievementComponent):
            fields: dict[str, Any] = {"credits": component.credits, "hours": component.hours}
            fields["level"] = component.level
            name = component.name or component.id
            target = resolve(f"c:{component.id}", component.achievement_id, name, fields)
            components.append(replace(component, achievement_id=target))
        elif isinstance(component, ExternalComponent) and component.achievement_id:
            stable = stable_of(platform, component.achievement_id)
            components.append(replace(component, achievement_id=stable))
        else:
            components.append(component)
    milestones: list[Milestone] = []
    for milestone in pathway.milestones:
        fields = {"achievementType": milestone.achievement_type}
        fields["description"] = milestone.description
        target = resolve(f"m:{milestone.id}", milestone.achievement_id, milestone.name, fields)
        milestones.append(replace(milestone, achievement_id=target))
    return replace(
        pathway, org_id=org.id, components=tuple(components), milestones=tuple(milestones)
    )


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The published pathways as the engine needs them, rebuilt only when one is published:
    the latest version of each, their reverse index, and every key (achievement URL or
    alignment) that any published version, old ones included, can be moved by."""

    latest: dict[str, Pathway]
    index: PathwayIndex
    keys: frozenset[str]


_CATALOGUES: dict[tuple[str, tuple[int, str]], Catalogue] = {}


#: The catalogue each unit of work (its stacking store) saw first: a bulk batch of a
#: thousand awards asks once. Publishing here clears it; another process's publication
#: shows in the next unit of work.
_UNITS: dict[int, tuple[StackingRepository, Catalogue]] = {}


def forget_catalogue() -> None:
    _UNITS.clear()


def catalogue(platform: Platform) -> Catalogue:
    repository = store(platform)
    seen = _UNITS.get(id(repository))
    if seen is not None and seen[0] is repository:
        return seen[1]
    found = _catalogue(platform)
    if len(_UNITS) > 256:
        _UNITS.clear()
    _UNITS[id(repository)] = (repository, found)
    return found


def _catalogue(platform: Platform) -> Catalogue:
    stamp = (platform.base_url, store(platform).catalogue_stamp())
    found = _CATALOGUES.get(stamp)
    if found is None:
        latest = {p.iri: parsed(p) for p in store(platform).published_pathways()}
        keys: set[str] = set()
        for version in store(platform).published_versions():
            pathway = parsed(version)
            for component in pathway.components:
                if isinstance(component, AchievementComponent | ExternalComponent):
                    keys.update(filter(None, [component.achievement_id]))
                    keys.update(component.alignment_urls)
            keys.update(m.achievement_id for m in pathway.milestones)
        _CATALOGUES.clear()
        found = _CATALOGUES[stamp] = Catalogue(
            latest, PathwayIndex(latest.values()), frozenset(keys)
        )
    return found


def known_pathways(platform: Platform) -> dict[str, Pathway]:
    return catalogue(platform).latest


def parsed(version: PathwayVersion) -> Pathway:
    """The domain pathway of a stored version (parsed once per version: versions are
    immutable once published)."""
    cached = _PARSED.get(version.id)
    if cached is None or not version.published:
        cached = from_json(version.definition)
        if version.published:
            if len(_PARSED) > 4096:
                _PARSED.clear()
            _PARSED[version.id] = cached
    return cached


_PARSED: dict[str, Pathway] = {}


def check(platform: Platform, org: Organization, pathway: Pathway) -> list[Problem]:
    """Validation problems of ``pathway`` against this organization's catalogue."""
    known = {stable_id(platform, a) for a in platform.achievements.of(org.id) if a.published}
    known |= {a.achievement_id for a in pathway.milestones}
    return validate(pathway, known_achievements=known, known_pathways=known_pathways(platform))


def import_pathway(
    platform: Platform, org: Organization, data: Any, *, publish: bool = False
) -> tuple[PathwayVersion, list[Problem]]:
    """Store ``data`` (CTDL or credstack JSON) as the next version, bound to the catalogue.

    The version is stored as a draft with its problems; it is published only when asked
    and valid.
    """
    pathway = bind(platform, org, parse_pathway(data))
    existing = store(platform).pathway_versions(pathway.id)
    if existing and existing[0].org_id != org.id:
        raise Conflict(f"pathway {pathway.id} belongs to another organization")
    version = (existing[-1].version + 1) if existing else 1
    pathway = replace(pathway, version=version)
    problems = check(platform, org, pathway)
    record = PathwayVersion(
        id=str(uuid.uuid4()),
        org_id=org.id,
        iri=pathway.id,
        version=version,
        name=pathway.name,
        published=False,
        definition=to_json(pathway),
        created_at=platform.now(),
    )
    store(platform).add_pathway(record)
    forget_catalogue()
    if publish and not problems:
        record = publish_version(platform, org, pathway.id, version)
    return record, problems


def get_version(
    platform: Platform, org: Organization | None, iri: str, version: int | None = None
) -> PathwayVersion:
    found = store(platform).pathway(iri, version)
    if found is None and version is None:
        drafts = store(platform).pathway_versions(iri)
        found = drafts[-1] if drafts else None
    if found is None or (org is not None and found.org_id != org.id):
        which = f" version {version}" if version is not None else ""
        raise NotFound(f"no pathway {iri}{which}")
    return found


def publish_version(
    platform: Platform, org: Organization, iri: str, version: int | None = None
) -> PathwayVersion:
    """Publish a draft once it validates (raises Invalid naming each problem)."""
    record = get_version(platform, org, iri, version)
    if record.published:
        return record
    problems = check(platform, org, from_json(record.definition))
    if problems:
        raise Invalid("; ".join(p.message for p in problems))
    store(platform).publish_pathway(iri, record.version)
    forget_catalogue()
    return replace(record, published=True)


def export_ctdl(platform: Platform, iri: str, version: int | None = None) -> dict[str, Any]:
    record = get_version(platform, None, iri, version)
    pathway = from_json(record.definition)
    defined = {}
    org = platform.orgs.get(OrgId(record.org_id))
    for ref in [
        c.achievement_id for c in pathway.components if isinstance(c, AchievementComponent)
    ]:
        found = key_of(platform, org, ref) if org is not None else None
        if found is not None:
            defined[ref] = Achievement.from_json(found.definition)
    return to_ctdl(pathway, achievements=defined)


def what_if_report(platform: Platform, org: Organization, data: Any) -> dict[str, Any]:
    """Who would complete, and who would lose completion, if ``data`` were published."""
    from credstack.services.stacking import facts_of  # noqa: PLC0415 - avoid a cycle

    new = bind(platform, org, parse_pathway(data), create=False)
    current = store(platform).pathway(new.id)
    old = parsed(current) if current is not None else None
    learners = {who: facts_of(platform, who) for who in store(platform).learners()}
    report = what_if(old, new, learners, platform.now(), known_pathways(platform))
    return {
        "pathway": report.pathway_id,
        "changed": report.changed,
        "milestones": [
            {
                "milestone": c.milestone_id,
                "newlyComplete": list(c.newly_complete),
                "noLongerComplete": list(c.no_longer_complete),
            }
            for c in report.changes
        ],
    }
