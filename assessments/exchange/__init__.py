"""What leaves and enters the tool as files: the inquiry bundle (``bundle``), and the JSON export
(``export``) and import (``import_check`` reads and checks a file, ``import_write`` creates the draft).
The formats are specified in docs/exchange-format.md.

No Flask request code here: the views in ``views/exports.py`` parse the request and call these services.
Services flush and audit, never commit (the request boundary does).
"""
from __future__ import annotations

from .bundle import AUDIT_COLUMNS, AUDIT_FORMAT, BUNDLE_FILES, Bundle, BundleError, audit_trail_csv, inquiry_bundle
from .export import FORMAT, export_document, export_json
from .import_check import MAX_PROBLEMS, ImportPlan, ImportRejected, Problem, parse_import
from .import_write import import_assessment

__all__ = ["AUDIT_COLUMNS", "AUDIT_FORMAT", "BUNDLE_FILES", "FORMAT", "MAX_PROBLEMS", "Bundle", "BundleError",
           "ImportPlan", "ImportRejected", "Problem", "audit_trail_csv", "export_document", "export_json",
           "import_assessment", "inquiry_bundle", "parse_import"]
