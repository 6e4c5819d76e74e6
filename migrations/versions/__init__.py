"""Revision files, named ``YYYY-MM-DD_<slug>_<rev>.py``."""
