"""Signed documents: the one of an assessment's revision, reading it back for download (never bytes that
differ from what was signed), and checking an uploaded PDF against the seals and the user's own archive."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import audit
from .archive import ArchiveError
from .errors import Failure, NotFound
from .extensions import db
from .models import ArchivedDocument, Assessment, Organisation, Signature, User
from .report import verification as checks
from .report.embedded import check_evidence
from .report.identity import sha256_hex
from .report.record import check_embedded, embedded_record
from .scope import NOT_FOUND
from .signoff import archive, installed_seals, sealing_organisation


def document_of(assessment: Assessment) -> ArchivedDocument | None:
    """The signed document of this revision, if it is approved."""
    return db.session.scalars(
        select(ArchivedDocument).join(Signature, Signature.document_id == ArchivedDocument.id)
        .where(Signature.assessment_id == assessment.id, Signature.revision == assessment.revision)).first()


def read_for_download(assessment: Assessment, actor: User) -> tuple[ArchivedDocument, bytes]:
    """The archived bytes, checked against the recorded hash, and the download on the audit trail."""
    row = db.session.scalars(
        select(ArchivedDocument).where(ArchivedDocument.assessment_id == assessment.id,
                                       ArchivedDocument.organisation_id == actor.organisation_id)
        .order_by(ArchivedDocument.created_at.desc())).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    try:
        data = archive().read(row.path, expected_sha256=row.sha256)
    except ArchiveError as exc:
        # Never serve bytes that differ from what was signed and recorded.
        current_app.logger.error("archived document %s unreadable: %s", row.sha256, exc)
        raise Failure(_l("The archived document is missing or damaged, so it is not served. An administrator "
                         "can check the archive with the verification command.")) from exc
    audit.record(assessment.organisation_id, "document_downloaded", actor=actor, assessment_id=assessment.id,
                 sha256=row.sha256)
    return row, data


@dataclass(frozen=True)
class ArchiveMatch:
    document: ArchivedDocument
    assessment: Assessment
    signature: Signature | None


@dataclass(frozen=True)
class Check:
    report: checks.SignatureReport
    sha256: str
    is_pdf: bool
    match: ArchiveMatch | None  # the user's own organisation's archived document with these bytes
    sealed_by: Organisation | None  # whose installed seal signed it (None: no organisation's)
    record_name: str | None = None  # the embedded record.json, or answers.json in documents sealed before it
    record_problem: str | None = None  # the embedded record does not follow its published format
    evidence_listed: int = 0  # evidence files the record lists (report/embedded.py)
    evidence_problems: tuple[str, ...] = ()  # embedded files that are not as the record lists them

    def own_seal(self, user: User) -> bool:
        return self.sealed_by is not None and self.sealed_by.id == user.organisation_id


def own_archived_document(digest: str, user: User) -> ArchiveMatch | None:
    """The archived document with these exact bytes, only if it belongs to the user's organisation: a
    document archived by another organisation is reported exactly like an unknown one."""
    document = db.session.scalars(
        select(ArchivedDocument).where(ArchivedDocument.sha256 == digest,
                                       ArchivedDocument.organisation_id == user.organisation_id)).first()
    if document is None:
        return None
    assessment = db.session.scalars(
        select(Assessment).where(Assessment.id == document.assessment_id,
                                 Assessment.organisation_id == user.organisation_id)).first()
    if assessment is None:  # a row pointing across organisations is treated as no match
        return None
    signature = db.session.scalars(select(Signature).where(Signature.document_id == document.id)).first()
    return ArchiveMatch(document, assessment, signature)


def check_upload(data: bytes, user: User) -> Check:
    """Check an uploaded file's seal against every installed seal and name whose it is; only the hash and
    the outcome go to the audit trail (nothing of the upload is stored)."""
    digest = sha256_hex(data)
    seals = installed_seals()
    report = checks.verify_pdf(data, [seal.certificate for seal in seals],
                               cpu_seconds=current_app.config["VERIFY_CPU_SECONDS"])
    sealed_by = sealing_organisation(report.signer_certificate, seals, user.organisation_id) \
        if report.trusted else None
    is_pdf = checks.PROBLEM_NOT_PDF not in report.problems
    match = own_archived_document(digest, user) if is_pdf else None
    # A refused upload is not read any further (report/verification.py: hostile files).
    files = checks.embedded_files(data) if is_pdf and not report.refused else []
    embedded = embedded_record(checks.by_name(files))
    evidence = check_evidence(files) if embedded else None
    result = Check(report, digest, is_pdf, match, sealed_by,
                   record_name=embedded[0] if embedded else None,
                   record_problem=check_embedded(*embedded) if embedded else None,
                   evidence_listed=evidence.listed if evidence else 0,
                   evidence_problems=evidence.problems if evidence else ())
    outcome = "valid" if report.valid else ("refused" if report.refused else "invalid" if is_pdf else "not_pdf")
    audit.record(user.organisation_id, "document_verified", actor=user,
                 assessment_id=match.assessment.id if match else None, sha256=digest, outcome=outcome,
                 matched=match is not None, archived_document_id=match.document.id if match else None,
                 own_seal=result.own_seal(user), problems=list(report.problems) + list(result.evidence_problems))
    return result
