"""Approval and signature: the legal reviewer re-authenticates, the report is rendered once, sealed with
the organisation's PAdES signature, archived write-once, and only then recorded as approved.

Exactly one signature per revision, even on a double click or two reviewers at once: the approval first
*claims* the assessment with a conditional UPDATE (status still in review, version as the page saw it).
On PostgreSQL that takes the row lock, on SQLite the database write lock; the loser finds the row
changed and gets a clear message. The unique (assessment_id, revision) constraint on signatures is the
last guard.
"""
from __future__ import annotations

import functools
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from . import audit, policy, workflow
from .answers import load_answers
from .approval import approval_blockers, independence_problems
from .archive import Archive, ArchiveError, StoredFile
from .errors import Conflict, Failure, Forbidden, Invalid, Unavailable
from .evidence.listing import listing
from .evidence.service import read as read_evidence
from .extensions import db
from .models import ArchivedDocument, Assessment, Organisation, Signature, Status, User, utcnow
from .report.document import SignatureInfo, report_html
from .report.identity import document_id, local_time, sha256_hex
from .report.pdf import AssociatedFile, render_pdf
from .report.record import RECORD_FILE, approval_part, canonical_json, record_document, validate
from .report.seal import Seal, SealError, load_certificate, load_seal
from .report.signing import SigningError, TimestampError, sign_pdf
from .report.timestamps import timestamper_from_config
from .risk.service import conclusion
from .roles import role_label


@dataclass(frozen=True)
class SignedResult:
    document: ArchivedDocument
    signature: Signature


def seal_paths(organisation: Organisation) -> tuple[Path, Path]:
    """``<SEAL_DIR>/<slug>.p12`` and its optional passphrase file ``<slug>.pass`` (README: installing a seal)."""
    seal_dir = Path(current_app.config["SEAL_DIR"])
    return seal_dir / f"{organisation.slug}.p12", seal_dir / f"{organisation.slug}.pass"


def passphrase_variable(organisation: Organisation) -> str:
    """``KONSEKVENS_SEAL_PASSPHRASE_<SLUG>``, the slug in capitals with "-" as "_"."""
    return "KONSEKVENS_SEAL_PASSPHRASE_" + re.sub(r"[^A-Z0-9]", "_", organisation.slug.upper())


