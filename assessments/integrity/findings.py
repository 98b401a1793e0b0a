"""What the integrity checks report, and what a signature's reason names."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..models import Organisation
from ..report.record import LEGACY_FILE, RECORD_FILE, embedded_record
from ..report.verification import attached_files

# The signature's /Reason binds it to one record (signoff.approval_reason), in one of two formats:
# since record.json, in the document's language with the document id KB-<organisation>-<assessment>-r<n>:
#   "<meaning>: <organisation>, konsekvensbedömning KB-1-2-r1, SHA-256 för record.json <hex>"
#   "<meaning>: <organisation>, impact assessment KB-1-2-r1, SHA-256 of record.json <hex>"
# and, in documents sealed before it (answers.json; signoff.legacy_approval_reason):
#   "<meaning>: <organisation>, assessment <id> revision <n>, answers.json sha256 <hex>".
# The greedy ".*" takes the last document id, so an organisation name cannot pose as one.
_REASON_RE = re.compile(r".*\bKB-(\d+)-(\d+)-r(\d+), [^,\n]*\brecord\.json ([0-9a-f]{64})\Z", re.S)
_LEGACY_REASON_RE = re.compile(r"assessment (\d+) revision (\d+), answers\.json sha256 ([0-9a-f]{64})")


@dataclass(frozen=True)
class ReasonFields:
    """What a signature's reason names: the assessment, its revision, and the embedded record's hash."""

    assessment_id: int
    revision: int
    sha256: str
    record_file: str  # record.json, or answers.json in documents sealed before it
    organisation_id: int | None  # named only by the current format


@dataclass(frozen=True)
class ChainReport:
    organisation: Organisation
    events: int
    problems: list  # list[audit.ChainProblem]


@dataclass(frozen=True)
class Finding:
    kind: str  # MISSING, CHANGED, BAD SIGNATURE, … (printed as is)
    path: str  # the archive-relative path
    detail: str
    document_id: int | None = None  # the ArchivedDocument row, when the finding is about one


@dataclass(frozen=True)
class ArchiveReport:
    documents: int  # rows checked
    files: int  # files found in the archive
    findings: list[Finding]

    @property
    def problems(self) -> list[Finding]:
        """What is still wrong: an orphan or an incomplete write followed by a successful repair action is
        resolved, and a file in flight is no problem (yet)."""
        resolved = {f.path for f in self.findings if f.kind in REPAIR_ACTIONS}
        return [f for f in self.findings if f.kind not in REPAIR_ACTIONS and f.kind != IN_FLIGHT
                and not (f.kind in ("ORPHANED", INCOMPLETE) and f.path in resolved)]

    @property
    def in_flight(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == IN_FLIGHT]

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_reason(reason: str | None) -> ReasonFields | None:
    """The assessment, revision and record hash named in a signature's reason (either format), if any."""
    if match := _REASON_RE.match(reason or ""):
        return ReasonFields(int(match.group(2)), int(match.group(3)), match.group(4), RECORD_FILE,
                            int(match.group(1)))
    if match := _LEGACY_REASON_RE.search(reason or ""):
        return ReasonFields(int(match.group(1)), int(match.group(2)), match.group(3), LEGACY_FILE, None)
    return None


def attached_record(data: bytes) -> tuple[str, bytes] | None:
    """(file name, bytes) of the record the document carries: record.json, or answers.json before it."""
    return embedded_record(attached_files(data))


REPAIR_ACTIONS = frozenset({"REPAIRED", "QUARANTINED", "RECORDED"})
IN_FLIGHT = "IN FLIGHT"  # archive_check.py, "files in flight"
INCOMPLETE = "INCOMPLETE"
