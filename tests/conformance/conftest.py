"""Fixtures for the conformance tests.

``SHARED`` is the standards folder beside the repository (``<repo>/../shared``, or
``$CREDSTACK_SHARED``); every module here is skipped, with the reason, when it is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from credstack.crypto.loader import OfflineLoader, default_loader

from .support import SHARED, SHARED_MISSING, SPECS

__all__ = ["SHARED"]


@pytest.fixture(scope="session")
def shared() -> Path:
    """The standards folder (skips the test when it is missing)."""
    if not SPECS.is_dir():
        pytest.skip(SHARED_MISSING)
    return SHARED


@pytest.fixture(scope="session")
def loader() -> OfflineLoader:
    """credstack's own offline loader (its vendored contexts)."""
    return default_loader()
