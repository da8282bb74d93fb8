"""``credstack pathway ...``: stacking pathways.

``validate FILE`` checks a pathway (CTDL JSON-LD or credstack's own JSON) before publishing:
exit 0 and ``valid: <name> (N components, M milestones)`` when it can be published; exit 1
and one line per problem (``<code>: <message naming the component ids>``) when not; exit 2
with one ``credstack:`` line on stderr for unusable input (no file, not JSON, neither
format).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from credstack.cli.io import read_json
from credstack.domain.pathway_formats import parse_pathway
from credstack.domain.pathway_validation import validate

app = typer.Typer(
    name="pathway",
    help="Stackable pathways: check a pathway before publishing it.",
    no_args_is_help=True,
)


@app.command("validate")
def validate_command(
    file: Annotated[
        str, typer.Argument(help="Pathway: CTDL JSON-LD or credstack JSON; - for stdin.")
    ],
) -> None:
    """Check a pathway. Exit 0 valid, 1 problems (one line each), 2 unusable input."""
    pathway = parse_pathway(read_json(file, "pathway"))
    problems = validate(pathway)
    if problems:
        for problem in problems:
            sys.stdout.write(f"{problem.code}: {problem.message}\n")
        raise typer.Exit(1)
    components = len({c.id for c in pathway.components})
    milestones = len({m.id for m in pathway.milestones})
    sys.stdout.write(f"valid: {pathway.name} ({components} components, {milestones} milestones)\n")
