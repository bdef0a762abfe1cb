"""Alembic environment and revisions for the Centralita schema."""
