"""Evidence files: attach one to a question, a risk or a measure; list, read back and remove them while the
assessment may change; carry them into a new revision; and say what a signed report embeds (docs/evidence.md).

The bytes are kept write-once and content-addressed in ``<ARCHIVE_DIR>/evidence/`` (``archive.Archive`` with
that root): durable before the row that refers to them is written, shared by the rows of later revisions
that carry the same file, and removed only when no row refers to them any more (the draft's author removed
a file attached by mistake: it is not kept for ever). At approval they are read back, checked against their
SHA-256 and embedded in the sealed PDF/A-3 with the list in ``record.json`` (``report/record.py``).
"""
from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from .. import audit, policy, scope
from ..answers import catalog_of
from ..archive import Archive, ArchiveError
from ..errors import Conflict, Failure, Invalid, NotFound, Unavailable
from ..extensions import db
from ..limits import (
    EVIDENCE_DESCRIPTION_MAX,
    EVIDENCE_MAX_FILES,
    EVIDENCE_MAX_PAGES,
    EVIDENCE_MAX_PDF_OBJECTS,
    EVIDENCE_MAX_PIXELS,
    require_within,
)
from ..models import Assessment, User
from ..plaintext import require_plain_text
from . import content
from .listing import Target, megabytes
from .model import EvidenceFile, Relationship

logger = logging.getLogger(__name__)

STORE_DIR = "evidence"  # inside ARCHIVE_DIR, beside the shards of sealed reports and quarantine/

REFUSALS = {
    "empty": _l("The file is empty. Choose the file again."),
    "office": _l("Office documents (Word, Excel, PowerPoint, OpenDocument) cannot be attached. Save the document "
                 "as PDF (File, Save as, PDF; or Export as PDF) and attach the PDF."),
    "unknown_type": _l("This kind of file cannot be attached. Attach a PDF, a PNG or JPEG image, or a plain text "
                       "file."),
    "polyglot": _l("The file is not only what it appears to be: it also holds another format (such as a ZIP "
                   "archive or a web page). Print it to a new PDF, or export the image again, and attach that."),
    "trailing_data": _l("The file has data after its end. Print it to a new PDF, or export the image again (for "
                        "example as PNG), and attach that."),
    "pdf_unreadable": _l("The PDF cannot be read. Print it to a new PDF and attach that."),
    "pdf_encrypted": _l("The PDF is encrypted or protected by a password. Remove the protection, or print it to a "
                        "new PDF, and attach it again."),
    "pdf_active": _l("The PDF contains JavaScript, a launch action or other active content, which a sealed report "
                     "must not carry. Print it to a new PDF, which leaves such content out, and attach that."),
    "pdf_embedded": _l("The PDF has other files embedded in it. Attach each of those files on its own, and the "
                       "PDF printed to a new PDF without them."),
    "too_many_pages": _l("The PDF has more than %(pages)s pages. Attach the part that is evidence."),
    "too_complex": _l("The file is too complex to be checked in the time allowed. Print it to a new PDF, or "
                      "export the image again, and attach that."),
    "too_many_pixels": _l("The image has more than %(megapixels)s million pixels. Make it smaller, or take a "
                          "screenshot of it, and attach it again."),
    "image_unreadable": _l("The image cannot be read: it is damaged or not what it says it is. Export it again "
                           "and attach the new file."),
    "text_not_utf8": _l("The text file is not in UTF-8. Save it as UTF-8 (in Notepad: Save as, Encoding UTF-8) "
                        "and attach it again."),
    "text_control": _l("The text file contains invisible control characters. Save it as plain text again, or "
                       "print it to PDF, and attach it again."),
    "markup": _l("The file is a web page or other markup (HTML, SVG or XML), not plain text. Print it to PDF and "
                 "attach the PDF."),
}
NOT_ALLOWED = _l("Evidence can be attached and removed only while the assessment is a draft, sent back for "
                 "changes or in review, by those who may change its risks. An approved revision's evidence is "
                 "sealed into its report.")
