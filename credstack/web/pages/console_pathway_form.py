"""The structured pathway editor's form: rows of components and milestones <-> credstack's
pathway JSON (``credstack.domain.pathway_json``).

The form covers what most pathways need: achievement components (an achievement of the
catalogue, credits, prerequisites) and milestones whose requirement is *all of*, *at
least N of* or *credits from a pool* of components. Anything richer (nested pathways,
other issuers' credentials, grades, recency, ...) is edited as JSON; a pathway that uses
it opens with the JSON editor only (:func:`rows_of` answers ``None``).

Field names: ``c{i}_id``, ``c{i}_achievement``, ``c{i}_credits``, ``c{i}_prerequisites``
(ids separated by commas or spaces) for component ``i``; ``m{i}_id``, ``m{i}_name``,
``m{i}_type``, ``m{i}_rule`` (``all_of``, ``at_least``, ``credits``), ``m{i}_n``,
``m{i}_credits``, ``m{i}_of`` (ids; empty: every component), ``m{i}_achievement``
(kept from the version edited) for milestone ``i``. What a stored pathway says that the
form does not show (``precedes``, hours, level, alignments; a milestone's description)
travels in the hidden ``c{i}_extra`` and ``m{i}_extra`` (a JSON object) and is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from credstack.domain.achievements import slug
from credstack.domain.errors import Invalid
from credstack.domain.pathway_json import FORMAT

RULES: Final = (
    ("all_of", "All of"),
    ("at_least", "At least N of"),
    ("credits", "Credits from"),
)
MAX_ROWS: Final = 60
_SPLIT = re.compile(r"[\s,;]+")


def ids_in(text: str) -> list[str]:
    return [part for part in _SPLIT.split(text.strip()) if part]


@dataclass(frozen=True, slots=True)
class ComponentRow:
    id: str = ""
    achievement: str = ""
    credits: str = ""
    prerequisites: str = ""
    extra: str = ""

    @property
    def blank(self) -> bool:
        return not (self.id.strip() or self.achievement.strip())


@dataclass(frozen=True, slots=True)
class MilestoneRow:
    id: str = ""
    name: str = ""
    type: str = "Certificate"
    rule: str = "all_of"
    n: str = ""
    credits: str = ""
    of: str = ""
    achievement: str = ""
    extra: str = ""

    @property
    def blank(self) -> bool:
        return not (self.id.strip() or self.name.strip())


@dataclass(frozen=True, slots=True)
class PathwayForm:
    """The editor's fields as sent (re-shown as typed)."""

    iri: str = ""
    key: str = ""
    name: str = ""
    description: str = ""
    cascade: str = "suspend"
    final: str = ""
    components: tuple[ComponentRow, ...] = ()
    milestones: tuple[MilestoneRow, ...] = ()

    def with_rows(self, components: int = 0, milestones: int = 0) -> PathwayForm:
        """The form with that many more empty rows (at most MAX_ROWS of each)."""
        more_c = max(0, min(components, MAX_ROWS - len(self.components)))
        more_m = max(0, min(milestones, MAX_ROWS - len(self.milestones)))
        return PathwayForm(
            self.iri,
            self.key,
            self.name,
            self.description,
            self.cascade,
            self.final,
            self.components + tuple(ComponentRow() for _ in range(more_c)),
            self.milestones + tuple(MilestoneRow() for _ in range(more_m)),
        )


def form_of(fields: Mapping[str, str]) -> PathwayForm:
    """Read the editor's posted fields (see the module for their names)."""

    def get(name: str, default: str = "") -> str:
        value = fields.get(name, default)
        return value[:2000] if isinstance(value, str) else default

    def count(prefix: str) -> int:
        found = [
            int(m.group(1))
            for name in fields
            if (m := re.fullmatch(rf"{prefix}(\d{{1,3}})_[a-z]+", name))
        ]
        return min(max(found, default=-1) + 1, MAX_ROWS)

    components = tuple(
        ComponentRow(
            get(f"c{i}_id"),
            get(f"c{i}_achievement"),
            get(f"c{i}_credits"),
            get(f"c{i}_prerequisites"),
            get(f"c{i}_extra"),
        )
        for i in range(count("c"))
    )
    milestones = tuple(
        MilestoneRow(
            get(f"m{i}_id"),
            get(f"m{i}_name"),
            get(f"m{i}_type", "Certificate"),
            get(f"m{i}_rule", "all_of"),
            get(f"m{i}_n"),
            get(f"m{i}_credits"),
            get(f"m{i}_of"),
            get(f"m{i}_achievement"),
            get(f"m{i}_extra"),
        )
        for i in range(count("m"))
    )
    return PathwayForm(
        get("iri"),
        get("key"),
        get("name"),
        get("description"),
        get("cascade", "suspend"),
        get("final"),
        components,
        milestones,
    )


def _number(value: str, what: str) -> float | None:
    text = value.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(f"{what}: enter a number (got {value.strip()!r})") from None


COMPONENT_EXTRAS: Final = ("name", "precedes", "hours", "level", "alignments")
MILESTONE_EXTRAS: Final = ("description",)


