"""Checking the archive: every archived document against its row, its seal, its record and the evidence files
it embeds (report/embedded.py), and the files no row refers to (orphans, writes in flight, writes that never
finished)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..archive import ArchiveError
from ..extensions import db
from ..models import ArchivedDocument, Assessment
from ..report.embedded import check_evidence
from ..report.identity import sha256_hex
from ..report.record import check_embedded
from ..report.verification import embedded_files, verify_pdf
from ..signoff import archive, trusted_seal_certificates
from .findings import IN_FLIGHT, INCOMPLETE, ArchiveReport, Finding, attached_record, parse_reason
from .repair import quarantine_incomplete, repair_orphan


def _check_document(row: ArchivedDocument, store, trust_roots: list) -> list[Finding]:
    def finding(kind: str, detail: str) -> Finding:
        return Finding(kind, row.path, detail, row.id)

    try:
        path = store.path_for(row.path)
    except ArchiveError as exc:
        return [finding("INVALID PATH", str(exc))]
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return [finding("MISSING", f"archived document {row.id} of assessment {row.assessment_id} "
                                   f"revision {row.revision}: the file does not exist")]
    except OSError as exc:
        return [finding("UNREADABLE", f"archived document {row.id}: {exc.strerror or exc}")]

    findings = []
    actual = sha256_hex(data)
    if actual != row.sha256:
        findings.append(finding("CHANGED", f"archived document {row.id}: the file's sha256 is {actual}, "
                                           f"the record says {row.sha256}"))
    report = verify_pdf(data, trust_roots)
    if not report.valid:
        findings.append(finding("BAD SIGNATURE", f"archived document {row.id}: " + " ".join(report.problems)))
    attached = attached_record(data)
    if attached is None:
        findings.append(finding("NO RECORD", f"archived document {row.id}: neither record.json nor answers.json "
                                             f"is attached"))
    else:
        name, content = attached
        record_sha = sha256_hex(content)
        # answers_sha256 is the hash of whichever record the document embeds (docs/record-format.md).
        if record_sha != row.answers_sha256:
            findings.append(finding("RECORD CHANGED", f"archived document {row.id}: the attached {name} hashes "
                                                      f"to {record_sha}, the record says {row.answers_sha256}"))
        if problem := check_embedded(name, content):
            findings.append(finding("RECORD INVALID", f"archived document {row.id}: {problem}"))
    for problem in check_evidence(embedded_files(data)).problems:
        findings.append(finding("EVIDENCE", f"archived document {row.id}: {problem}"))
    named = parse_reason(report.reason)
    organisation_id = db.session.scalar(select(Assessment.organisation_id).where(Assessment.id == row.assessment_id))
    if report.reason is not None and (
            named is None or (named.assessment_id, named.revision) != (row.assessment_id, row.revision)
            or named.organisation_id not in (None, organisation_id)):
        findings.append(finding("WRONG RECORD", f"archived document {row.id} belongs to assessment "
                                                f"{row.assessment_id} revision {row.revision}, but its "
                                                f"signature reason says: {report.reason}"))
    return findings


# -- files in flight, and writes that never finished -----------------------------------------------
#
# With several nodes, `archive verify` (from cron on one of them) runs while approvals on the others are
# anywhere between writing the temporary file, linking it to its final name and committing the row that
# refers to it; a row is always committed after its file is linked (signoff.sign_approval). So the files
# are listed first and the rows read after: a file whose row commits in between is found with its row.
# A linked file no committed row refers to yet, or a temporary file, younger than ARCHIVE_IN_FLIGHT_SECONDS
# (config.py, 5 minutes: an approval takes seconds) belongs to an approval still under way: IN FLIGHT, no
# problem, never repaired, looked at again on the next run. Older, a linked file is ORPHANED (repaired as
# above) and a temporary file is INCOMPLETE: a write that never finished (the process died between creating
# it and removing it: a crash, a kill, a power cut); --repair moves it to quarantine/ with a note. A write
# that was in fact still going on then fails cleanly at its link (the temporary file is gone) and the
# approval is refused with nothing recorded.
# Ages are taken from the file's times (Archive.age): the nodes and the file server must keep their clocks
# in step (NTP); a skew of a few seconds does not matter against minutes.


def check_archive(*, repair: bool = False) -> ArchiveReport:
    """Check every archived document, list orphaned files and incomplete writes (files in flight apart). With
    ``repair``, first repair or quarantine each (committing once per orphan), then check every record, the
    repaired ones included."""
    store = archive()
    trust_roots = trusted_seal_certificates()
    grace = current_app.config["ARCHIVE_IN_FLIGHT_SECONDS"]
    findings: list[Finding] = []

    def ages(paths: list[str]) -> dict[str, float]:
        found = {}
        for path in paths:
            try:
                found[path] = store.age(path)
            except FileNotFoundError:  # its write finished (a temporary file) or it was quarantined meanwhile
                continue
        return found

    # Files first, then the rows (see above).
    files = list(store.iter_files())
    file_ages = ages(files)
    temporary = ages(list(store.iter_temporary_files()))
    referenced = set(db.session.scalars(select(ArchivedDocument.path)))
    for relative_path in files:
        if relative_path in referenced:
            continue
        seconds = file_ages.get(relative_path, 0.0)
        if seconds < grace:
            findings.append(Finding(IN_FLIGHT, relative_path,
                                    f"linked {seconds:.0f} s ago and no record refers to it yet: an approval "
                                    f"is probably still committing it (a problem if still so after {grace} s)"))
            continue
        findings.append(Finding("ORPHANED", relative_path, "no archived document record refers to this file"))
        if repair:
            findings.append(repair_orphan(relative_path, store, trust_roots))
    for relative_path, seconds in temporary.items():
        if seconds < grace:
            findings.append(Finding(IN_FLIGHT, relative_path, f"a temporary file written {seconds:.0f} s ago: "
                                                              f"an archive write is probably under way"))
            continue
        findings.append(Finding(INCOMPLETE, relative_path,
                                f"a temporary file of an archive write that never finished, last written "
                                f"{seconds / 60:.0f} minutes ago; no record refers to it"))
        if repair:
            findings.append(quarantine_incomplete(relative_path, store, seconds))
    rows = db.session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).all()
    checked: list[Finding] = []
    for row in rows:
        checked.extend(_check_document(row, store, trust_roots))
    return ArchiveReport(documents=len(rows), files=len(files), findings=checked + findings)
