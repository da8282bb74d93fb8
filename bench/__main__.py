"""``make bench``: sign and verify beside the reference JavaScript implementation.

Both sides sign and verify the same Open Badges 3.0 credential with the same key, one
core each, in the same run. Prints a table (figure, ours, reference, ratio) and writes
bench/results.json. Set BENCH_N to change the iteration count (default 200).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bulk, http_verify
from credstack.cli.bench import measure
from credstack.crypto.keys import ed25519_from_seed
from credstack.domain.achievements import Profile
from credstack.domain.credentials import RecipientDid, build_credential
from credstack.services.catalog import data_analyst_stack

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CREDSTACK_SHARED", ROOT.parent / "shared"))
SEED = "9b" * 32
TARGET_MS = {"eddsa-jcs-2022": 0.5, "vc-jwt": 0.5}


def sample_credential(controller: str) -> dict[str, Any]:
    """An OB 3.0 credential the reference can process too (only published contexts)."""
    component = data_analyst_stack("https://bench.credstack.example").components[1]
    plain = type(component)(
        id=component.id,
        name=component.name,
        description=component.description,
        criteria=component.criteria,
        achievement_type=component.achievement_type,
        alignments=component.alignments,
        credits_available=component.credits_available,
        tags=component.tags,
    )
    return build_credential(
        credential_id="urn:uuid:6a1b8f4e-6a61-4c53-9a4a-5d0f3e1c2b7a",
        issuer=Profile(id=controller, name="Bench College"),
        achievement=plain,
        recipient=RecipientDid("did:example:learner-42"),
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        credits_earned=1.0,
    )


def reference(suite: str, n: int, unsigned: dict[str, Any]) -> dict[str, Any] | None:
    installer = SHARED / "tools" / "vc-js" / "install.sh"
    if not installer.exists() or shutil.which("node") is None:
        print(f"  reference unavailable ({installer} or node missing)", file=sys.stderr)
        return None
    command = subprocess.run(
        ["bash", str(installer)], capture_output=True, text=True, check=True
    ).stdout.strip()
    done = subprocess.run(
        [*shlex.split(command), "bench", "--seed", SEED, "--suite", suite, "--n", str(n)],
        input=json.dumps(unsigned),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"  reference failed: {done.stderr.strip()}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    n = int(os.environ.get("BENCH_N", "200"))
    key = ed25519_from_seed(bytes.fromhex(SEED))
    unsigned = sample_credential(key.controller)
    rows: list[dict[str, Any]] = []
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022", "vc-jwt"):
        print(f"measuring {suite} (n={n}) …", file=sys.stderr)
        ours = measure(unsigned, key, suite, n)
        theirs = reference(suite, n, unsigned) if suite != "vc-jwt" else None
        for step in ("issue", "verify"):
            mine = ours[f"{step}_ms_median"]
            ref = theirs[f"{step}_ms_median"] if theirs else None
            rows.append(
                {
                    "figure": f"{suite} {step} ms (median)",
                    "ours": round(mine, 3),
                    "reference": round(ref, 3) if ref is not None else None,
                    "ratio": round(ref / mine, 2) if ref else None,
                    "target": _target(suite, mine, ref),
                }
            )
    rows.extend(http_rows())
    rows.extend(bulk_rows())
    _print(rows)
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps({"n": n, "rows": rows}, indent=2) + "\n", "utf-8")
    print(f"\nwrote {out.relative_to(ROOT)}")


def http_rows() -> list[dict[str, Any]]:
    """Verification over HTTP (2 worker processes): requests per second and p99."""
    rows: list[dict[str, Any]] = []
    for lane in http_verify.main():
        for figure, key in (("verify req/s", "rps"), ("verify p99 ms", "p99_ms")):
            rows.append(
                {
                    "figure": f"HTTP {figure} ({lane['backend']})",
                    "ours": round(lane[key], 3),
                    "reference": None,
                    "ratio": None,
                    "target": f"{lane['requests']} requests, {lane['errors']} errors",
                }
            )
    return rows


def bulk_rows() -> list[dict[str, Any]]:
    """Bulk issuing end to end (validate, store, sign, verify, store): credentials/s."""
    rows: list[dict[str, Any]] = []
    for lane in bulk.main():
        per_second = lane["per_second"]
        met = "met" if per_second >= bulk.TARGET_PER_SECOND else "MISSED"
        rows.append(
            {
                "figure": f"bulk cred/s ({lane['backend']}, {lane['rows']})",
                "ours": round(per_second, 3),
                "reference": None,
                "ratio": None,
                "target": f"100k in 60 s (#6): {met}; validate+store {lane['prepare_s']:.1f} s",
            }
        )
    return rows


def _target(suite: str, mine: float, ref: float | None) -> str:
    if suite in TARGET_MS:
        limit = TARGET_MS[suite]
        return f"< {limit} ms: {'met' if mine < limit else 'MISSED'}"
    if ref is None:
        return "reference unavailable"
    return f"≥ reference: {'met' if mine <= ref else 'MISSED'}"


def _print(rows: list[dict[str, Any]]) -> None:
    header = f"{'figure':<34} {'ours':>9} {'reference':>10} {'ratio':>7}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        ref = "—" if row["reference"] is None else f"{row['reference']:.3f}"
        ratio = "—" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        print(f"{row['figure']:<34} {row['ours']:>9.3f} {ref:>10} {ratio:>7}  {row['target']}")


if __name__ == "__main__":
    main()
