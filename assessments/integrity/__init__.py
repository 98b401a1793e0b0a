"""Integrity checks of the audit trail and the archive, and their CLI commands.

``flask --app app audit verify``   re-computes every organisation's hash chain (``audit.verify_chain``).
``flask --app app archive verify`` checks every archived document against its row and its seal, and
lists files in the archive that no row refers to, and temporary files of writes that never finished.

Without ``--repair`` both only read: they never change a row or a file, so an operator can run them at
any time (e.g. from cron) and act on the exit status. ``archive verify --repair`` completes approvals that
were interrupted after archiving, or quarantines the file (see "repairing orphaned files" below). The
functions below return findings; the commands print them.
"""
from __future__ import annotations

from .archive_check import check_archive
from .commands import check_audit_trails, register
from .findings import ArchiveReport, ChainReport, Finding, ReasonFields, parse_reason
from .repair import repair_orphan

__all__ = ["ArchiveReport", "ChainReport", "Finding", "ReasonFields", "check_archive", "check_audit_trails",
           "parse_reason", "register", "repair_orphan"]
