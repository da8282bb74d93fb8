"""``make bench``: sign and verify beside the reference JavaScript implementation.

Both sides sign and verify the same Open Badges 3.0 credential with the same key, one
core each, in the same run. Prints a table (figure, ours, reference, ratio) and writes
bench/results.json. Set BENCH_N to change the iteration count (default 200).
It also checks the fast RDFC path against pyld on the 10,000-credential corpus
(tests/conformance/test_fast_corpus.py; BENCH_CORPUS=0 skips that).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bulk, http_verify, stacking, web_pages
from credstack.cli.bench import measure
from credstack.crypto.canonical import fast_quads
from credstack.crypto.keys import ed25519_from_seed
from credstack.crypto.loader import default_loader
from credstack.domain.achievements import Profile
from credstack.domain.credentials import RecipientDid, build_credential
from credstack.services.catalog import data_analyst_stack

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CREDSTACK_SHARED", ROOT.parent / "shared"))
SEED = "9b" * 32
TARGET_MS = {"eddsa-jcs-2022": 0.5, "vc-jwt": 0.5}
TARGET_RATIO = {"eddsa-rdfc-2022": 10.0}
CORPUS = ROOT / "tests" / "conformance" / "test_fast_corpus.py"


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
    if fast_quads(unsigned, default_loader()) is None:
        print("  warning: the sample credential takes the general RDFC path", file=sys.stderr)
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
    rows.extend(corpus_rows())
    rows.extend(http_rows())
    rows.extend(bulk_rows())
    rows.extend(stacking.main(int(os.environ.get("BENCH_LEARNERS", "100000"))))
    rows.extend(web_pages.main())
    _print(rows)
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps({"n": n, "rows": rows}, indent=2) + "\n", "utf-8")
    print(f"\nwrote {out.relative_to(ROOT)}")


def corpus_rows() -> list[dict[str, Any]]:
    """#6 target 2: the fast RDFC path gives pyld's bytes on the full corpus."""
    if os.environ.get("BENCH_CORPUS") == "0":
        return []
    print("checking the fast RDFC path on the 10,000-credential corpus …", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "corpus.json"
        environment = {
            **os.environ,
            "CREDSTACK_FULL_CORPUS": "1",
            "CREDSTACK_CORPUS_REPORT": str(report),
        }
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CORPUS)],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        counts: dict[str, int] = json.loads(report.read_text("utf-8")) if report.exists() else {}
    if done.returncode != 0:
        print(done.stdout[-4000:], file=sys.stderr)
    generated = counts.get("generated credentials", 0)
    spec = counts.get("spec documents", 0)
    met = done.returncode == 0 and generated >= 10_000
    return [
        {
            "figure": "fast path corpus: docs identical",
            "ours": generated + spec,
            "reference": None,
            "ratio": None,
            "target": f"byte-identical (#6): {'met' if met else 'MISSED'}; {generated} generated "
            f"OB/CLR, {spec} spec ({counts.get('spec documents on the fast path', 0)} fast, "
            f"{counts.get('spec documents refused alike', 0)} refused alike)",
        }
    ]


def http_rows() -> list[dict[str, Any]]:
    """Verification over HTTP (2 worker processes): requests per second and p99 (#6: at
    least 1,000 per second)."""
    rows: list[dict[str, Any]] = []
    for lane in http_verify.main():
        backend, rps = lane["backend"], lane["rps"]
        loadgen = f"{lane['loadgen']} ({lane['loadgen_cores']} cores)"
        rows.append(
            {
                "figure": f"HTTP verify req/s ({backend})",
                "ours": round(rps, 1),
                "reference": http_verify.TARGET_RPS,
                "ratio": round(rps / http_verify.TARGET_RPS, 2),
                "target": f"≥ 1000/s (#6): {'met' if lane['met'] else 'MISSED'}; {loadgen}",
            }
        )
        rows.append(
            {
                "figure": f"HTTP verify p50/p99 ms ({backend})",
                "ours": round(lane["p99_ms"], 2),
                "reference": None,
                "ratio": None,
                "target": f"p50 {lane['p50_ms']:.2f} ms; {lane['requests']} requests, "
                f"{lane['errors']} errors",
            }
        )
    return rows


def bulk_rows() -> list[dict[str, Any]]:
    """Bulk issuing end to end (read, validate, store, sign, check, store, queue emails):
    seconds for BENCH_BULK_ROWS rows against the 60 s of #6, and peak memory."""
    rows: list[dict[str, Any]] = []
    for lane in bulk.main():
        backend, seconds = lane["backend"], lane["total_s"]
        scaled = seconds * bulk.TARGET_ROWS / lane["rows"]
        met = "met" if lane["met"] else "MISSED"
        hook = "" if lane["stacking_hook"] else ", no stacking hook"
        rows.append(
            {
                "figure": f"bulk {lane['rows']} rows s ({backend}{hook})",
                "ours": round(seconds, 2),
                "reference": bulk.TARGET_SECONDS,
                "ratio": round(bulk.TARGET_SECONDS / scaled, 2),
                "target": f"100k in ≤ 60 s (#6): {met}; {lane['per_second']:.0f} rows/s, "
                f"{lane['signing_processes']} signing processes",
            }
        )
        rows.append(
            {
                "figure": f"bulk peak RSS MB ({backend})",
                "ours": lane["peak_rss_parent_mb"],
                "reference": None,
                "ratio": None,
                "target": f"runner; largest signing process {lane['peak_rss_worker_mb']} MB",
            }
        )
    return rows


def _target(suite: str, mine: float, ref: float | None) -> str:
    if suite in TARGET_RATIO and ref is not None:
        factor = TARGET_RATIO[suite]
        return f"≥ {factor:g}x reference (#6): {'met' if ref >= factor * mine else 'MISSED'}"
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
