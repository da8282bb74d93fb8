"""Console: an organization's analytics (``services.analytics``) as server-rendered SVG bar
charts, each with its numbers in a table and a CSV export.

``GET /console/{slug}/analytics`` is the page; ``GET /console/{slug}/analytics/{report}
?format=csv`` is one report as CSV (``text/csv``, written by the csv module; text that a
spreadsheet would run as a formula is prefixed with ``'``). Reports: ``awards-per-week``,
``funnels``, ``time-to-complete``, ``stacking``, ``expiring``. Every staff role may read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from credstack.services import analytics
from credstack.services.analytics import Report
from credstack.web.deps import PlatformDep
from credstack.web.pages.console import AnalyticsDep, StaffDep, console_page
from credstack.web.pages.console_charts import horizontal_bars, vertical_bars
from credstack.web.pages.session import PageError, PageRoute, csrf_protect, redirect

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(csrf_protect)], include_in_schema=False
)
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def _day(report: Report, index: int) -> str:
    return report.weeks[index].start.strftime("%Y-%m-%d")


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} days"


def _in_days(value: float) -> str:
    return f"{value:.1f} days"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def rows_of(name: str, report: Report) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of one report (the CSV and the page's tables)."""
    if name == "awards-per-week":
        return ["week_start", "credentials"], [
            [_day(report, i), w.count] for i, w in enumerate(report.weeks)
        ]
    if name == "funnels":
        rows = [
            [f.name, f.version, s.label, s.milestone or "", s.count]
            for f in report.funnels
            for s in f.steps
        ]
        return ["pathway", "version", "step", "milestone", "learners"], rows
    if name == "time-to-complete":
        rows = [
            [c.name, c.learners, "" if c.median_days is None else round(c.median_days, 2)]
            for c in report.completions
        ]
        return ["pathway", "completions", "median_days"], rows
    if name == "stacking":
        s = report.stacking
        share = "" if s.share is None else round(s.share, 4)
        return ["learners_with_1_or_more", "learners_with_2_or_more", "share"], [
            [s.learners, s.stacking, share]
        ]
    if name == "expiring":
        return ["within_days", "credentials"], [[e.days, e.count] for e in report.expiring]
    raise PageError(404, "Page not found", f"there is no report {name!r}")


REPORTS: Final = ("awards-per-week", "funnels", "time-to-complete", "stacking", "expiring")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def as_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def charts(report: Report) -> dict[str, Any]:
    """The SVG of every chart (funnels: one per pathway)."""
    weeks = report.weeks
    total = sum(w.count for w in weeks)
    busiest = max(weeks, key=lambda w: w.count) if weeks else None
    summary = f"{total} credentials issued in the last {len(weeks)} weeks."
    if busiest is not None and busiest.count:
        summary += f" The busiest week began {busiest.start:%d %B %Y} with {busiest.count}."

    def week(label: str, value: float) -> str:
        return f"Week of {label}: {value:g} credentials"

    weekly = vertical_bars(
        f"Credentials issued per week, last {len(weeks)} weeks",
        summary,
        [(w.start.strftime("%d %b"), w.count) for w in weeks],
        label_every=4,
        describe=week,
    )
    funnels = []
    for funnel in report.funnels:
        words = ", ".join(f"{s.label}: {s.count}" for s in funnel.steps)
        funnels.append(
            (
                funnel,
                horizontal_bars(
                    f"{funnel.name} (version {funnel.version}): learners at each step",
                    f"{words}.",
                    [(s.label, s.count) for s in funnel.steps],
                    maximum=max([s.count for s in funnel.steps] + [1]),
                ),
            )
        )
    timed = [c for c in report.completions if c.median_days is not None]
    completion = horizontal_bars(
        "Median days to complete each pathway",
        "; ".join(f"{c.name}: {_days(c.median_days)} over {c.learners} learners" for c in timed)
        or "Nobody has completed a pathway yet.",
        [(c.name, c.median_days or 0.0) for c in timed],
        value_text=_in_days,
    )
    stack = report.stacking
    stacking = horizontal_bars(
        "Learners by number of credentials",
        f"{stack.stacking} of {stack.learners} learners ({_share(stack.share)}) hold two or "
        "more credentials.",
        [("One credential", stack.learners - stack.stacking), ("Two or more", stack.stacking)],
        maximum=max(stack.learners, 1),
    )
    expiring = horizontal_bars(
        "Credentials expiring soon",
        ", ".join(f"{e.count} within {e.days} days" for e in report.expiring) + ".",
        [(f"Within {e.days} days", e.count) for e in report.expiring],
        maximum=max([e.count for e in report.expiring] + [1]),
    )
    return {
        "weekly": weekly,
        "funnels": funnels,
        "completion": completion,
        "stacking": stacking,
        "expiring": expiring,
    }


@router.get("/console/{slug}/analytics")
def analytics_page(
    request: Request, who: StaffDep, found: PlatformDep, reports: AnalyticsDep
) -> Response:
    report = analytics.report(reports, who.org, now=found.now(), base_url=found.base_url)
    tables = {name: rows_of(name, report) for name in REPORTS}
    return console_page(
        request,
        who,
        "analytics.html",
        "analytics",
        report=report,
        charts=charts(report),
        tables=tables,
        days=_days,
        share=_share,
    )


@router.get("/console/{slug}/analytics/{name}")
def export(
    request: Request,
    name: str,
    who: StaffDep,
    found: PlatformDep,
    reports: AnalyticsDep,
    format: Annotated[str, Query(pattern="^(csv|html)$")] = "html",
) -> Response:
    """One report as CSV (``?format=csv``); otherwise its place on the page."""
    if name not in REPORTS:
        raise PageError(404, "Page not found", f"there is no report {name!r}")
    if format != "csv":
        return redirect(request, f"/console/{who.org.slug}/analytics#{name}")
    report = analytics.report(reports, who.org, now=found.now(), base_url=found.base_url)
    header, rows = rows_of(name, report)
    filename = f"{who.org.slug}-{name}-{report.now:%Y-%m-%d}.csv"
    return Response(
        as_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
