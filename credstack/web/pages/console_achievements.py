"""Console: the organization's achievements, and a form that defines (publishes) a new one
or a new version, with a live Open Badges 3.0 preview.

While someone types, htmx posts the form to ``.../achievements/preview`` (``hx-trigger``
on input), which builds the Achievement JSON exactly as publishing would
(``Achievement.from_json``) and answers the JSON, or the validation error, as a fragment.
Without JavaScript the form's "Preview" button re-renders the page with the same preview.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from credstack.domain.achievements import ACHIEVEMENT_TYPES, Achievement, slug
from credstack.domain.errors import CredstackError, Invalid
from credstack.domain.platform import AchievementVersion, Scope
from credstack.services import achievements
from credstack.services.organizations import profile_of
from credstack.services.platform import Platform
from credstack.web.deps import PlatformDep
from credstack.web.pages import render
from credstack.web.pages.console import Staff, StaffDep, console_page
from credstack.web.pages.session import PageRoute, csrf_protect, json_of, redirect

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=10_000)]
TYPES: Final = sorted(ACHIEVEMENT_TYPES)


@dataclass(frozen=True, slots=True)
class AchievementForm:
    """What the form sent, as typed (re-shown when something is wrong)."""

    key: str = ""
    name: str = ""
    description: str = ""
    criteria: str = ""
    achievement_type: str = ""
    credits: str = ""
    hours: str = ""
    level: str = ""
    ects: str = ""
    price: str = ""
    currency: str = ""
    alignments: str = ""
    validity_days: str = ""

    @property
    def blank(self) -> bool:
        return not (self.name.strip() or self.description.strip() or self.criteria.strip())


def achievement_form(
    key: Text = "",
    name: Text = "",
    description: LongText = "",
    criteria: LongText = "",
    achievement_type: Text = "",
    credits: Text = "",
    hours: Text = "",
    level: Text = "",
    ects: Text = "",
    price: Text = "",
    currency: Text = "",
    alignments: LongText = "",
    validity_days: Text = "",
) -> AchievementForm:
    return AchievementForm(
        key, name, description, criteria, achievement_type, credits, hours, level, ects,
        price, currency, alignments, validity_days,
    )  # fmt: skip


FormDep = Annotated[AchievementForm, Depends(achievement_form)]


#: JSON paths of Achievement.from_json's messages -> the form's labels.
FIELDS: Final = (
    ("achievement.name", "Name"),
    ("achievement.description", "Description"),
    ("criteria", "Criteria"),
    ("achievement.achievementType", "Achievement type"),
    ("achievement.level", "Level"),
    ("achievement.alignment", "Alignments"),
    ("alignment.targetName", "Alignments (name)"),
    ("alignment.targetUrl", "Alignments (URL)"),
    ("price.amount", "Price"),
    ("price.currency", "Currency"),
)


def friendly(message: str) -> str:
    """A validation message that names the form's field rather than a JSON path."""
    for path, label in FIELDS:
        if message.startswith(path):
            rest = message.removeprefix(path)
            rest = rest.split(":", 1)[1].strip() if ":" in rest[:20] else rest.strip()
            return f"{label}: {rest}"
    return message


def _number(value: str, label: str) -> float | None:
    text = value.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(f"{label}: enter a number, such as 1.5 (got {value.strip()!r})") from None


