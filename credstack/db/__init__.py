"""SQLAlchemy 2 adapter: tables, repositories, sessions and Alembic migrations."""
