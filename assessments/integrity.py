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

import json
import re
import sys
from dataclasses import dataclass

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import ArchivedDocument, Assessment, AuditEvent, Organisation, Role, Status, User

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
    from .report.record import LEGACY_FILE, RECORD_FILE

    if match := _REASON_RE.match(reason or ""):
        return ReasonFields(int(match.group(2)), int(match.group(3)), match.group(4), RECORD_FILE,
                            int(match.group(1)))
    if match := _LEGACY_REASON_RE.search(reason or ""):
        return ReasonFields(int(match.group(1)), int(match.group(2)), match.group(3), LEGACY_FILE, None)
    return None


def _attached_record(data: bytes) -> tuple[str, bytes] | None:
    """(file name, bytes) of the record the document carries: record.json, or answers.json before it."""
    from .report.record import embedded_record
    from .report.verification import attached_files

    return embedded_record(attached_files(data))


def _check_document(row: ArchivedDocument, store, trust_roots: list) -> list[Finding]:
    from .archive import ArchiveError
    from .report.identity import sha256_hex
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
    from .report.record import check_embedded

    attached = _attached_record(data)
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
    named = parse_reason(report.reason)
    organisation_id = db.session.scalar(select(Assessment.organisation_id).where(Assessment.id == row.assessment_id))
    if report.reason is not None and (
            named is None or (named.assessment_id, named.revision) != (row.assessment_id, row.revision)
            or named.organisation_id not in (None, organisation_id)):
        findings.append(finding("WRONG RECORD", f"archived document {row.id} belongs to assessment "
                                                f"{row.assessment_id} revision {row.revision}, but its "
                                                f"signature reason says: {report.reason}"))
    return findings


# -- repairing orphaned files ----------------------------------------------------------------------
#
# An orphan is what a crash leaves between the two halves of an approval (signoff.sign_approval): the
# sealed file is durable in the archive *before* the transaction that records it commits, so a process
# killed in between leaves a file no row refers to, and the assessment still in review (the database never
# saw the transaction; the claim on the row was rolled back with it).
#
# ``--repair`` completes such an approval only when the file proves, on its own and against the database
# as it is now, that it is exactly what that approval would have recorded:
#   * the bytes match the hash in the file name, and the PAdES seal is valid for the seal of the
#     organisation that owns the assessment named in the signature's reason (not just any installed seal);
#   * that assessment still exists at that revision, is still IN REVIEW and has no archived document;
#   * the reason is word for word what sign_approval writes for it (in the format of the record it names),
#     and the attached record and the record built from the assessment *as it is now* hash to the sha256 in
#     the reason: nothing changed since sealing. For record.json the approval part (who, when, registration
#     number, attestations) is taken from the attached record, since only the file knows it, and must name
#     the signer and the meaning the seal names; everything else must be what the database gives now. For
#     answers.json (documents sealed before record.json) the answers document is rebuilt as it was then;
#   * the signer named in the signature is exactly one legal reviewer of that organisation who may approve
#     it (not the author), and nothing blocks approval (DPO advice, data subjects' views: Art. 35(2), 35(9)).
# Then it writes the same rows as sign_approval (signoff.record_approval), with the file's hash and
# "completed_by" in the "signed" audit event. The registration number typed on the approval page is taken
# from the attached record.json; documents with answers.json do not carry it, so the event records None.
#
# Anything else is moved, never deleted, to <archive>/quarantine/ with a note saying why; the assessment is
# left as it is (in review, it can simply be approved again). A file that is merely *unproven* is not
# evidence of an approval, and linking it would put an unapproved or changed text on record as signed.
#
# A running approval also has its file in the archive before its commit; it holds the claim on the
# assessment row (PostgreSQL row lock, SQLite write lock) from before rendering until it commits. The repair
# takes the same claim before writing, so it waits for that approval, then finds it recorded and leaves the
# file alone (RECORDED); the path is checked again before anything is quarantined.

COMPLETED_BY = "archive verify --repair"