def _extra(text: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The kept attributes of a row (only ``allowed`` keys; anything unusable: none)."""
    try:
        found = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return {k: v for k, v in found.items() if k in allowed} if isinstance(found, dict) else {}


def _extra_text(item: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    kept = {k: item[k] for k in allowed if k in item}
    return json.dumps(kept, ensure_ascii=False) if kept else ""


def _leaf(component: str) -> dict[str, Any]:
    return {"kind": "component", "component": component}


def requirement(row: MilestoneRow, every: list[str], what: str) -> dict[str, Any]:
    """The requirement JSON of a milestone row."""
    named = ids_in(row.of) or every
    if row.rule == "at_least":
        text = row.n.strip()
        if not text.isdigit():
            raise Invalid(f"{what}: 'at least N of' needs N, a whole number")
        return {"kind": "at_least", "n": int(text), "of": [_leaf(c) for c in named]}
    if row.rule == "credits":
        amount = _number(row.credits, f"{what} credits")
        if amount is None:
            raise Invalid(f"{what}: 'credits from' needs the number of credits")
        return {"kind": "credits", "credits": amount, "pool": named}
    return {"kind": "all_of", "of": [_leaf(c) for c in named]}


def pathway_json(
    form: PathwayForm, iri: str, catalogue: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """credstack's pathway JSON for the form. ``catalogue`` maps the achievements offered
    (stable key URLs) to their definitions (name and credits fill the components)."""
    components: list[dict[str, Any]] = []
    for number, row in enumerate((r for r in form.components if not r.blank), start=1):
        what = f"Component {number}"
        chosen = catalogue.get(row.achievement.strip(), {})
        component_id = row.id.strip() or slug(str(chosen.get("name", ""))) or f"c{number}"
        if not row.achievement.strip():
            raise Invalid(f"{what} ({component_id}): choose its achievement")
        item: dict[str, Any] = {
            "kind": "achievement",
            "id": component_id,
            "achievementId": row.achievement.strip(),
        }
        if chosen.get("name"):
            item["name"] = chosen["name"]
        credits = _number(row.credits, f"{what} ({component_id}) credits")
        if credits is None and isinstance(chosen.get("creditsAvailable"), int | float):
            credits = float(chosen["creditsAvailable"])
        if credits is not None:
            item["credits"] = credits
        before = ids_in(row.prerequisites)
        if before:
            item["prerequisites"] = before
        components.append({**_extra(row.extra, COMPONENT_EXTRAS), **item})
    every = [c["id"] for c in components]
    milestones: list[dict[str, Any]] = []
    for number, step in enumerate((r for r in form.milestones if not r.blank), start=1):
        milestone_id = step.id.strip() or slug(step.name) or f"m{number}"
        what = f"Milestone {number} ({milestone_id})"
        if not step.name.strip():
            raise Invalid(f"{what}: give it a name (the stacked credential's name)")
        milestones.append(
            {
                **_extra(step.extra, MILESTONE_EXTRAS),
                "id": milestone_id,
                "name": step.name.strip(),
                "achievementId": step.achievement.strip()
                or f"urn:credstack:milestone:{milestone_id}",
                "achievementType": step.type.strip() or "Certificate",
                "requirement": requirement(step, every, what),
            }
        )
    final = form.final.strip() or (milestones[-1]["id"] if milestones else "")
    return {
        "format": FORMAT,
        "id": iri,
        "name": form.name.strip(),
        "description": form.description.strip(),
        "version": 1,
        "orgId": "",
        "cascadePolicy": form.cascade if form.cascade in ("suspend", "revoke") else "suspend",
        "finalMilestone": final,
        "components": components,
        "milestones": milestones,
    }


def _simple(requirement: Mapping[str, Any]) -> MilestoneRow | None:
    """A milestone row for a requirement the form can show, else None."""
    kind = requirement.get("kind")
    if kind == "credits":
        pool = requirement.get("pool", [])
        return MilestoneRow(
            rule="credits", credits=f"{requirement.get('credits', '')}", of=", ".join(pool)
        )
    if kind not in ("all_of", "at_least"):
        return None
    leaves = []
    for child in requirement.get("of", []):
        if isinstance(child, str):
            leaves.append(child)
        elif isinstance(child, Mapping) and child.get("kind") == "component":
            leaves.append(str(child.get("component", "")))
        else:
            return None
    n = str(requirement.get("n", "")) if kind == "at_least" else ""
    return MilestoneRow(rule=str(kind), n=n, of=", ".join(leaves))


def rows_of(definition: Mapping[str, Any]) -> PathwayForm | None:
    """The form for a stored pathway (credstack JSON), or None when it uses more than the
    form can show (edit it as JSON then)."""
    components = []
    for item in definition.get("components", []):
        if not isinstance(item, Mapping) or item.get("kind") != "achievement":
            return None
        credits = item.get("credits")
        components.append(
            ComponentRow(
                str(item.get("id", "")),
                str(item.get("achievementId", "")),
                "" if credits is None else f"{credits:g}",
                ", ".join(item.get("prerequisites", [])),
                _extra_text(item, COMPONENT_EXTRAS),
            )
        )
    milestones = []
    for item in definition.get("milestones", []):
        row = _simple(item.get("requirement", {})) if isinstance(item, Mapping) else None
        if row is None:
            return None
        every = [c.id for c in components]
        of = "" if ids_in(row.of) == every else row.of
        milestones.append(
            MilestoneRow(
                str(item.get("id", "")),
                str(item.get("name", "")),
                str(item.get("achievementType", "Certificate")),
                row.rule,
                row.n,
                row.credits,
                of,
                str(item.get("achievementId", "")),
                _extra_text(item, MILESTONE_EXTRAS),
            )
        )
    return PathwayForm(
        iri=str(definition.get("id", "")),
        name=str(definition.get("name", "")),
        description=str(definition.get("description", "")),
        cascade=str(definition.get("cascadePolicy", "suspend")),
        final=str(definition.get("finalMilestone", "")),
        components=tuple(components),
        milestones=tuple(milestones),
    )
