"""The reference vc-js (installed once per session) and the real ``credstack`` command.

``SHARED`` is the standards folder beside the repository (``<repo>/../shared``, or
``$CREDSTACK_SHARED``). The interop tests skip, with the reason, only when that folder or
``node`` is missing; a failing install fails the tests with the installer's stderr.
"""

from __future__ import annotations

import fcntl
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .support import CREDSTACK_CLI, SHARED, VCJS_INSTALL, Cli, Reference


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(
            f"the shared folder {SHARED} is missing: clone it beside the repository (as "
            "../shared) or point CREDSTACK_SHARED at it"
        )
    return SHARED


@pytest.fixture(scope="session")
def vcjs(shared: Path) -> Reference:
    """Install the reference with its own script (once per session) and return its command."""
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH, so the reference vc-js implementation cannot run")
    lock = Path(tempfile.gettempdir()) / "credstack-vcjs-install.lock"
    with lock.open("w") as handle:  # pytest-xdist workers install one at a time
        fcntl.flock(handle, fcntl.LOCK_EX)
        installed = subprocess.run(
            ["bash", str(VCJS_INSTALL)], capture_output=True, text=True, timeout=900, check=False
        )
    if installed.returncode != 0 or not installed.stdout.strip():
        pytest.fail(
            f"{VCJS_INSTALL} failed (exit {installed.returncode}):\n{installed.stderr}",
            pytrace=False,
        )
    return Reference(shlex.split(installed.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="session")
def cli() -> Cli:
    if not CREDSTACK_CLI.is_file():
        pytest.fail(f"the credstack command is not installed at {CREDSTACK_CLI}", pytrace=False)
    return Cli(CREDSTACK_CLI)