class _NotLinkable(Exception):
    def __init__(self, detail: str, assessment: Assessment | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        # Set only once the file is proven to be this assessment's organisation's own sealed report, so the
        # quarantine can be written to that organisation's audit trail (an unproven file names nobody).
        self.assessment = assessment


@dataclass(frozen=True)
class _Approval:
    assessment: Assessment
    signer: User
    data: bytes
    answers: dict
    answers_sha256: str
    meaning: str
    signed_at: object  # datetime
    certificate_subject: str
    registration_number: str | None  # from the attached record.json; unknown (None) for answers.json


def _proven_approval(relative_path: str, store, trust_roots: list) -> _Approval:
    """The approval this orphan completes, or ``_NotLinkable`` saying why it cannot be linked."""
    from .answers import load_answers
    from .approval import approval_blockers, independence_problems
    from .archive import ArchiveError
    from .policy import can_approve
    from .report.identity import sha256_hex
    from .report.record import LEGACY_FILE, canonical_json, check_embedded, legacy_answers_document, record_document
    from .report.seal import SealError, load_certificate
    from .report.verification import verify_pdf
    from .signoff import approval_meaning, approval_reason, legacy_approval_reason, seal_passphrase, seal_paths

    try:
        data = store.read(relative_path)  # also checks the bytes against the hash in the file name
    except ArchiveError as exc:
        raise _NotLinkable(str(exc)) from None
    report = verify_pdf(data, trust_roots)
    if not report.valid:
        raise _NotLinkable("the signature is not valid: " + " ".join(report.problems))
    named = parse_reason(report.reason)
    if named is None:
        raise _NotLinkable("the signature names no assessment and revision")
    assessment_id, revision, answers_sha = named.assessment_id, named.revision, named.sha256
    # Lock the row (PostgreSQL) so a concurrent approval or edit cannot slip in between check and write.
    assessment = db.session.scalars(select(Assessment).where(Assessment.id == assessment_id)
                                    .with_for_update()).first()
    if assessment is None or assessment.revision != revision:
        raise _NotLinkable(f"assessment {assessment_id} revision {revision} does not exist")
    p12 = seal_paths(assessment.organisation)[0]
    try:
        certificate = load_certificate(p12, seal_passphrase(assessment.organisation))
    except (SealError, OSError):
        raise _NotLinkable(f"the seal of {assessment.organisation.name} cannot be loaded to check the "
                           f"signature") from None
    own = verify_pdf(data, [certificate])
    if not own.valid:
        raise _NotLinkable(f"the signature is not valid for {assessment.organisation.name}: "
                           + " ".join(own.problems))

    def refuse(detail: str) -> _NotLinkable:
        return _NotLinkable(detail, assessment)

    where = f"assessment {assessment_id} revision {revision}"
    if assessment.status is not Status.IN_REVIEW:
        raise refuse(f"{where} is no longer in review (it is {assessment.status.value})")
    recorded = db.session.scalars(select(ArchivedDocument).where(
        ArchivedDocument.assessment_id == assessment_id, ArchivedDocument.revision == revision)).first()
    if recorded is not None:
        raise refuse(f"{where} already has archived document {recorded.id} ({recorded.path})")
    if named.organisation_id not in (None, assessment.organisation_id):
        raise refuse(f"the signature names organisation {named.organisation_id}, not the assessment's")
    attached = _attached_record(data)
    if attached is None or attached[0] != named.record_file or sha256_hex(attached[1]) != answers_sha:
        raise refuse(f"the attached {named.record_file} is not the one the signature names")
    if problem := check_embedded(*attached):
        raise refuse(problem)
    answers = load_answers(assessment)
    meaning = approval_meaning(assessment)
    registration_number = None
    if named.record_file == LEGACY_FILE:
        current = legacy_answers_document(assessment, answers)
        expected_reason = legacy_approval_reason(assessment, meaning, answers_sha)
    else:
        approval = json.loads(attached[1].decode("utf-8"))["approval"] or {}
        current = record_document(assessment, answers, approval=approval or None)
        expected_reason = approval_reason(assessment, meaning, answers_sha)
        registration_number = approval.get("registration_number")
        if (approval.get("signer") or {}).get("name") != report.name or approval.get("meaning") != meaning:
            raise refuse(f"the approval in the attached {named.record_file} is not the sealed one")
    if sha256_hex(canonical_json(current)) != answers_sha:
        raise refuse(f"the answers of {where} changed after the document was sealed")
    if report.reason != expected_reason:
        raise refuse(f"the signature's reason is not the one an approval of {where} writes: {report.reason}")
    signers = db.session.scalars(select(User).where(User.organisation_id == assessment.organisation_id,
                                                    User.role == Role.LEGAL, User.name == report.name)).all()
    if len(signers) != 1:
        raise refuse(f"the signer {report.name!r} is {len(signers)} legal reviewers of "
                     f"{assessment.organisation.name}, not exactly one")
    signer = signers[0]
    if not can_approve(signer, assessment) or independence_problems(assessment, signer):
        raise refuse(f"{signer.email} may not approve {where}")
    blockers = approval_blockers(assessment)
    if blockers:
        raise refuse(f"approval of {where} is blocked: " + " ".join(b.message for b in blockers))
    return _Approval(assessment, signer, data, answers, answers_sha, meaning,
                     own.signing_time, own.signer_subject or "", registration_number)


def repair_orphan(relative_path: str, store, trust_roots: list) -> Finding:
    """Complete the interrupted approval an orphaned file proves, or quarantine the file (see above).

    Commits its own transaction (one per orphan), so one bad file never undoes another's repair. Returns the
    action taken: REPAIRED, QUARANTINED or RECORDED (a running approval recorded it meanwhile), or
    NOT REPAIRED when the repair itself failed (the file is left where it was).
    """
    from .archive import StoredFile
    from .errors import DomainError
    from .signoff import _claim as claim_for_approval
    from .signoff import record_approval

    try:
        approval = _proven_approval(relative_path, store, trust_roots)
    except _NotLinkable as refusal:
        return _quarantine(relative_path, store, refusal)
    assessment, signer = approval.assessment, approval.signer
    try:
        # The same conditional claim as sign_approval (version + 1): waits for, and loses to, a concurrent
        # approval of the same revision.
        claim_for_approval(assessment, assessment.version)
        stored = StoredFile(sha256=relative_path.split("/")[-1].split(".", 1)[0], size=len(approval.data),
                            relative_path=relative_path)
        result = record_approval(assessment, signer, stored=stored, answers=approval.answers,
                                 answers_sha256=approval.answers_sha256, meaning=approval.meaning,
                                 signed_at=approval.signed_at, certificate_subject=approval.certificate_subject,
                                 registration_number=approval.registration_number,
                                 completed_by=COMPLETED_BY)
        db.session.commit()
    except DomainError:
        db.session.rollback()
        return _quarantine(relative_path, store, _NotLinkable(
            f"assessment {assessment.id} changed while it was being repaired", assessment))
    except SQLAlchemyError as exc:  # nothing was written; report it and leave the file where it is
        db.session.rollback()
        return Finding("NOT REPAIRED", relative_path, f"the approval could not be recorded: {exc}")
    return Finding("REPAIRED", relative_path,
                   f"completed the approval of assessment {assessment.id} revision {assessment.revision} "
                   f"({assessment.organisation.name}) sealed for {signer.name}: archived document "
                   f"{result.document.id}, signature {result.signature.id}; the assessment is approved")


def _quarantine(relative_path: str, store, refusal: _NotLinkable) -> Finding:
    from .archive import ArchiveError
    from .audit import record
    from .models import utcnow

    db.session.rollback()  # nothing of the refused attempt stays, and the next reads are fresh
    if db.session.scalar(select(ArchivedDocument.id).where(ArchivedDocument.path == relative_path)) is not None:
        return Finding("RECORDED", relative_path, "a running approval recorded this file meanwhile")
    assessment = refusal.assessment
    note = json.dumps({"file": relative_path, "quarantined_at": utcnow().isoformat(),
                       "by": COMPLETED_BY, "why": refusal.detail,
                       "assessment_id": assessment.id if assessment is not None else None,
                       "what_next": "The file was not linked to any record. The assessment was left as it "
                                    "was; if it is in review it can be approved again."},
                      ensure_ascii=False, indent=2)
    try:
        if assessment is not None:
            record(assessment.organisation_id, "archive_file_quarantined", assessment_id=assessment.id,
                   file=relative_path, document_sha256=relative_path.split("/")[-1].split(".", 1)[0],
                   reason=refusal.detail)
        moved = store.quarantine(relative_path, note)
    except (ArchiveError, SQLAlchemyError) as exc:
        db.session.rollback()
        return Finding("NOT REPAIRED", relative_path, f"could not be moved to quarantine: {exc}")
    done = f"moved to {moved} (not linked: {refusal.detail})"
    try:
        db.session.commit()
    except SQLAlchemyError as exc:  # the file is safe in quarantine with its note; only the event is lost
        db.session.rollback()
        return Finding("QUARANTINED", relative_path, f"{done}; the audit event could not be recorded: {exc}")
    return Finding("QUARANTINED", relative_path, done)


REPAIR_ACTIONS = frozenset({"REPAIRED", "QUARANTINED", "RECORDED"})


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

IN_FLIGHT = "IN FLIGHT"
INCOMPLETE = "INCOMPLETE"


def _quarantine_incomplete(relative_path: str, store, seconds: float) -> Finding:
    from .archive import ArchiveError
    from .models import utcnow

    try:
        size = store.path_for(relative_path).stat().st_size
    except OSError:
        size = None
    note = json.dumps({"file": relative_path, "quarantined_at": utcnow().isoformat(), "by": COMPLETED_BY,
                       "why": f"a temporary file of an archive write that never finished (last written "
                              f"{seconds / 60:.0f} minutes before): the process writing it stopped before "
                              f"removing it; no record refers to it",
                       "size": size,
                       "what_next": "Nothing refers to this file. If the write had not yet given the document "
                                    "its final name, the approval was not recorded and the assessment is still "
                                    "in review (it can be approved again); if it had, archive verify checks "
                                    "that file on its own."},
                      ensure_ascii=False, indent=2)
    try:
        moved = store.quarantine(relative_path, note)
    except ArchiveError as exc:
        return Finding("NOT REPAIRED", relative_path, f"could not be moved to quarantine: {exc}")
    return Finding("QUARANTINED", relative_path, f"moved to {moved} (an incomplete write)")


def check_archive(*, repair: bool = False) -> ArchiveReport:
    """Check every archived document, list orphaned files and incomplete writes (files in flight apart). With
    ``repair``, first repair or quarantine each (committing once per orphan), then check every record, the
    repaired ones included."""
    from flask import current_app

    from .signoff import archive, trusted_seal_certificates

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
            findings.append(_quarantine_incomplete(relative_path, store, seconds))
    rows = db.session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).all()
    checked: list[Finding] = []
    for row in rows:
        checked.extend(_check_document(row, store, trust_roots))
    return ArchiveReport(documents=len(rows), files=len(files), findings=checked + findings)


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
              help="Also repair each orphaned file: complete the approval it proves (a validly sealed report "
                   "of an assessment revision still in review, unchanged since, whose approval was "
                   "interrupted before it was recorded), or else move it to the archive's quarantine/ "
                   "folder with a note (never deleted); move each incomplete write there too. Missing or "
                   "changed files are only reported.")
