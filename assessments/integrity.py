"""Integrity checks of the archive and the audit trail, and their CLI commands (filled in)."""
from flask import Flask


def register(app: Flask) -> None:
    """Add the integrity commands to ``flask``."""
