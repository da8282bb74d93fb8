"""Paths and command wrappers shared by the interop tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SHARED = Path(os.environ.get("CREDSTACK_SHARED", Path(__file__).resolve().parents[3] / "shared"))
VCJS_INSTALL = SHARED / "tools" / "vc-js" / "install.sh"
CREDSTACK_CLI = Path(sys.executable).parent / "credstack"
_CONTEXTS_VAR = "VCJS_CONTEXTS="


@dataclass
class Reference:
    """The reference issuer/verifier command; every call starts one node process."""

    command: list[str]
    calls: list[list[str]] = field(default_factory=list)

    def run(
        self, *args: str, stdin: str, contexts: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``vc-js ARGS < stdin``; ``contexts`` replaces the folder of offline contexts."""
        command = list(self.command)
        if contexts is not None:
            replaced = [
                _CONTEXTS_VAR + str(contexts) if part.startswith(_CONTEXTS_VAR) else part
                for part in command
            ]
            if replaced == command:
                replaced = ["env", _CONTEXTS_VAR + str(contexts), *command]
            command = replaced
        self.calls.append(list(args))
        return subprocess.run(
            [*command, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
        )


@dataclass(frozen=True)
class Cli:
    """The installed ``credstack`` console script of this virtualenv."""

    path: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.path), *args], capture_output=True, text=True, timeout=120, check=False
        )