@with_appcontext
def archive_verify_command(repair: bool) -> None:
    """Check every archived document: the file exists, its sha256 matches the record, its seal is valid
    and its attached record.json (answers.json in older documents) matches the record and its schema; list
    files no record refers to (ORPHANED) and temporary files of writes that never finished (INCOMPLETE).
    Files written in the last ARCHIVE_IN_FLIGHT_SECONDS (5 minutes) are in flight (an approval under way),
    not a problem.

    Exits 1 when anything is (still) wrong. Without --repair it changes nothing.
    """
    report = check_archive(repair=repair)
    for finding in report.findings:
        click.echo(f"{finding.kind}: {finding.path}: {finding.detail}")
    if report.ok:
        repaired = " after repair" if len(report.findings) > len(report.in_flight) else ""
        in_flight = f"; {len(report.in_flight)} file(s) in flight" if report.in_flight else ""
        click.echo(f"OK{repaired}: {report.documents} archived document(s) verified, no orphaned files"
                   f"{in_flight}")
        return
    click.echo(f"FAILED: {len(report.problems)} problem(s) in {report.documents} archived document(s) and "
               f"{report.files} file(s)")
    sys.exit(1)


def register(app: Flask) -> None:
    """Add the integrity commands to ``flask``, and backup/restore (which rely on the same guarantees)."""
    from .backup import backup_command, restore_command

    app.cli.add_command(audit_group)
    app.cli.add_command(archive_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
