"""Verification requests per second through the HTTP API on 127.0.0.1, with p99 latency.

Starts ``credstack serve --workers 2`` against a fresh database (SQLite file, and the
local PostgreSQL when reachable), issues one credential, then drives
``POST /credentials/verify`` from an asyncio client for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import os
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
DURATION = float(os.environ.get("BENCH_SECONDS", "8"))
CONCURRENCY = 16
ACHIEVEMENT = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}


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


async def _drive(url: str, body: dict[str, Any]) -> tuple[int, list[float]]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + DURATION
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(url, json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return errors, latencies


def measure(database_url: str) -> dict[str, Any]:
    port = _port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "CREDSTACK_DATABASE_URL": database_url,
            "CREDSTACK_BASE_URL": f"http://127.0.0.1:{port}",
            "CREDSTACK_SECRET_KEY": "bench-secret-bench-secret-bench-secret",
        }
        _run(env, "db", "upgrade")
        _run(env, "org", "create", "bench", "--name", "Bench College")
        definition = Path(folder) / "achievement.json"
        definition.write_text(json.dumps(ACHIEVEMENT))
        _run(env, "achievement", "create", "--org", "bench", "--key", "sql", str(definition))
        credential = json.loads(
            _run(
                env,
                "award",
                "--org",
                "bench",
                "--achievement",
                "sql",
                "--recipient-did",
                "did:example:learner",
            )
        )
        server = subprocess.Popen(
            [CREDSTACK, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            body = {"verifiableCredential": credential}
            errors, latencies = asyncio.run(_drive(f"{base}/credentials/verify", body))
        finally:
            server.terminate()
            server.wait(timeout=20)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / DURATION,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": p99,
    }


def main() -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        lanes = [("sqlite", f"sqlite:///{folder}/bench.db")]
        if postgres_available():
            lanes.append(("postgresql", _reset_pg_schema("credstack_bench_http")))
        for name, url in lanes:
            print(f"measuring HTTP verification on {name} for {DURATION:g} s …", file=sys.stderr)
            figures = measure(url)
            rows.append({"backend": name, **figures})
    return rows


if __name__ == "__main__":
    for row in main():
        print(json.dumps(row))
