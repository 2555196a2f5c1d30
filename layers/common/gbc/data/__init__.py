"""Persistence: SQLAlchemy models, the per-container engine and the one way to run a transaction."""
