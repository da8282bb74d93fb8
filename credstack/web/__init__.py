"""FastAPI adapter: ``create_app(settings)``."""
