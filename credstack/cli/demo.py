"""``credstack demo`` (``make run``): issue, verify and bake the seed stack end to end."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from credstack.crypto.keys import generate_ed25519, read_key_file, write_key_file
from credstack.domain import baking
from credstack.domain.achievements import Profile
from credstack.domain.credentials import RecipientEmail, build_credential
from credstack.services.catalog import data_analyst_stack
from credstack.services.issuing import sign
from credstack.services.verifying import VerifyOptions, verify


def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the demo files.")] = Path("var/demo"),
    learner: Annotated[str, typer.Option(help="Learner email.")] = "ada@example.org",
) -> None:
    """Issue the data-analytics stack to a learner, verify each credential, bake one."""
    console = Console(highlight=False, emoji=False)
    out.mkdir(parents=True, exist_ok=True)
    key_path = out / "issuer-key.json"
    if not key_path.exists():
        write_key_file(key_path, generate_ed25519())
    key = read_key_file(key_path)
    issuer = Profile(id=key.controller, name="credstack Demo College", url="https://example.edu")
    stack = data_analyst_stack("https://demo.credstack.example")
    now = datetime.now(UTC).replace(microsecond=0)
    options = VerifyOptions(now=now)
    table = Table(title=f"Issued to {learner} by {issuer.name}")
    for column in ("step", "credential", "hours", "credits", "verified", "file"):
        table.add_column(column)
    achievements = [*stack.components, stack.certificate]
    for step, achievement in enumerate(achievements, start=1):
        issued_at = now - timedelta(days=30 * (len(achievements) - step))
        credential = build_credential(
            credential_id=f"urn:uuid:{uuid.uuid4()}",
            issuer=issuer,
            achievement=achievement,
            recipient=RecipientEmail(learner, secrets.token_hex(8)),
            valid_from=issued_at,
            valid_until=issued_at + timedelta(days=730),
            awarded_date=issued_at,
            credits_earned=achievement.credits_available,
        )
        signed = sign(credential, key, created=now)
        result = verify(signed, options)
        path = out / f"{step}-{achievement.id.rsplit('/', 1)[-1]}.json"
        path.write_text(json.dumps(signed, indent=2) + "\n", "utf-8")
        table.add_row(
            str(step),
            achievement.name,
            f"{achievement.learning_hours or 0:g}",
            f"{achievement.credits_available or 0:g}",
            "[green]yes[/]" if result.verified else f"[red]no: {result.failed()[0].code}[/]",
            str(path),
        )
        last = json.dumps(signed)
    badge = out / "data-analyst-certificate.png"
    badge.write_bytes(baking.bake(baking.demo_badge_png("Data Analyst"), last))
    baked = verify(badge.read_bytes(), options)
    console.print(table)
    console.print(f"Issuer DID: {key.controller}  (key in {key_path}, mode 0600)")
    console.print(
        f"Baked the certificate into {badge}: "
        + ("[green]verifies[/]" if baked.verified else "[red]does not verify[/]")
    )
    console.print(f"Try: .venv/bin/credstack verify {badge}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
