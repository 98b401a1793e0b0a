"""Integrity checks of the audit trail and the archive, and their CLI commands.

``flask --app app audit verify``   re-computes every organisation's hash chain (``audit.verify_chain``).
``flask --app app archive verify`` checks every archived document against its row and its seal, and
lists files in the archive that no row refers to.

Both only read: they never change a row or a file, so an operator can run them at any time (e.g. from
cron) and act on the exit status. The functions below return findings; the commands print them.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .extensions import db
from .models import ArchivedDocument, Assessment, AuditEvent, Organisation

ANSWERS_FILE = "answers.json"

# The signature's /Reason binds it to one record (signoff.sign_approval):
# "<meaning>: <organisation>, assessment <id> revision <n>, answers.json sha256 <hex>".
_REASON_RE = re.compile(r"assessment (\d+) revision (\d+), answers\.json sha256 ([0-9a-f]{64})")


# -- audit trail -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    organisation: Organisation
    events: int
    problems: list  # list[audit.ChainProblem]


def check_audit_trails(organisation_slug: str | None = None) -> list[ChainReport]:
    from .audit import verify_chain

    query = select(Organisation).order_by(Organisation.id)
    if organisation_slug is not None:
        query = query.where(Organisation.slug == organisation_slug)
    reports = []
    for organisation in db.session.scalars(query).all():
        count = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.organisation_id == organisation.id))
        reports.append(ChainReport(organisation, count or 0, verify_chain(organisation.id)))
    return reports


# -- archive ---------------------------------------------------------------------------------------


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
    def ok(self) -> bool:
        return not self.findings


def parse_reason(reason: str | None) -> tuple[int, int, str] | None:
    """(assessment id, revision, answers.json sha256) named in a signature's reason, if any."""
    match = _REASON_RE.search(reason or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), match.group(3)


def _attached_answers_sha256(data: bytes) -> str | None:
    from .report.document import sha256_hex
    from .report.verification import attached_files

    answers = attached_files(data).get(ANSWERS_FILE)
    return None if answers is None else sha256_hex(answers)


def _check_document(row: ArchivedDocument, store, trust_roots: list) -> list[Finding]:
    from .archive import ArchiveError
    from .report.document import sha256_hex
    from .report.verification import verify_pdf

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
    answers_sha = _attached_answers_sha256(data)
    if answers_sha is None:
        findings.append(finding("NO ANSWERS", f"archived document {row.id}: no {ANSWERS_FILE} is attached"))
    elif answers_sha != row.answers_sha256:
        findings.append(finding("ANSWERS CHANGED", f"archived document {row.id}: the attached {ANSWERS_FILE} "
                                                   f"hashes to {answers_sha}, the record says "
                                                   f"{row.answers_sha256}"))
    named = parse_reason(report.reason)
    if report.reason is not None and (named is None or named[:2] != (row.assessment_id, row.revision)):
        findings.append(finding("WRONG RECORD", f"archived document {row.id} belongs to assessment "
                                                f"{row.assessment_id} revision {row.revision}, but its "
                                                f"signature reason says: {report.reason}"))
    return findings


def _repairable(relative_path: str, store, trust_roots: list) -> Finding:
    """Whether an orphaned file is a sealed report that could safely be linked to its record again.

    Safe means: the signature is valid against the seal of the organisation that owns the assessment
    named in the signature's reason, that assessment exists with that revision, no archived document is
    recorded for it, and the attached answers.json is the one the reason names. Nothing is changed.
    """
    from .archive import ArchiveError
    from .report.seal import SealError, load_certificate
    from .report.verification import verify_pdf
    from .signoff import seal_paths

    def no(detail: str) -> Finding:
        return Finding("NOT REPAIRABLE", relative_path, detail)

    try:
        data = store.read(relative_path)  # also checks the bytes against the hash in the file name
    except ArchiveError as exc:
        return no(str(exc))
    report = verify_pdf(data, trust_roots)
    if not report.valid:
        return no("the signature is not valid: " + " ".join(report.problems))
    named = parse_reason(report.reason)
    if named is None:
        return no("the file has no signature naming an assessment and revision")
    assessment_id, revision, answers_sha = named
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or assessment.revision != revision:
        return no(f"assessment {assessment_id} revision {revision} does not exist")
    recorded = db.session.scalars(select(ArchivedDocument).where(
        ArchivedDocument.assessment_id == assessment_id, ArchivedDocument.revision == revision)).first()
    if recorded is not None:
        return no(f"assessment {assessment_id} revision {revision} already has archived document "
                  f"{recorded.id} ({recorded.path})")
    p12, passfile = seal_paths(assessment.organisation)
    try:
        certificate = load_certificate(p12, passfile.read_bytes().strip() if passfile.exists() else None)
    except (SealError, OSError):
        return no(f"the seal of {assessment.organisation.name} cannot be loaded to check the signature")
    # Sealed by the seal of the organisation that owns the assessment, not just by any installed seal.
    report = verify_pdf(data, [certificate])
    if not report.valid:
        return no(f"the signature is not valid for {assessment.organisation.name}: " + " ".join(report.problems))
    if _attached_answers_sha256(data) != answers_sha:
        return no(f"the attached {ANSWERS_FILE} is not the one the signature names")
    return Finding("REPAIRABLE", relative_path,
                   f"validly sealed report of assessment {assessment_id} revision {revision} "
                   f"({assessment.organisation.name}) with no archive record; it can be linked to its record "
                   f"again (not done by this version: nothing was changed)")


