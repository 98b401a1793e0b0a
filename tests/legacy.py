"""Documents as approvals sealed them before record.json: ``answers.json`` (format konsekvens.answers/1)
embedded, an approval signature (not a certification) whose reason is English and names the database id
("<meaning>: <organisation>, assessment <id> revision <n>, answers.json sha256 <hex>").

Built with pyHanko directly, as the earlier signing code did, so that the application's reading of archived
documents is tested against the old shape rather than against its own current output."""
from __future__ import annotations

import io

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from assessments.answers import load_answers
from assessments.models import Assessment, User, utcnow
from assessments.report.document import report_html
from assessments.report.identity import sha256_hex
from assessments.report.pdf import render_pdf
from assessments.report.record import LEGACY_FILE, canonical_json, legacy_answers_document
from assessments.signoff import approval_meaning, archive, legacy_approval_reason, organisation_seal, record_approval


def seal_legacy_document(assessment: Assessment, signer: User, *, record: bool = True):
    """Seal ``assessment`` (in review) the way approvals did before record.json, store it in the archive and,
    with ``record``, record the approval as it was then. Returns (stored file, answers sha256)."""
    answers = load_answers(assessment)
    answers_json = canonical_json(legacy_answers_document(assessment, answers))
    answers_sha = sha256_hex(answers_json)
    html = report_html(assessment, answers, record_sha256=answers_sha, signature=None)
    rendered = render_pdf(html, record_json=answers_json, title=assessment.title, lang=assessment.language,
                          record_name=LEGACY_FILE)
    meaning = approval_meaning(assessment)
    seal = organisation_seal(assessment.organisation)
    metadata = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        reason=legacy_approval_reason(assessment, meaning, answers_sha), name=signer.name,
        location=assessment.organisation.name)
    output = signers.PdfSigner(metadata, signer=seal.signer,
                               new_field_spec=fields.SigFieldSpec(sig_field_name="Signature1")).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(rendered.data)))
    stored = archive().store(output.getvalue())
    if record:
        record_approval(assessment, signer, stored=stored, answers=answers, answers_sha256=answers_sha,
                        meaning=meaning, signed_at=utcnow(), certificate_subject=seal.subject_name,
                        registration_number=None)
    return stored, answers_sha
