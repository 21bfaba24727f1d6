"""SQLAlchemy 2 (async) implementation of the ports in `bot.ports`, with Alembic migrations."""
