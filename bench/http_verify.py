"""Verification requests per second through the HTTP API on 127.0.0.1, with p50 and p99.

Starts the API with two worker processes (``uvicorn credstack.web.main:app --workers 2``,
uvloop and httptools, no access log: what ``credstack serve --workers 2`` runs, minus the
per-request log line) against a fresh database (SQLite file, and the local PostgreSQL when
reachable), issues one credential, warms the workers up, then drives ``POST
/credentials/verify`` for BENCH_SECONDS (default 10) with 16 keep-alive connections.

The load generator is ``wrk`` when it is installed (Debian: ``apt-get install -y wrk``;
one thread, a Lua script for the body and the percentiles), else an asyncio client in a
separate process (``python -m bench.http_verify --drive URL``). It shares the machine's
cores with the server, so what it costs is measured too (its CPU seconds per second of
run: ``loadgen_cores``). Every response must be 200 (a verified credential).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CREDSTACK = str(Path(sys.executable).parent / "credstack")
PG = os.environ.get("CREDSTACK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DURATION = float(os.environ.get("BENCH_SECONDS", "10"))
CONCURRENCY = 16
WORKERS = 2
#: Issue #6: 1,000 verifications per second over HTTP with two worker processes.
TARGET_RPS = 1000.0
ACHIEVEMENT = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "errors": %%d, "non_200": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CREDSTACK, *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _reset_pg_schema(schema: str) -> str:
    from sqlalchemy import create_engine, text  # noqa: PLC0415 - only the PG lane needs it

    engine = create_engine(PG, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{PG}?options=-csearch_path%3D{schema}"


# -- load generators -----------------------------------------------------------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wrk(url: str, body: str, folder: Path) -> dict[str, Any]:
    script = folder / "verify.lua"
    script.write_text(WRK_SCRIPT % body, "utf-8")
    command = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{DURATION:g}s", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
    found = json.loads(line)
    seconds = found["duration_us"] / 1e6
    return {
        "loadgen": "wrk -t1 -c16",
        "requests": found["requests"],
        "errors": found["errors"] + found["non_200"],
        "seconds": seconds,
        "p50_ms": found["p50_us"] / 1000,
        "p99_ms": found["p99_us"] / 1000,
    }


async def _drive_async(url: str, body: bytes) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"content-type": "application/json"}
    started = time.perf_counter()
    deadline = started + DURATION
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                begun = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - begun)
                if response.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    latencies.sort()
    return {
        "loadgen": "httpx asyncio client (separate process)",
        "requests": len(latencies),
        "errors": errors,
        "seconds": time.perf_counter() - started,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0.0,
    }


def _python_client(url: str, body: str, folder: Path) -> dict[str, Any]:
    payload = folder / "body.json"
    payload.write_text(body, "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bench.http_verify", "--drive", url, str(payload)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _load(url: str, body: str, folder: Path) -> dict[str, Any]:
    before = _children_cpu()
    drive = _wrk if shutil.which("wrk") else _python_client
    found = drive(url, body, folder)
    found["loadgen_cores"] = round((_children_cpu() - before) / found["seconds"], 2)
    return found


# -- one lane ------------------------------------------------------------------------------


def _server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "credstack.web.main:app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
        "--loop", "auto", "--http", "auto", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_until_up(base: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def measure(database_url: str) -> dict[str, Any]:
    port = _port()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = {
            **os.environ,
            "CREDSTACK_DATABASE_URL": database_url,
            "CREDSTACK_BASE_URL": f"http://127.0.0.1:{port}",
            "CREDSTACK_SECRET_KEY": "bench-secret-bench-secret-bench-secret",
            "CREDSTACK_MAIL_INTERVAL_SECONDS": "0",
        }
        _run(env, "db", "upgrade")
        _run(env, "org", "create", "bench", "--name", "Bench College")
        definition = folder / "achievement.json"
        definition.write_text(json.dumps(ACHIEVEMENT))
        _run(env, "achievement", "create", "--org", "bench", "--key", "sql", str(definition))
        award = ["award", "--org", "bench", "--achievement", "sql"]
        credential = json.loads(_run(env, *award, "--recipient-did", "did:example:learner"))
        body = json.dumps({"verifiableCredential": credential})
        server = _server(env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base)
            url = f"{base}/credentials/verify"
            headers = {"content-type": "application/json"}
            with httpx.Client(timeout=10) as client:  # both workers: contexts, caches
                for _ in range(50):
                    response = client.post(url, content=body, headers=headers)
                    assert response.status_code == 200, response.text
            found = _load(url, body, folder)
        finally:
            server.terminate()
            server.wait(timeout=20)
    found["rps"] = found["requests"] / found["seconds"]
    found["met"] = found["rps"] >= TARGET_RPS and found["errors"] == 0
    return found


def main() -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        lanes = [("sqlite", f"sqlite:///{folder}/bench.db")]
        if postgres_available():
            lanes.append(("postgresql", _reset_pg_schema("credstack_bench_http")))
        for name, url in lanes:
            print(f"measuring HTTP verification on {name} for {DURATION:g} s …", file=sys.stderr)
            figures = measure(url)
            print(f"  {json.dumps(figures)}", file=sys.stderr)
            rows.append({"backend": name, **figures})
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--drive":
        body = Path(sys.argv[3]).read_bytes()
        print(json.dumps(asyncio.run(_drive_async(sys.argv[2], body))))
    else:
        for row in main():
            print(json.dumps(row))
