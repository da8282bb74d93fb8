"""The issuer console: what every console page shares, and an organization's overview.

A signed-in person whose confirmed address is on an organization's staff list works in
``/console/{slug}`` with that role (decision 0014). What a role may do follows the API's
scopes (``domain.platform.ROLE_SCOPES``): a viewer reads; an issuer also defines
achievements and pathways, awards, revokes, suspends and bulk-issues; an owner also
rotates the signing key. Anything else answers the HTML 403 page. ``/console`` itself
(``pages.home``) lists the person's organizations (``console.html``).

Sections, one module each: ``console_achievements``, ``console_pathways``,
``console_awards``, ``console_bulk``, ``console_keys`` and ``analytics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from credstack.db.analytics import Analytics
from credstack.db.bulk_jobs import BulkJobs
from credstack.domain.platform import ROLE_SCOPES, Organization, Role, Scope
from credstack.web.deps import PlatformDep, SessionDep
from credstack.web.pages.session import (
    BrowserDep,
    PageError,
    PageRoute,
    UserDep,
    csrf_protect,
    page,
)

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)

#: (section, label, path under /console/{slug})
SECTIONS: Final = (
    ("overview", "Overview", ""),
    ("achievements", "Achievements", "/achievements"),
    ("pathways", "Pathways", "/pathways"),
    ("awards", "Awards", "/awards"),
    ("bulk", "Bulk issue", "/bulk"),
    ("keys", "Keys and status lists", "/keys"),
    ("analytics", "Analytics", "/analytics"),
)


@dataclass(frozen=True, slots=True)
class Staff:
    """The signed-in person as staff of one organization."""

    org: Organization
    role: Role

    def can(self, scope: Scope) -> bool:
        return scope in ROLE_SCOPES[self.role]

    def require(self, scope: Scope, doing: str) -> None:
        """Refuse (the HTML 403 page) unless the role allows ``scope``."""
        if not self.can(scope):
            raise PageError(
                403,
                "Not allowed",
                f"as {self.role.value} of {self.org.name} you cannot {doing}; "
                "ask an owner of the organization",
            )

    @property
    def may(self) -> Permissions:
        """What the templates offer this role."""
        return Permissions(
            define=self.can(Scope.ACHIEVEMENTS_WRITE),
            issue=self.can(Scope.AWARDS_ISSUE),
            status=self.can(Scope.STATUS_WRITE),
            bulk=self.can(Scope.BULK),
            pathways=self.can(Scope.PATHWAYS_WRITE),
            keys=self.can(Scope.ORG_WRITE),
        )


@dataclass(frozen=True, slots=True)
class Permissions:
    """define achievements, issue, change status, bulk-issue, edit pathways, rotate keys."""

    define: bool
    issue: bool
    status: bool
    bulk: bool
    pathways: bool
    keys: bool


def staff(slug: str, who: BrowserDep, _user: UserDep, found: PlatformDep) -> Staff:
    """The organization ``slug`` of the URL and the visitor's role there (else 403)."""
    membership = next((m for m in who.roles if m.slug == slug), None)
    org = found.orgs.by_slug(slug) if membership is not None else None
    if membership is None or org is None:
        raise PageError(
            403,
            "Not allowed",
            "this console is for the staff of the organization: its staff list does not "
            "name your (confirmed) email address",
        )
    return Staff(org, membership.role)


StaffDep = Annotated[Staff, Depends(staff)]


def analytics_store(db: SessionDep) -> Analytics:
    return Analytics(db)


AnalyticsDep = Annotated[Analytics, Depends(analytics_store)]


def console_page(
    request: Request, who: Staff, template: str, section: str, status: int = 200, **context: Any
) -> Response:
    """A console page: the organization, the role, the section navigation."""
    base = f"/console/{who.org.slug}"
    sections = [(name, label, base + path) for name, label, path in SECTIONS]
    return page(
        request,
        template,
        status,
        staff=who,
        org=who.org,
        may=who.may,
        section=section,
        sections=sections,
        console=base,
        **context,
    )


@router.get("/console/{slug}")
def overview(
    request: Request, who: StaffDep, found: PlatformDep, db: SessionDep, reports: AnalyticsDep
) -> Response:
    """The organization at a glance, with a way into every section."""
    org = who.org
    now = found.now()
    definitions = found.achievements.of(org.id)
    keys = {a.key for a in definitions}
    published_keys = {a.key for a in definitions if a.published}
    latest = {v.iri: v for v in reports.pathway_versions(org.id)}  # by version, last wins
    live = {v.iri for v in reports.pathway_versions(org.id) if v.published}
    signing = [k for k in found.keys.of(org.id) if k.active]
    summary = {
        "achievements": len(published_keys),
        "achievement_drafts": len(keys - published_keys),
        "awards": found.awards.count(org.id),
        "awards_30": found.awards.count(org.id, since=now - timedelta(days=30)),
        "pathways": len(live),
        "pathway_drafts": sum(1 for v in latest.values() if not v.published),
    }
    return console_page(
        request,
        who,
        "console_org.html",
        "overview",
        summary=summary,
        jobs=BulkJobs(db).of(org.id, limit=3),
        key=signing[-1] if signing else None,
    )
