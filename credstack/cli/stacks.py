"""``credstack pathway import|publish|progress|export|whatif|enroll|sweep|verify``,
``credstack trust ...``, ``credstack articulation ...``, ``credstack learner ...``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from credstack.cli.context import platform
from credstack.cli.io import print_json, read_bytes, read_json
from credstack.cli.pathway import app as pathway_app
from credstack.services import awards, ledger, pathway_catalog, recognition, stacking
from credstack.services.organizations import org_by_slug
from credstack.services.stack_verify import verify_stack

OrgOption = Annotated[str, typer.Option("--org", help="Organization slug.")]
LearnerOption = Annotated[str, typer.Option("--learner", help="Learner email address or DID.")]
trust_app = typer.Typer(
    help="Issuers whose credentials count toward pathways.", no_args_is_help=True
)
articulation_app = typer.Typer(
    help="Articulation agreements: other issuers' credentials as credits.", no_args_is_help=True
)
learner_app = typer.Typer(help="Learners: imports, progress, credit ledgers.", no_args_is_help=True)


@pathway_app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(help="CTDL JSON-LD or credstack JSON; - for stdin.")],
    org: OrgOption,
    publish: Annotated[bool, typer.Option(help="Publish at once when valid.")] = False,
) -> None:
    """Store a pathway as the next version (a draft unless --publish), binding its
    achievements to the organization's catalogue. Exit 1 when it has problems."""
    data = read_json(file, "pathway")
    with platform() as found:
        record, problems = pathway_catalog.import_pathway(
            found, org_by_slug(found.orgs, org), data, publish=publish
        )
    state = "published" if record.published else "draft"
    typer.echo(f"{record.iri} version {record.version} ({state})")
    for problem in problems:
        sys.stdout.write(f"{problem.code}: {problem.message}\n")
    if problems:
        raise typer.Exit(1)


@pathway_app.command("publish")
def publish_command(
    iri: Annotated[str, typer.Argument(help="The pathway's id (IRI).")],
    org: OrgOption,
    version: Annotated[int | None, typer.Option(help="Default: the latest draft.")] = None,
) -> None:
    """Publish a draft version once it validates."""
    with platform() as found:
        record = pathway_catalog.publish_version(found, org_by_slug(found.orgs, org), iri, version)
    typer.echo(f"published {record.iri} version {record.version}")


@pathway_app.command("export")
def export_command(
    iri: Annotated[str, typer.Argument(help="The pathway's id (IRI).")],
    version: Annotated[int | None, typer.Option(help="Default: the latest published.")] = None,
    ctdl: Annotated[bool, typer.Option(help="CTDL JSON-LD (default) or credstack JSON.")] = True,
) -> None:
    """Print a pathway as CTDL JSON-LD (or credstack's JSON with --no-ctdl)."""
    with platform() as found:
        if ctdl:
            print_json(pathway_catalog.export_ctdl(found, iri, version))
        else:
            print_json(pathway_catalog.get_version(found, None, iri, version).definition)


@pathway_app.command("whatif")
def whatif_command(
    file: Annotated[str, typer.Argument(help="The draft pathway; - for stdin.")],
    org: OrgOption,
) -> None:
    """Who would newly complete, and who would lose completion, under this draft."""
    data = read_json(file, "pathway")
    with platform() as found:
        print_json(pathway_catalog.what_if_report(found, org_by_slug(found.orgs, org), data))


