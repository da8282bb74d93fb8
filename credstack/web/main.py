"""ASGI entry point for ``credstack serve`` and any ASGI server: ``credstack.web.main:app``."""

from __future__ import annotations

from credstack.settings import get_settings
from credstack.web.app import create_app

app = create_app(get_settings())