def _alignments(text: str) -> list[dict[str, Any]]:
    """One alignment per line: ``name | URL`` (and optionally ``| code``), or a URL alone."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = [p.strip() for p in line.split("|")]
        if not any(parts):
            continue
        if len(parts) == 1:
            parts = [parts[0], parts[0]]
        alignment: dict[str, Any] = {
            "type": ["Alignment"],
            "targetName": parts[0],
            "targetUrl": parts[1],
        }
        if len(parts) > 2 and parts[2]:
            alignment["targetCode"] = parts[2]
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", parts[1]):
            raise Invalid(f"Alignments, line {number}: {parts[1]!r} is not a URL")
        out.append(alignment)
    return out


def definition_of(form: AchievementForm) -> dict[str, Any]:
    """The OB 3.0 Achievement JSON the form describes (``id`` and ``creator`` added when
    it is published); Invalid names the field of the first problem."""
    definition: dict[str, Any] = {
        "type": ["Achievement"],
        "name": form.name.strip(),
        "description": form.description.strip(),
        "criteria": {"narrative": form.criteria.strip()} if form.criteria.strip() else {},
    }
    if form.achievement_type.strip():
        definition["achievementType"] = form.achievement_type.strip()
    for label, key, value in (
        ("Credits", "creditsAvailable", form.credits),
        ("Learning hours", "learningHours", form.hours),
        ("ECTS", "ects", form.ects),
    ):
        amount = _number(value, label)
        if amount is not None:
            definition[key] = amount
    if form.level.strip():
        definition["level"] = form.level.strip()
    price, currency = form.price.strip().replace(",", "."), form.currency.strip().upper()
    if price or currency:
        if not (price and currency):
            raise Invalid("Price: give an amount and a currency (such as 49.00 and EUR)")
        definition["price"] = {"amount": price, "currency": currency}
    aligned = _alignments(form.alignments)
    if aligned:
        definition["alignment"] = aligned
    return definition


def validity_of(form: AchievementForm) -> int | None:
    text = form.validity_days.strip()
    if not text:
        return None
    if not text.isdigit():
        raise Invalid("Valid for: enter a whole number of days, or leave it empty")
    days = int(text)
    if not 0 < days <= achievements.MAX_VALIDITY_DAYS:
        raise Invalid(f"Valid for: from 1 to {achievements.MAX_VALIDITY_DAYS} days")
    return days


def key_of(form: AchievementForm) -> str:
    key = form.key.strip().lower() or slug(form.name)
    if not achievements.KEY.match(key):
        raise Invalid(
            "Key: lowercase letters, digits and hyphens (such as sql-fundamentals); "
            "leave it empty to derive it from the name"
        )
    return key


@dataclass(frozen=True, slots=True)
class Preview:
    """The Achievement JSON a form would publish, or why it cannot."""

    json: str = ""
    error: str = ""
    key: str = ""
    version: int = 0
    validity_days: int | None = None


def preview_of(found: Platform, who: Staff, form: AchievementForm) -> Preview:
    if form.blank:
        return Preview()
    try:
        url = achievements.achievement_url(found.base_url, "(assigned-when-published)")
        body = {**definition_of(form), "id": url}
        Achievement.from_json(body)  # the form's own problems first
        validity = validity_of(form)
        key = key_of(form)
        latest = found.achievements.latest(who.org.id, key)
        version = 1 if latest is None else latest.version + 1
        body["creator"] = profile_of(who.org, found.base_url).to_json()
        body["version"] = str(version)
        parsed = Achievement.from_json(body).to_json()
    except CredstackError as exc:
        return Preview(error=friendly(exc.message))
    return Preview(json_of(parsed), key=key, version=version, validity_days=validity)


def catalogue(found: Platform, who: Staff) -> list[dict[str, Any]]:
    """One entry per key: the latest version, whether published, how many versions."""
    by_key: dict[str, list[AchievementVersion]] = {}
    for record in found.achievements.of(who.org.id):
        by_key.setdefault(record.key, []).append(record)
    rows = []
    for key, versions in by_key.items():
        latest = versions[-1]
        rows.append(
            {
                "key": key,
                "record": latest,
                "name": latest.definition.get("name", key),
                "type": latest.definition.get("achievementType", ""),
                "credits": latest.definition.get("creditsAvailable"),
                "versions": len(versions),
                "published": [v for v in versions if v.published],
            }
        )
    return sorted(rows, key=lambda r: str(r["name"]).lower())


def _page(
    request: Request,
    who: Staff,
    found: Platform,
    form: AchievementForm,
    preview: Preview,
    error: str = "",
    status: int = 200,
) -> Response:
    return console_page(
        request,
        who,
        "console_achievements.html",
        "achievements",
        status,
        items=catalogue(found, who),
        form=form,
        preview=preview,
        error=error,
        types=TYPES,
    )


@router.get("/console/{slug}/achievements")
def list_achievements(request: Request, who: StaffDep, found: PlatformDep) -> Response:
    return _page(request, who, found, AchievementForm(), Preview())


@router.post("/console/{slug}/achievements/preview")
def preview(request: Request, who: StaffDep, found: PlatformDep, form: FormDep) -> Response:
    """The live preview (an htmx fragment)."""
    who.require(Scope.ACHIEVEMENTS_WRITE, "define achievements")
    return console_page(
        request,
        who,
        "_console_preview.html",
        "achievements",
        preview=preview_of(found, who, form),
        htmx=render.is_htmx(request),
    )


@router.post("/console/{slug}/achievements")
def define(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    form: FormDep,
    intent: Annotated[str, Form(max_length=20)] = "publish",
) -> Response:
    """Publish the form as a new achievement (or the next version of its key)."""
    who.require(Scope.ACHIEVEMENTS_WRITE, "define achievements")
    shown = preview_of(found, who, form)
    if intent == "preview":
        return _page(request, who, found, form, shown)
    if shown.error or form.blank:
        error = shown.error or "Fill in at least the name, the description and the criteria."
        return _page(request, who, found, form, shown, error, 422)
    try:
        record = achievements.define(
            found.achievements,
            who.org,
            key=shown.key,
            definition=definition_of(form),
            creator=profile_of(who.org, found.base_url),
            base_url=found.base_url,
            now=found.now(),
            validity_days=shown.validity_days,
        )
    except CredstackError as exc:
        return _page(request, who, found, form, shown, friendly(exc.message), 422)
    name = record.definition.get("name", record.key)
    return redirect(
        request,
        f"/console/{who.org.slug}/achievements",
        f"Published {name} (key {record.key}, version {record.version}).",
    )


@router.post("/console/{slug}/achievements/{achievement_id}/publish")
def publish(request: Request, achievement_id: str, who: StaffDep, found: PlatformDep) -> Response:
    """Publish a draft version (drafts come from the API)."""
    who.require(Scope.ACHIEVEMENTS_WRITE, "publish achievements")
    record = achievements.get(found.achievements, who.org, achievement_id)
    achievements.publish(found.achievements, record.id)
    return redirect(
        request,
        f"/console/{who.org.slug}/achievements",
        f"Published version {record.version} of {record.key}.",
    )