@pathway_app.command("progress")
def progress_command(
    learner: LearnerOption,
    iri: Annotated[str | None, typer.Argument(help="One pathway (default: every one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A learner's progress: each component earned, available or locked, credits, next steps."""
    with platform() as found:
        items = stacking.learner_progress(found, learner, [iri] if iri else None)
        shown = [stacking.progress_json(item) for item in items]
    if as_json:
        print_json(shown)
        return
    for item in shown:
        credits = f"{item['creditsCounted']:g}"
        if item["creditsRequired"]:
            credits += f" of {item['creditsRequired']:g}"
        typer.echo(
            f"{item['name']} v{item['version']}: {item['percent']}% ({credits} credits)"
            + (" complete" if item["complete"] else "")
        )
        for component in item["components"]:
            locked = f" (after {', '.join(component['lockedBy'])})" if component["lockedBy"] else ""
            typer.echo(f"  [{component['state']:>9}] {component['name']}{locked}")
        for milestone in item["milestones"]:
            mark = "met" if milestone["met"] else f"{milestone['percent']}%"
            typer.echo(f"  milestone {milestone['id']}: {mark}")
        if item["nextSteps"]:
            typer.echo("  next: " + ", ".join(s["name"] for s in item["nextSteps"]))


@pathway_app.command("enroll")
def enroll_command(
    iri: Annotated[str, typer.Argument(help="The pathway's id (IRI).")],
    learner: LearnerOption,
    version: Annotated[int | None, typer.Option(help="Default: the latest published.")] = None,
) -> None:
    """Move a learner to a version of a pathway (they keep theirs until they opt in)."""
    with platform() as found:
        enrollment = stacking.enroll(found, learner, iri, version)
    typer.echo(f"{enrollment.learner} follows {iri} version {enrollment.version}")


@pathway_app.command("sweep")
def sweep_command(
    learner: Annotated[str | None, typer.Option(help="One learner (default: all).")] = None,
) -> None:
    """Re-evaluate stacks (expiry has no event): issue, suspend or reinstate as needed."""
    with platform() as found:
        who = [recognition.learner_id(learner)] if learner else None
        changes = stacking.sweep(found, who)
    typer.echo(f"{changes} stack(s) changed")


@pathway_app.command("stacks")
def stacks_command(learner: LearnerOption) -> None:
    """The stacked credentials a learner holds, with their state."""
    with platform() as found:
        who = recognition.learner_id(learner)
        assert found.stacking is not None
        print_json(
            [
                stacking.stack_json(s, found.base_url)
                for s in found.stacking.stack_awards(learner=who)
            ]
        )


@pathway_app.command("verify")
def verify_command(
    reference: Annotated[
        str,
        typer.Argument(help="A file (- for stdin), or a credential URL or id of this platform."),
    ],
) -> None:
    """Verify a stack or CLR: every component, and the pathway version they must satisfy.
    Exit 0 verified, 1 not."""
    with platform() as found:
        if reference == "-" or Path(reference).exists():
            data = read_bytes(reference)
        else:
            data = awards.find(found, reference).document.encode("utf-8")
        result = verify_stack(found, data)
    print_json(result.to_json())
    if not result.verified:
        raise typer.Exit(1)


@trust_app.command("add")
def trust_add(
    issuer: Annotated[str, typer.Argument(help="The issuer's DID.")],
    org: OrgOption,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Accept this issuer's credentials toward the organization's pathways."""
    with platform() as found:
        recognition.trust_issuer(found, org_by_slug(found.orgs, org), issuer, name)
    typer.echo(f"{org} trusts {issuer}")


@trust_app.command("remove")
def trust_remove(issuer: Annotated[str, typer.Argument()], org: OrgOption) -> None:
    """Stop accepting this issuer's credentials."""
    with platform() as found:
        recognition.distrust_issuer(found, org_by_slug(found.orgs, org), issuer)
    typer.echo(f"{org} no longer trusts {issuer}")


@trust_app.command("list")
def trust_list(org: OrgOption) -> None:
    """The organization's trust list."""
    with platform() as found:
        assert found.stacking is not None
        rows = found.stacking.trusted(org_by_slug(found.orgs, org).id)
    print_json([{"issuer": t.issuer, "name": t.name} for t in rows])


@articulation_app.command("add")
def articulation_add(
    org: OrgOption,
    program: Annotated[str, typer.Option(help="The pathway IRI the credits count toward.")],
    issuer: Annotated[str, typer.Option(help="The other issuer's DID.")],
    credits: Annotated[float, typer.Option(help="Credits granted.")],
    achievement: Annotated[str | None, typer.Option(help="Their achievement id.")] = None,
    alignment: Annotated[str | None, typer.Option(help="Or: an alignment targetUrl.")] = None,
    note: Annotated[str | None, typer.Option(help="Shown in ledgers.")] = None,
) -> None:
    """Publish an agreement: that issuer's credential counts as N credits toward a program."""
    with platform() as found:
        agreement = recognition.add_articulation(
            found,
            org_by_slug(found.orgs, org),
            program=program,
            issuer=issuer,
            credits=credits,
            achievement_id=achievement,
            alignment=alignment,
            note=note,
        )
    typer.echo(f"agreement {agreement.id}: {credits:g} credits toward {program}")


@articulation_app.command("list")
def articulation_list(org: OrgOption) -> None:
    """The organization's articulation agreements."""
    with platform() as found:
        assert found.stacking is not None
        rows = found.stacking.articulations(org_by_slug(found.orgs, org).id)
    print_json(
        [
            {"id": a.id, "program": a.program, "issuer": a.issuer, "credits": a.credits,
             "achievement": a.achievement_id, "alignment": a.alignment, "note": a.note}
            for a in rows
        ]
    )  # fmt: skip


@learner_app.command("import")
def learner_import(
    file: Annotated[str, typer.Argument(help="JSON, VC-JWT or baked PNG/SVG; - for stdin.")],
    learner: LearnerOption,
) -> None:
    """Import another issuer's credential for a learner (verified first, kept only if valid)."""
    data = read_bytes(file)
    with platform() as found:
        imported = recognition.import_credential(found, learner, data)
        changes = stacking.sweep(found, [imported.learner])
    typer.echo(
        f"imported {imported.credential_id} from {imported.issuer}; {changes} stack(s) changed"
    )


@learner_app.command("ledger")
def learner_ledger(
    learner: LearnerOption,
    program: Annotated[str, typer.Option(help="The pathway IRI.")],
) -> None:
    """A learner's credits toward a program, across issuers."""
    with platform() as found:
        print_json(ledger.ledger(found, learner, program).to_json())


def register(app: typer.Typer) -> None:
    app.add_typer(trust_app, name="trust")
    app.add_typer(articulation_app, name="articulation")
    app.add_typer(learner_app, name="learner")
