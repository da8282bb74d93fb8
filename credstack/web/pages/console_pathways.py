"""Console: pathways. The list (published versions and drafts), CTDL or credstack JSON
import (paste or upload), a structured editor (``console_pathway_form``) with an advanced
JSON editor beside it, validation problems inline, a graph of the pathway (server-rendered
SVG, ``domain.pathway_graph`` + ``graph_svg``), the what-if report of a draft and
publishing it.

Importing and saving store the next version as a draft (``pathway_catalog.import_pathway``,
which binds each achievement the pathway names to the catalogue, creating those it lacks);
a draft is published from its page once it validates. While someone edits, htmx posts the
form to ``.../pathways/check`` (nothing stored) and swaps in the problems and the graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from credstack.domain.achievements import slug
from credstack.domain.errors import CredstackError, Invalid
from credstack.domain.pathway_formats import parse_pathway
from credstack.domain.pathway_graph import layout
from credstack.domain.pathway_json import from_json
from credstack.domain.pathways import Pathway
from credstack.domain.platform import Scope
from credstack.domain.requirement_base import Problem
from credstack.domain.stack_records import PathwayVersion
from credstack.services import pathway_catalog
from credstack.services.platform import Platform
from credstack.web.deps import PlatformDep, SessionDep
from credstack.web.pages import render
from credstack.web.pages.console import AnalyticsDep, Staff, StaffDep, console_page
from credstack.web.pages.console_achievements import TYPES
from credstack.web.pages.console_pathway_form import (
    RULES,
    PathwayForm,
    form_of,
    pathway_json,
    rows_of,
)
from credstack.web.pages.graph_svg import render_svg
from credstack.web.pages.session import PageRoute, csrf_protect, json_of, redirect

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
MAX_JSON: Final = 1_000_000
WHAT_IF_SHOWN: Final = 50
PathwayId = Annotated[str, Query(alias="id", max_length=500)]


@dataclass(frozen=True, slots=True)
class Checked:
    """A pathway as the editor sees it: its problems and its graph, or why it is unusable."""

    pathway: Pathway | None = None
    problems: tuple[Problem, ...] = ()
    error: str = ""
    svg: str = ""
    json: str = ""
    checked: bool = True

    @property
    def ok(self) -> bool:
        return self.pathway is not None and not self.problems and not self.error


NOT_CHECKED: Final = Checked(checked=False)


def checked(found: Platform, who: Staff, data: Any, shown_json: bool = False) -> Checked:
    """Parse ``data`` (CTDL or credstack JSON), bind it to the catalogue without creating
    anything, validate it and draw it."""
    text = json_of(data) if shown_json else ""
    try:
        pathway = pathway_catalog.bind(found, who.org, parse_pathway(data), create=False)
    except CredstackError as exc:
        return Checked(error=exc.message, json=text)
    problems = tuple(pathway_catalog.check(found, who.org, pathway))
    svg = render_svg(layout(pathway), title=f"Graph of {pathway.name}")
    return Checked(pathway, problems, svg=svg, json=text)


def catalogue(found: Platform, who: Staff) -> dict[str, dict[str, Any]]:
    """The achievements a component may name: stable URL -> latest published definition."""
    latest: dict[str, Any] = {}
    for record in found.achievements.of(who.org.id):
        if record.published:
            latest[record.key] = record
    options = {
        pathway_catalog.stable_id(found, record): dict(record.definition)
        for record in latest.values()
    }
    return dict(sorted(options.items(), key=lambda kv: str(kv[1].get("name", "")).lower()))


def _json_from(upload: UploadFile | None, text: str) -> Any:
    """The JSON of an uploaded file, else of the pasted text; Invalid when it is none."""
    raw: bytes | str = text
    if upload is not None and upload.filename:
        raw = upload.file.read(MAX_JSON + 1)
        if len(raw) > MAX_JSON:
            raise Invalid(f"the file is larger than {MAX_JSON // 1000} kB")
    if not raw.strip():
        raise Invalid("paste a pathway's JSON or choose a file")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"this is not JSON: {exc}") from None


async def posted(request: Request) -> dict[str, str]:
    """Every text field of the posted form (the editor's rows are numbered fields)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


PostedDep = Annotated[dict[str, str], Depends(posted)]


def _groups(versions: list[PathwayVersion]) -> list[dict[str, Any]]:
    by_iri: dict[str, list[PathwayVersion]] = {}
    for version in versions:
        by_iri.setdefault(version.iri, []).append(version)
    rows = []
    for iri, found in by_iri.items():
        found.sort(key=lambda v: v.version)
        live = [v for v in found if v.published]
        rows.append(
            {
                "iri": iri,
                "name": found[-1].name,
                "latest": found[-1],
                "published": live[-1] if live else None,
                "draft": found[-1] if not found[-1].published else None,
                "count": len(found),
            }
        )
    return sorted(rows, key=lambda r: (str(r["name"]).lower(), r["iri"]))


def _list_page(
    request: Request,
    who: Staff,
    reports: AnalyticsDep,
    *,
    text: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    return console_page(
        request,
        who,
        "console_pathways.html",
        "pathways",
        status,
        pathways=_groups(reports.pathway_versions(who.org.id)),
        text=text,
        error=error,
        check=NOT_CHECKED,
    )


@router.get("/console/{slug}/pathways")
def list_pathways(request: Request, who: StaffDep, reports: AnalyticsDep) -> Response:
    return _list_page(request, who, reports)


@router.post("/console/{slug}/pathways/import")
def import_pathway(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    db: SessionDep,
    reports: AnalyticsDep,
    upload: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form(max_length=MAX_JSON)] = "",
) -> Response:
    """Store the pasted or uploaded pathway as the next version (a draft)."""
    who.require(Scope.PATHWAYS_WRITE, "import pathways")
    try:
        data = _json_from(upload, text)
        with db.begin_nested():  # binding may have created achievements: undo them too
            record, problems = pathway_catalog.import_pathway(found, who.org, data)
    except CredstackError as exc:
        return _list_page(request, who, reports, text=text, error=exc.message, status=422)
    return _saved(request, who, record, problems)


def _saved(
    request: Request, who: Staff, record: PathwayVersion, problems: list[Problem]
) -> Response:
    note = (
        f" It has {len(problems)} problem{'s' if len(problems) != 1 else ''} to fix before "
        "it can be published."
        if problems
        else " It validates: check the what-if report, then publish it."
    )
    return redirect(
        request,
        _view_url(who, record.iri, record.version),
        f"Saved {record.name} version {record.version} as a draft.{note}",
    )


def _view_url(who: Staff, iri: str, version: int) -> str:
    return f"/console/{who.org.slug}/pathways/view?{_query(iri, version)}"


def _query(iri: str, version: int | None = None) -> str:
    params: dict[str, str | int] = {"id": iri}
    if version is not None:
        params["version"] = version
    return urlencode(params)


# --- the structured editor -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Editor:
    form: PathwayForm
    json: str = ""
    json_only: bool = False
    editing: bool = False
    check: Checked = field(default_factory=lambda: NOT_CHECKED)
    error: str = ""


def _editor_page(
    request: Request, who: Staff, found: Platform, editor: Editor, status: int = 200
) -> Response:
    return console_page(
        request,
        who,
        "console_pathway_editor.html",
        "pathways",
        status,
        editor=editor,
        form=editor.form,
        check=editor.check,
        options=catalogue(found, who),
        types=TYPES,
        rules=RULES,
    )


@router.get("/console/{slug}/pathways/new")
def editor(request: Request, who: StaffDep, found: PlatformDep, iri: PathwayId = "") -> Response:
    """The editor: empty, or (``?id=``) the latest version of a pathway."""
    who.require(Scope.PATHWAYS_WRITE, "edit pathways")
    if not iri:
        return _editor_page(request, who, found, Editor(PathwayForm().with_rows(3, 1)))
    record = pathway_catalog.get_version(found, who.org, iri, _latest(found, iri))
    form = rows_of(record.definition)
    shown = json_of(record.definition)
    check = checked(found, who, record.definition)
    if form is None:
        blank = PathwayForm(iri=iri, name=record.name)
        return _editor_page(
            request, who, found, Editor(blank, shown, json_only=True, editing=True, check=check)
        )
    return _editor_page(
        request, who, found, Editor(form.with_rows(1, 1), shown, editing=True, check=check)
    )


def _latest(found: Platform, iri: str) -> int | None:
    versions = pathway_catalog.store(found).pathway_versions(iri)
    return versions[-1].version if versions else None


def _iri_of(found: Platform, who: Staff, form: PathwayForm) -> str:
    if form.iri.strip():
        return form.iri.strip()
    key = slug(form.key) or slug(form.name)
    if not key:
        raise Invalid("give the pathway a name")
    return pathway_catalog.pathway_url(found.base_url, who.org.slug, key)


def _from_form(found: Platform, who: Staff, form: PathwayForm) -> dict[str, Any]:
    return pathway_json(form, _iri_of(found, who, form), catalogue(found, who))


@router.post("/console/{slug}/pathways/editor")
def edit(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    db: SessionDep,
    fields: PostedDep,
) -> Response:
    """The structured form: add rows, check, or save as the next draft version."""
    who.require(Scope.PATHWAYS_WRITE, "edit pathways")
    form = form_of(fields)
    intent = fields.get("intent", "check")
    editing = bool(form.iri.strip())
    if intent == "add_component":
        return _editor_page(request, who, found, Editor(form.with_rows(1, 0), editing=editing))
    if intent == "add_milestone":
        return _editor_page(request, who, found, Editor(form.with_rows(0, 1), editing=editing))
    try:
        data = _from_form(found, who, form)
    except CredstackError as exc:
        problem = Checked(error=exc.message)
        return _editor_page(
            request,
            who,
            found,
            Editor(form, editing=editing, check=problem, error=exc.message),
            422,
        )
    check = checked(found, who, data)
    if intent != "save":
        return _editor_page(
            request, who, found, Editor(form, json_of(data), editing=editing, check=check)
        )
    try:
        with db.begin_nested():
            record, problems = pathway_catalog.import_pathway(found, who.org, data)
    except CredstackError as exc:
        shown = Editor(form, json_of(data), editing=editing, check=check, error=exc.message)
        return _editor_page(request, who, found, shown, 422)
    return _saved(request, who, record, problems)


@router.post("/console/{slug}/pathways/check")
def check(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    fields: PostedDep,
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Problems and graph of what is being edited (an htmx fragment; nothing stored)."""
    who.require(Scope.PATHWAYS_WRITE, "edit pathways")
    try:
        if fields.get("source") == "form":
            data = _from_form(found, who, form_of(fields))
            result = checked(found, who, data, shown_json=True)
        else:
            result = checked(found, who, _json_from(upload, fields.get("text", "")))
    except CredstackError as exc:
        result = Checked(error=exc.message)
    return console_page(
        request,
        who,
        "_console_pathway_check.html",
        "pathways",
        check=result,
        htmx=render.is_htmx(request),
    )


# --- one version: problems, graph, what-if, publish -------------------------------------


@router.get("/console/{slug}/pathways/view")
def view(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    iri: PathwayId,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    record = pathway_catalog.get_version(found, who.org, iri, version or _latest(found, iri))
    pathway = from_json(record.definition)
    problems = () if record.published else tuple(pathway_catalog.check(found, who.org, pathway))
    svg = render_svg(layout(pathway), title=f"Graph of {record.name}, version {record.version}")
    report = None
    if not record.published:
        report = pathway_catalog.what_if_report(found, who.org, record.definition)
    return console_page(
        request,
        who,
        "console_pathway.html",
        "pathways",
        record=record,
        pathway=pathway,
        check=Checked(pathway, problems, svg=svg),
        versions=pathway_catalog.store(found).pathway_versions(iri),
        what_if=report,
        shown=WHAT_IF_SHOWN,
        query=_query(iri),
        definition=json_of(record.definition),
    )


@router.post("/console/{slug}/pathways/publish")
def publish(
    request: Request,
    who: StaffDep,
    found: PlatformDep,
    iri: Annotated[str, Form(alias="id", max_length=500)],
    version: Annotated[int, Form(ge=1)],
) -> Response:
    """Publish a draft that validates (learners enrol under it from now on)."""
    who.require(Scope.PATHWAYS_WRITE, "publish pathways")
    record = pathway_catalog.publish_version(found, who.org, iri, version)
    return redirect(
        request,
        _view_url(who, record.iri, record.version),
        f"Published {record.name} version {record.version}.",
    )