WHICH_TARGET = _l("Choose a question, a risk or a measure of this assessment for the file to support.")
WHICH_RELATIONSHIP = _l("Say whether the file is a source or supplementary material.")
DESCRIPTION_TOO_LONG = _l("The description is too long (at most 300 characters). Nothing was saved.")
TOO_MANY_FILES = _l("An assessment can have at most %(count)s evidence files. Remove one first.")
TOO_LARGE = _l("The file is too large. It can be at most %(size)s MB.")
TOTAL_TOO_LARGE = _l("The evidence files of one assessment can be at most %(size)s MB together, and this file "
                     "would take them over. Remove a file, or attach a smaller one.")
STORE_FAILED = _l("The file could not be stored (the storage is full or not writable). Nothing was attached; "
                  "try again later or ask your administrator.")
FILE_MISSING = _l("An evidence file is missing or damaged in the storage, so it is not served. An administrator "
                  "can check the storage; the file can be removed and attached again.")


def _check_target(assessment: Assessment, target: Target | None) -> None:
    if target is None:
        raise Invalid(WHICH_TARGET)
    if target.question_key is not None:
        try:
            question = catalog_of(assessment).question(target.question_key)
        except KeyError:
            raise Invalid(WHICH_TARGET) from None
        if (target.platform not in assessment.platforms) if question.per_platform else target.platform:
            raise Invalid(WHICH_TARGET)
        return
    try:
        if target.risk_id is not None:
            scope.risk_of(assessment, target.risk_id)
        else:
            scope.measure_of(assessment, target.measure_id)
    except NotFound:
        raise Invalid(WHICH_TARGET) from None


# -- storage -------------------------------------------------------------------------------------------


def store() -> Archive:
    return Archive(Path(current_app.config["ARCHIVE_DIR"]) / STORE_DIR)


def limits() -> content.Limits:
    config = current_app.config
    return content.Limits(max_bytes=config["EVIDENCE_MAX_FILE_BYTES"], max_pixels=EVIDENCE_MAX_PIXELS,
                          max_pages=EVIDENCE_MAX_PAGES, max_objects=EVIDENCE_MAX_PDF_OBJECTS,
                          cpu_seconds=config["EVIDENCE_CPU_SECONDS"])


def too_large_message() -> str:
    return str(TOO_LARGE) % {"size": megabytes(current_app.config["EVIDENCE_MAX_FILE_BYTES"])}