def check_archive(*, repair: bool = False) -> ArchiveReport:
    from .signoff import archive, trusted_seal_certificates

    store = archive()
    trust_roots = trusted_seal_certificates()
    rows = db.session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).all()
    findings: list[Finding] = []
    for row in rows:
        findings.extend(_check_document(row, store, trust_roots))

    referenced = {row.path for row in rows}
    files = list(store.iter_files())
    for relative_path in files:
        if relative_path in referenced:
            continue
        findings.append(Finding("ORPHANED", relative_path, "no archived document record refers to this file"))
        if repair:
            findings.append(_repairable(relative_path, store, trust_roots))
    return ArchiveReport(documents=len(rows), files=len(files), findings=findings)


# -- commands --------------------------------------------------------------------------------------


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


@audit_group.command("verify")
@click.option("--organisation", "slug", metavar="SLUG", help="Check only this organisation (its slug).")
@with_appcontext
def audit_verify_command(slug: str | None) -> None:
    """Re-compute every organisation's audit hash chain; name each edited, deleted or reordered event.

    Exits 1 when any problem is found. Changes nothing.
    """
    reports = check_audit_trails(slug)
    if slug is not None and not reports:
        raise click.BadParameter(f"no organisation with the slug {slug!r}", param_hint="--organisation")
    problems = 0
    for report in reports:
        name = report.organisation.name
        if not report.problems:
            click.echo(f"OK: {name}: {report.events} events")
            continue
        for problem in report.problems:
            problems += 1
            event = f"event id {problem.event_id}" if problem.event_id is not None else "no event"
            click.echo(f"PROBLEM: {name} ({report.organisation.slug}): seq {problem.seq}, {event}: "
                       f"{problem.problem}")
    if problems:
        broken = sum(1 for report in reports if report.problems)
        click.echo(f"FAILED: {problems} problem(s) in {broken} organisation(s)")
        sys.exit(1)


@click.group("archive")
def archive_group() -> None:
    """The write-once archive of sealed reports."""


@archive_group.command("verify")
@click.option("--repair", is_flag=True,
              help="For each orphaned file, also report whether it could safely be linked to its record "
                   "again (REPAIRABLE): a validly sealed report whose signature names an existing "
                   "assessment revision that has no archive record. This version only reports it; it "
                   "does not change any file or row.")
@with_appcontext
def archive_verify_command(repair: bool) -> None:
    """Check every archived document: the file exists, its sha256 matches the record, its seal is valid
    and its attached answers.json matches the record; list files no record refers to (ORPHANED).

    Exits 1 when anything is wrong. Changes nothing, with or without --repair.
    """
    report = check_archive(repair=repair)
    for finding in report.findings:
        click.echo(f"{finding.kind}: {finding.path}: {finding.detail}")
    if report.ok:
        click.echo(f"OK: {report.documents} archived document(s) verified, no orphaned files")
        return
    problems = sum(1 for finding in report.findings if finding.kind not in ("REPAIRABLE", "NOT REPAIRABLE"))
    click.echo(f"FAILED: {problems} problem(s) in {report.documents} archived document(s) and "
               f"{report.files} file(s)")
    sys.exit(1)


def register(app: Flask) -> None:
    """Add the integrity commands to ``flask``."""
    app.cli.add_command(audit_group)
    app.cli.add_command(archive_group)
