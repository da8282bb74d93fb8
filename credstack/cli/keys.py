"""``credstack keys``: create and inspect signing keys."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from credstack.crypto.did import did_key_document
from credstack.crypto.keys import (
    Key,
    ed25519_from_seed,
    generate_ed25519,
    generate_rsa,
    read_key_file,
    write_key_file,
)
from credstack.domain.errors import Invalid

app = typer.Typer(help="Create and inspect signing keys.", no_args_is_help=True)


class KeyKind(StrEnum):
    ED25519 = "ed25519"
    RSA = "rsa"


@app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Key file to write (mode 0600).")],
    seed: Annotated[
        str | None, typer.Option(help="64 hex characters: a 32-byte Ed25519 seed.")
    ] = None,
    kind: Annotated[KeyKind, typer.Option("--type", help="Key type.")] = KeyKind.ED25519,
    force: Annotated[bool, typer.Option(help="Overwrite an existing key file.")] = False,
) -> None:
    """Create a key and print its did:key."""
    if out.exists() and not force:
        raise Invalid(f"{str(out)!r} exists; pass --force to overwrite it")
    key: Key
    if seed is not None:
        if kind is not KeyKind.ED25519:
            raise Invalid("--seed makes Ed25519 keys only")
        try:
            raw = bytes.fromhex(seed)
        except ValueError as exc:
            raise Invalid("--seed must be 64 hex characters") from exc
        if len(raw) != 32:
            raise Invalid("--seed must be 64 hex characters (32 bytes)")
        key = ed25519_from_seed(raw)
    else:
        key = generate_ed25519() if kind is KeyKind.ED25519 else generate_rsa()
    write_key_file(out, key)
    typer.echo(key.controller)


@app.command("show")
def show(
    key_file: Annotated[Path, typer.Argument(help="A key file.")],
) -> None:
    """Print the key's DID document (public parts only)."""
    key = read_key_file(key_file)
    if key.controller.startswith("did:key:"):
        typer.echo(json.dumps(did_key_document(key.controller), indent=2))
    else:
        typer.echo(json.dumps({"id": key.verification_method, "controller": key.controller}))
