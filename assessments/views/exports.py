"""The inquiry bundle and JSON export/import of assessments (filled in by the export work)."""
from flask import Blueprint

bp = Blueprint("exports", __name__)
