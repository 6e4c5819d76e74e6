"""Alembic migrations of the control plane's schema (``cloudsense db upgrade``)."""
