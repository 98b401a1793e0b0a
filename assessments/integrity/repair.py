"""archive verify --repair: completing an approval interrupted after archiving, or quarantining the file."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..answers import load_answers
from ..approval import approval_blockers, independence_problems
from ..archive import ArchiveError, StoredFile
from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..models import ArchivedDocument, Assessment, Role, Status, User, utcnow
from ..policy import can_approve
from ..report.embedded import check_evidence
from ..report.identity import sha256_hex
from ..report.record import LEGACY_FILE, canonical_json, check_embedded, legacy_answers_document, record_document
from ..report.seal import SealError, load_certificate
from ..report.verification import embedded_files, verify_pdf
from ..signoff import (
    approval_meaning,
    approval_reason,
    claim_for_approval,
    legacy_approval_reason,
    record_approval,
    seal_passphrase,
    seal_paths,
)
from .findings import Finding, attached_record, parse_reason

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
#   * the evidence files it embeds are exactly those its record lists (report/embedded.py);
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
    attached = attached_record(data)
    if attached is None or attached[0] != named.record_file or sha256_hex(attached[1]) != answers_sha:
        raise refuse(f"the attached {named.record_file} is not the one the signature names")
    if problem := check_embedded(*attached):
        raise refuse(problem)
    if evidence := check_evidence(embedded_files(data)).problems:
        raise refuse(" ".join(evidence))
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


def quarantine_incomplete(relative_path: str, store, seconds: float) -> Finding:
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