def refusal_message(code: str) -> str:
    if code == "too_large":
        return too_large_message()
    return str(REFUSALS.get(code, REFUSALS["unknown_type"])) % {
        "pages": EVIDENCE_MAX_PAGES, "megapixels": EVIDENCE_MAX_PIXELS // 1_000_000}


# -- attaching and removing ----------------------------------------------------------------------------


def _hold_open(assessment: Assessment) -> None:
    """Take the assessment row's write lock, as an approval's claim does (signoff.claim_for_approval), and
    check that it is still open: an approval under way then either sees this change before it lists what it
    embeds, or has committed and this change is refused. Nothing of the row changes."""
    result = db.session.execute(update(Assessment).where(Assessment.id == assessment.id,
                                                         Assessment.status.not_in(policy.CLOSED))
                                .values(status=Assessment.status).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
        raise Conflict(NOT_ALLOWED)


def attach(assessment: Assessment, actor: User, *, data: bytes, filename: str | None, target: Target | None,
           relationship: str | None, description: str | None) -> EvidenceFile:
    """Check the file (``content.inspect``), store it, and record what it supports. Flushes."""
    policy.require(policy.can_attach_evidence(actor, assessment), NOT_ALLOWED)
    _hold_open(assessment)
    _check_target(assessment, target)
    assert target is not None
    try:
        kind = Relationship(relationship or "")
    except ValueError:
        raise Invalid(WHICH_RELATIONSHIP) from None
    description = " ".join((description or "").split()) or None
    require_within(description, EVIDENCE_DESCRIPTION_MAX, DESCRIPTION_TOO_LONG)
    require_plain_text(description)
    count, total = db.session.execute(select(func.count(EvidenceFile.id), func.coalesce(func.sum(
        EvidenceFile.size), 0)).where(EvidenceFile.assessment_id == assessment.id)).one()
    if count >= EVIDENCE_MAX_FILES:
        raise Invalid(str(TOO_MANY_FILES) % {"count": EVIDENCE_MAX_FILES})
    if len(data) > current_app.config["EVIDENCE_MAX_FILE_BYTES"]:
        raise Invalid(too_large_message())
    maximum = current_app.config["EVIDENCE_MAX_TOTAL_BYTES"]
    if total + len(data) > maximum:
        raise Invalid(str(TOTAL_TOO_LARGE) % {"size": megabytes(maximum)})
    try:
        mime_type = content.inspect(data, limits())
    except content.Refused as exc:
        logger.warning("evidence refused (%d bytes, %s): %s", len(data), exc.code, exc.detail or exc.code)
        raise Invalid(refusal_message(exc.code)) from None
    name = content.safe_filename(filename, mime_type)
    try:
        stored = store().store(data, suffix=content.SUFFIXES[mime_type])
    except ArchiveError as exc:
        logger.error("evidence could not be stored: %s", exc)
        raise Unavailable(STORE_FAILED) from exc
    row = EvidenceFile(assessment_id=assessment.id, question_key=target.question_key, platform=target.platform,
                       risk_id=target.risk_id, measure_id=target.measure_id, filename=name,
                       description=description, mime_type=mime_type, relationship=kind, size=stored.size,
                       sha256=stored.sha256, path=stored.relative_path, uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record(assessment.organisation_id, "evidence_attached", actor=actor, assessment_id=assessment.id,
                 evidence_id=row.id, filename=name, sha256=stored.sha256, size=stored.size, mime_type=mime_type,
                 relationship=kind.value, supports=target.value)
    return row


def remove(assessment: Assessment, actor: User, row: EvidenceFile) -> str:
    """Remove an evidence file of a revision that may still change; returns its storage path, for
    :func:`discard_if_unreferenced` once the removal is committed. Flushes."""
    policy.require(policy.can_attach_evidence(actor, assessment), NOT_ALLOWED)
    _hold_open(assessment)
    path = row.path
    audit.record(assessment.organisation_id, "evidence_removed", actor=actor, assessment_id=assessment.id,
                 evidence_id=row.id, filename=row.filename, sha256=row.sha256)
    db.session.delete(row)
    db.session.flush()
    return path


def discard_if_unreferenced(path: str) -> None:
    """After a committed removal: delete the stored bytes when no row (of any revision) refers to them."""
    if db.session.scalar(select(func.count(EvidenceFile.id)).where(EvidenceFile.path == path)):
        return
    try:
        store().path_for(path).unlink(missing_ok=True)
    except (ArchiveError, OSError) as exc:
        logger.warning("removed evidence file %s could not be deleted: %s", path, exc)


def read(row: EvidenceFile) -> bytes:
    """The stored bytes, checked against the row's SHA-256 (never bytes that differ from what was attached)."""
    try:
        return store().read(row.path, expected_sha256=row.sha256)
    except ArchiveError as exc:
        logger.error("evidence file %s (%s) unreadable: %s", row.id, row.path, exc)
        raise Failure(FILE_MISSING) from exc


def read_for_download(assessment: Assessment, actor: User, row: EvidenceFile) -> bytes:
    policy.require(policy.can_view(actor, assessment), NOT_ALLOWED)
    data = read(row)
    audit.record(assessment.organisation_id, "evidence_downloaded", actor=actor, assessment_id=assessment.id,
                 evidence_id=row.id, sha256=row.sha256)
    return data


