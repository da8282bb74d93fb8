"""``credstack bench``: sign and verify one credential n times (same output as ``vc-js bench``)."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from credstack.cli.io import read_json
from credstack.crypto.keys import Key, read_key_file
from credstack.domain.errors import CredstackError
from credstack.services.issuing import ALL_FORMATS, sign
from credstack.services.verifying import VerifyOptions, verify

WARMUP = 5


def with_issuer(credential: Mapping[str, Any], controller: str) -> dict[str, Any]:
    copy = dict(credential)
    issuer = copy.get("issuer")
    copy["issuer"] = {**issuer, "id": controller} if isinstance(issuer, dict) else controller
    return copy


def measure(credential: Mapping[str, Any], key: Key, suite: str, n: int) -> dict[str, Any]:
    """Median milliseconds to sign and to verify, after a short warm-up."""
    base = with_issuer(credential, key.controller)
    options = VerifyOptions(now=datetime.now(UTC))
    issue_ms: list[float] = []
    verify_ms: list[float] = []
    for i in range(n + WARMUP):
        t0 = time.perf_counter()
        secured = sign(base, key, suite=suite, created=options.now)
        t1 = time.perf_counter()
        result = verify(secured, options)
        t2 = time.perf_counter()
        if not result.verified:
            failed = "; ".join(c.message for c in result.failed())
            raise CredstackError(f"credstack failed to verify its own credential: {failed}")
        if i >= WARMUP:
            issue_ms.append((t1 - t0) * 1000)
            verify_ms.append((t2 - t1) * 1000)
    return {
        "suite": suite,
        "n": n,
        "issue_ms_median": statistics.median(issue_ms),
        "verify_ms_median": statistics.median(verify_ms),
    }


def bench_command(
    key: Annotated[Path, typer.Option("--key", help="Key file.")],
    suite: Annotated[str, typer.Option(help=f"One of {' | '.join(ALL_FORMATS)}.")] = (
        "eddsa-rdfc-2022"
    ),
    n: Annotated[int, typer.Option("--n", min=1, help="Iterations to time.")] = 200,
    source: Annotated[str, typer.Argument(help="Unsigned credential; - for stdin.")] = "-",
) -> None:
    """Sign and verify the credential n times; print one JSON line of medians."""
    figures = measure(read_json(source, "credential"), read_key_file(key), suite, n)
    sys.stdout.write(json.dumps(figures) + "\n")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)