def seal_passphrase(organisation: Organisation) -> bytes | None:
    """The passphrase of the organisation's seal, if it has one (README: installing a seal): from the
    environment variable, else from ``<slug>.pass`` beside the seal, which only its owner may read — a
    passphrase others can read protects nothing, so such a file is refused (as OpenSSH refuses a private key
    others can read)."""
    if value := os.environ.get(passphrase_variable(organisation)):
        return value.encode("utf-8")
    passfile = seal_paths(organisation)[1]
    try:
        mode = stat.S_IMODE(passfile.stat().st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise SealError("passphrase_readable", f"{passfile.name} can be read by other users (mode {mode:o}); "
                                               "it must be 0600")
    return passfile.read_bytes().strip()


def organisation_seal(organisation: Organisation) -> Seal:
    return load_seal(seal_paths(organisation)[0], seal_passphrase(organisation))


@dataclass(frozen=True)
class InstalledSeal:
    organisation: Organisation
    certificate: Any  # asn1crypto.x509.Certificate


@functools.lru_cache(maxsize=256)
def _certificate(path: str, _mtime_ns: int, _size: int, passphrase: bytes | None):
    """Opening a PKCS#12 file costs about 85 ms (its key derivation); a changed file is a new cache key."""
    return load_certificate(Path(path), passphrase)


def installed_seals() -> list[InstalledSeal]:
    """Every organisation's installed seal certificate (those that cannot be opened are left out)."""
    seals = []
    for organisation in db.session.scalars(select(Organisation).order_by(Organisation.id)):
        p12 = seal_paths(organisation)[0]
        try:
            stat = p12.stat()
            certificate = _certificate(str(p12), stat.st_mtime_ns, stat.st_size, seal_passphrase(organisation))
        except (OSError, SealError):
            continue
        seals.append(InstalledSeal(organisation, certificate))
    return seals


def sealing_organisation(certificate, seals: list[InstalledSeal], own_organisation_id: int | None = None):
    """The organisation whose installed seal ``certificate`` is (the user's own first), or None."""
    if certificate is None:
        return None
    matching = [seal.organisation for seal in seals if seal.certificate.dump() == certificate.dump()]
    own = [organisation for organisation in matching if organisation.id == own_organisation_id]
    return (own or matching or [None])[0]  # type: ignore[list-item]


SEAL_MESSAGES = {
    "missing": _l("The organisation has no signing certificate (e-seal) installed. Ask your administrator "
                  "to install one. Nothing was signed; the assessment is still in review."),
    "wrong_passphrase": _l("The organisation's signing certificate could not be opened (wrong passphrase). "
                           "Nothing was signed; the assessment is still in review."),
    "passphrase_readable": _l("The passphrase file of the organisation's signing certificate can be read by "
                              "other users of the server, so it is not used. Ask your administrator to make it "
                              "readable by the service only (mode 0600). Nothing was signed; the assessment is "
                              "still in review."),
}
SEAL_FALLBACK = _l("The organisation's signing certificate cannot be used. Nothing was signed; the "
                   "assessment is still in review.")


def archive() -> Archive:
    return Archive(Path(current_app.config["ARCHIVE_DIR"]))


def claim_for_approval(assessment: Assessment, expected_version: int) -> None:
    result = db.session.execute(
        update(Assessment)
        .where(Assessment.id == assessment.id, Assessment.status == Status.IN_REVIEW,
               Assessment.version == expected_version)
        .values(version=Assessment.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(assessment)
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
        if assessment.status is Status.APPROVED:
            raise Conflict(_l("This assessment has already been approved and signed."))
        raise Conflict(_l("The assessment changed after you opened this page. Nothing was signed. "
                               "Read it again and approve once more."))


class WrongPassword(Invalid):
    """The signer's password did not match: they stay on the form, and it counts as a failed check."""


def approve_and_sign(assessment: Assessment, actor: User, *, password: str, expected_version: int,
                     registration_number: str | None = None) -> SignedResult:
    # 21 CFR Part 11 § 11.200 pattern: the signer proves who they are at the moment of signing.
    if not actor.check_password(password):
        raise WrongPassword(_l("The password is not correct. Nothing was signed."))
    return sign_approval(assessment, actor, expected_version=expected_version,
                         registration_number=registration_number)


def sign_approval(assessment: Assessment, actor: User, *, expected_version: int,
                  registration_number: str | None = None) -> SignedResult:
    """The sealing core, after authentication: the web view re-authenticates first; the ``demo`` CLI
    command, run by the operator on the server, calls this directly."""
    if not policy.can_approve(actor, assessment):
        if assessment.status is Status.APPROVED:
            raise Conflict(_l("This assessment has already been approved and signed."))
        raise Forbidden(_l("Only a legal reviewer other than the author may approve."))
    problems = independence_problems(assessment, actor)
    if problems:
        raise Forbidden(_l("You may not approve this assessment: %(why)s Another legal reviewer must approve "
                               "it.", why=" ".join(problems)))
    blockers = approval_blockers(assessment)
    if blockers:
        raise Conflict(_l("Approval is not possible yet: %(missing)s",
                               missing=" ".join(b.message for b in blockers)))
    claim_for_approval(assessment, expected_version)

    try:
        seal = organisation_seal(assessment.organisation)
    except SealError as exc:
        raise Unavailable(SEAL_MESSAGES.get(exc.code, SEAL_FALLBACK)) from exc

    answers = load_answers(assessment)
    # Listed once, after the claim: the record lists exactly the files embedded (evidence.service._hold_open).
    evidence = listing(assessment)
    files = [AssociatedFile(item.embedded_name, read_evidence(item.row), item.row.mime_type,
                            item.row.relationship.value, item.row.description or item.row.filename)
             for item in evidence]
    lang = assessment.language
    meaning = approval_meaning(assessment)
    with force_locale(lang):
        role = role_label(actor.role)
    info = SignatureInfo(signer_name=actor.name, signer_role=role, meaning=meaning, signed_at=utcnow(),
                         registration_number=registration_number or None, seal_subject=seal.subject_name)
    record = record_document(assessment, answers, approval=approval_part(
        assessment, meaning=meaning, signer_name=actor.name, signer_role=role, signed_at=info.signed_at,
        registration_number=info.registration_number, seal_subject=seal.subject_name), evidence=evidence)
    validate(record)  # the published schema (docs/record.schema.json) is what is sealed
    record_json = canonical_json(record)
    record_sha = sha256_hex(record_json)
    html = report_html(assessment, answers, record_sha256=record_sha, signature=info, evidence=evidence)
    rendered = render_pdf(html, record_json=record_json, title=assessment.title, lang=lang, files=files)
    reason = approval_reason(assessment, meaning, record_sha)
    with force_locale(lang):
        label = gettext("Electronic seal of %(organisation)s", organisation=assessment.organisation.name)
    try:
        signed = sign_pdf(
            rendered.data, seal, box=rendered.signature_box, stamp_lines=stamp_lines(assessment, info),
            reason=reason, name=actor.name, location=assessment.organisation.name, field_label=label,
            # With TSA_URL set, an RFC 3161 signature timestamp makes the seal PAdES B-T.
            timestamper=timestamper_from_config(current_app.config),
        )
    except TimestampError as exc:
        current_app.logger.error("no signature timestamp for assessment %s: %s", assessment.id, exc)
        raise Unavailable(_l("The time-stamping service could not be reached or gave an invalid answer, so "
                               "the document could not be signed. Nothing was archived; the assessment is "
                               "still in review. Try again later, or ask your administrator to check the "
                               "time-stamping service.")) from exc
    except SigningError as exc:
        current_app.logger.exception("signing failed for assessment %s", assessment.id)
        raise Failure(_l("The document could not be signed. Nothing was archived; the assessment is "
                               "still in review.")) from exc
    try:
        stored = archive().store(signed)
    except ArchiveError as exc:
        current_app.logger.error("archiving failed for assessment %s: %s", assessment.id, exc)
        raise Unavailable(_l("The signed document could not be archived (the storage is full or not "
                               "writable). Nothing was approved; the assessment is still in review.")) from exc

    # The file is durable (fsynced, renamed) before any row refers to it.
    return record_approval(assessment, actor, stored=stored, answers=answers, answers_sha256=record_sha,
                           meaning=meaning, signed_at=info.signed_at, certificate_subject=seal.subject_name,
                           registration_number=registration_number or None)


def stamp_lines(assessment: Assessment, info: SignatureInfo) -> list[str]:
    """The visible seal, in the document's language: whose seal it is (the organisation's, which is the
    cryptographic signer), what it means, who approved, when (Swedish time) and which document."""
    with force_locale(assessment.language):
        return [
            gettext("Electronic seal: %(seal)s", seal=info.seal_subject),
            info.meaning,
            gettext("Approved by %(name)s (%(role)s)", name=info.signer_name, role=info.signer_role.lower()),
            local_time(info.signed_at).strftime("%Y-%m-%d %H:%M %Z"),
            gettext("Document %(id)s", id=document_id(assessment)),
        ]


# The signature's /Reason binds the seal to the record. Since record.json: in the document's language,
# naming the document id and the SHA-256 of record.json; ``integrity.parse_reason`` reads this format and
# the one before it (``legacy_approval_reason``), which archived documents still carry.
REASON = _l("%(meaning)s: %(organisation)s, impact assessment %(document)s, SHA-256 of %(file)s %(sha256)s")


def approval_reason(assessment: Assessment, meaning: str, record_sha256: str) -> str:
    """The signature's /Reason (see ``REASON``)."""
    with force_locale(assessment.language):
        return str(REASON) % {
            "organisation": assessment.organisation.name, "document": document_id(assessment),
            "file": RECORD_FILE, "sha256": record_sha256, "meaning": meaning}


def legacy_approval_reason(assessment: Assessment, meaning: str, answers_sha256: str) -> str:
    """The /Reason of documents sealed with ``answers.json`` (English words, the database id)."""
    return (f"{meaning}: {assessment.organisation.name}, assessment {assessment.id} "
            f"revision {assessment.revision}, answers.json sha256 {answers_sha256}")


def approval_meaning(assessment: Assessment) -> str:
    """What the signature means, in the assessment's language (as sealed into the document). When prior
    consultation is required, the approval is conditional: the processing must not start or continue until
    IMY has answered (Art. 36(1)–(2))."""
    with force_locale(assessment.language):
        if conclusion(assessment).prior_consultation_required:
            return gettext("Reviewed and approved on condition of prior consultation with IMY (Art. 36)")
        return gettext("Reviewed and approved")


def record_approval(assessment: Assessment, actor: User, *, stored: StoredFile, answers: dict,
                    answers_sha256: str, meaning: str, signed_at, certificate_subject: str,
                    registration_number: str | None, **audit_details) -> SignedResult:
    """Write what an approval leaves in the database once its sealed file is durable in the archive: the
    archive record, the signature, the status (with the audit events of the transition) and the review date.

    Shared by ``sign_approval`` and by ``archive verify --repair``, which completes an approval whose process
    died between archiving the file and committing (``integrity.repair_orphan``); ``audit_details`` lets the
    repair say so in the "signed" event. Flushes, never commits.
    """
    document = ArchivedDocument(organisation_id=assessment.organisation_id, assessment_id=assessment.id,
                                sha256=stored.sha256, size=stored.size, path=stored.relative_path,
                                revision=assessment.revision, answers_sha256=answers_sha256)
    db.session.add(document)
    db.session.flush()
    signature = Signature(assessment_id=assessment.id, revision=assessment.revision, signer_id=actor.id,
                          signer_name=actor.name, signer_role=actor.role.value, meaning=meaning,
                          signed_at=signed_at, certificate_subject=certificate_subject,
                          document_id=document.id)
    db.session.add(signature)
    workflow.mark_approved(assessment, actor)

    # The review date is fixed at approval (Art. 35(11)); the dashboard shows it and flags it when due.
    assessment.review_due = conclusion(assessment, answers=answers).review_due
    audit.record(assessment.organisation_id, "signed", actor=actor, assessment_id=assessment.id,
                 document_sha256=stored.sha256, answers_sha256=answers_sha256, revision=assessment.revision,
                 registration_number=registration_number, **audit_details)
    db.session.flush()
    return SignedResult(document, signature)


def trusted_seal_certificates() -> list:
    """The installed seals of every organisation: the trust roots a document is checked against."""
    return [seal.certificate for seal in installed_seals()]
