"""Console: award one credential, and the organization's awards, newest first, each with
revoke (a reason, kept private to the issuer), suspend and unsuspend.

The status buttons post a small form; htmx swaps the award's card in place (its buttons
keep their ids, so the focus stays where it was), without JavaScript the list comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from credstack.domain.errors import CredstackError, Invalid, NotFound
from credstack.domain.platform import Award, Scope
from credstack.services import achievements, awards
from credstack.services.platform import Platform
from credstack.web.deps import PlatformDep, SessionDep
from credstack.web.pages import render
from credstack.web.pages.console import AnalyticsDep, Staff, StaffDep, console_page
from credstack.web.pages.session import PageRoute, csrf_protect, redirect

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
PER_PAGE: Final = 25
Text = Annotated[str, Form(max_length=500)]


@dataclass(frozen=True, slots=True)
class AwardView:
    """One award as the list shows it."""

    award: Award
    name: str

    @property
    def state(self) -> str:
        if self.award.revoked_at is not None:
            return "revoked"
        return "suspended" if self.award.suspended else "active"


def names_of(found: Platform, who: Staff) -> dict[str, str]:
    return {
        record.id: str(record.definition.get("name", record.key))
        for record in found.achievements.of(who.org.id)
    }


def view_of(award: Award, names: dict[str, str]) -> AwardView:
    if award.achievement_id is None:
        return AwardView(award, "Comprehensive Learner Record (CLR)")
    return AwardView(award, names.get(award.achievement_id, "achievement"))


def issuable(found: Platform, who: Staff) -> list[tuple[str, str]]:
    """(version id, name) of the latest published version of each achievement."""
    latest: dict[str, Any] = {}
    for record in found.achievements.of(who.org.id):
        if record.published:
            latest[record.key] = record
    options = [(r.id, str(r.definition.get("name", r.key))) for r in latest.values()]
    return sorted(options, key=lambda o: o[1].lower())


def _page(
    request: Request,
    who: Staff,
    found: Platform,
    reports: AnalyticsDep,
    number: int = 1,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    names = names_of(found, who)
    recent = reports.recent_awards(who.org.id, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    total = found.awards.count(who.org.id)
    return console_page(
        request,
        who,
        "console_awards.html",
        "awards",
        status,
        items=[view_of(a, names) for a in recent],
        total=total,
        number=number,
        pages=max(1, -(-total // PER_PAGE)),
        options=issuable(found, who),
        form=form or {"achievement": "", "recipient": "", "learner": ""},
        error=error,
    )


@router.get("/console/{slug}/awards")
def list_awards(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    reports: AnalyticsDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    return _page(request, who, found, reports, page)


@router.post("/console/{slug}/awards")
def award_one(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    db: SessionDep,
    reports: AnalyticsDep,
    achievement: Text = "",
    recipient: Text = "",
    learner: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Issue one credential to an email address or a DID (emailed to an address)."""
    who.require(Scope.AWARDS_ISSUE, "issue credentials")
    form = {"achievement": achievement, "recipient": recipient, "learner": learner}
    target = recipient.strip()
    try:
        if not achievement:
            raise Invalid("choose the achievement to award")
        if not target:
            raise Invalid("give the learner's email address or DID")
        record = achievements.get(found.achievements, who.org, achievement)
        request_ = awards.AwardRequest(
            recipient_email=None if target.startswith("did:") else target,
            recipient_did=target if target.startswith("did:") else None,
            learner_name=learner.strip() or None,
        )
        with db.begin_nested():
            awards.issue_award(found, awards.issuer_of(found, who.org), record, request_)
    except CredstackError as exc:
        return _page(request, who, found, reports, form=form, error=exc.message, status=422)
    name = record.definition.get("name", record.key)
    return redirect(request, f"/console/{who.org.slug}/awards", f"Issued {name} to {target}.")


def _own(found: Platform, who: Staff, award_id: str) -> Award:
    award = awards.find(found, award_id)
    if award.org_id != who.org.id:
        raise NotFound(f"no credential {award_id!r}")
    return award


def _changed(request: Request, who: Staff, found: Platform, award: Award, message: str) -> Response:
    """The award's card (htmx), else back to the list with a message."""
    if render.is_htmx(request):
        return console_page(
            request,
            who,
            "_console_award.html",
            "awards",
            item=view_of(award, names_of(found, who)),
            announce=message,
        )
    return redirect(request, f"/console/{who.org.slug}/awards", message)


@router.post("/console/{slug}/awards/{award_id}/revoke")
def revoke(
    request: Request, award_id: str, who: StaffDep, found: PlatformDep, reason: Text = ""
) -> Response:
    """Revoke for good, with a reason (private to the issuer)."""
    who.require(Scope.STATUS_WRITE, "revoke credentials")
    if not reason.strip():
        raise Invalid("give a reason for revoking (it stays private to your organization)")
    award = awards.revoke(found, _own(found, who, award_id), reason.strip())
    return _changed(request, who, found, award, f"Revoked the credential of {award.recipient}.")


@router.post("/console/{slug}/awards/{award_id}/suspend")
def suspend(request: Request, award_id: str, who: StaffDep, found: PlatformDep) -> Response:
    who.require(Scope.STATUS_WRITE, "suspend credentials")
    award = awards.suspend(found, _own(found, who, award_id))
    return _changed(request, who, found, award, f"Suspended the credential of {award.recipient}.")


@router.post("/console/{slug}/awards/{award_id}/unsuspend")
def unsuspend(request: Request, award_id: str, who: StaffDep, found: PlatformDep) -> Response:
    who.require(Scope.STATUS_WRITE, "reinstate credentials")
    award = awards.suspend(found, _own(found, who, award_id), suspended=False)
    return _changed(request, who, found, award, f"Reinstated the credential of {award.recipient}.")
