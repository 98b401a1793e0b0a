"""The inquiry bundle: the ZIP an organisation hands to IMY, with the signed PDF, its record, the audit trail
and how to check them (docs/exchange-format.md, "Inquiry bundle")."""
from __future__ import annotations

import io
import json
import textwrap
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import audit, csvfile, policy
from ..answers import catalog_of
from ..archive import ArchiveError
from ..errors import Conflict, Forbidden
from ..extensions import db
from ..models import (
    ArchivedDocument,
    Assessment,
    AuditEvent,
    Role,
    Signature,
    Status,
    User,
    utcnow,
)
from ..report.embedded import check_evidence
from ..report.identity import local_time, sha256_hex
from ..report.record import embedded_record
from ..report.verification import by_name, embedded_files
from ..roles import ROLE_LABELS
from ..signoff import archive

AUDIT_FORMAT = "konsekvens.audit-trail/1"
# The second entry is the embedded record: record.json, or answers.json for documents sealed before it.
BUNDLE_FILES = ("signed.pdf", "record.json", "audit-trail.json", "audit-trail.csv", "verification.txt")
BUNDLE_STATUSES = frozenset({Status.APPROVED, Status.SUPERSEDED})
AUDIT_COLUMNS = ("seq", "time", "action", "actor", "actor_id", "details", "prev_hash", "hash")

EVIDENCE_DIR = "evidence"  # the evidence files embedded in signed.pdf, extracted (docs/exchange-format.md)


def evidence_support(assessment: Assessment, supports: dict[str, Any]) -> str:
    """What an evidence entry of the record supports, in words (the question's text in the catalogue)."""
    if "question" in supports:
        try:
            text = catalog_of(assessment).question(supports["question"]).report_text(assessment.language)
        except KeyError:
            text = supports["question"]
        platform = supports.get("platform")
        return f"{text} ({assessment.platform_name(platform, assessment.language)})" if platform else text
    return supports.get("risk") or supports.get("measure") or ""


class BundleError(Exception):
    """The bundle cannot be made without handing over bytes the archive cannot vouch for."""


@dataclass(frozen=True)
class Bundle:
    filename: str
    data: bytes
    document_sha256: str
    answers_sha256: str


def signed_document(assessment: Assessment) -> tuple[Signature, ArchivedDocument] | None:
    """The signature of the assessment's current revision and the archived PDF it produced."""
    row = db.session.execute(
        select(Signature, ArchivedDocument).join(ArchivedDocument, Signature.document_id == ArchivedDocument.id)
        .where(Signature.assessment_id == assessment.id, Signature.revision == assessment.revision,
               ArchivedDocument.organisation_id == assessment.organisation_id)).first()
    return (row[0], row[1]) if row else None


def inquiry_bundle(assessment: Assessment, actor: User) -> Bundle:
    """The ZIP an organisation hands to IMY (docs/exchange-format.md). Records "bundle_downloaded"."""
    if not policy.can_view(actor, assessment):
        raise Forbidden(_l("You may not see this assessment."))
    signed = signed_document(assessment) if assessment.status in BUNDLE_STATUSES else None
    if signed is None:
        raise Conflict(_l("Only an approved and signed assessment has an inquiry bundle."))
    signature, document = signed
    try:
        pdf = archive().read(document.path, expected_sha256=document.sha256)
    except ArchiveError as exc:
        raise BundleError(f"archived document {document.sha256}: {exc}") from exc
    files = embedded_files(pdf)
    embedded = embedded_record(by_name(files))
    if embedded is None:
        raise BundleError(f"archived document {document.sha256} has no record.json or answers.json attachment")
    record_name, answers_json = embedded
    answers_sha = sha256_hex(answers_json)
    if answers_sha != document.answers_sha256:
        raise BundleError(f"{record_name} in {document.sha256} does not match the recorded answers_sha256")
    if problems := check_evidence(files).problems:
        raise BundleError(f"the evidence embedded in {document.sha256} is not as its record lists it: "
                          + " ".join(problems))
    evidence = evidence_listed(answers_json, by_name(files))

    made_at = utcnow()
    audit.record(assessment.organisation_id, "bundle_downloaded", actor=actor, assessment_id=assessment.id,
                 revision=assessment.revision, document_sha256=document.sha256, answers_sha256=answers_sha)
    events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.organisation_id == assessment.organisation_id,
                                 AuditEvent.assessment_id == assessment.id)
        .options(selectinload(AuditEvent.actor)).order_by(AuditEvent.seq)))
    trail = [audit_row(event) for event in events]
    contents = {
        "signed.pdf": pdf,
        record_name: answers_json,
        **{f"{EVIDENCE_DIR}/{item['file']}": item["data"] for item in evidence},
        "audit-trail.json": audit_trail_json(assessment, trail),
        "audit-trail.csv": audit_trail_csv(trail),
        "verification.txt": verification_text(assessment, signature, document, answers_sha, actor,
                                              made_at, record_name, evidence).encode("utf-8"),
    }
    return Bundle(filename=f"konsekvensbedomning-{assessment.id}-r{assessment.revision}-underlag.zip",
                  data=zip_files(contents, made_at), document_sha256=document.sha256,
                  answers_sha256=answers_sha)


def evidence_listed(record_json: bytes, files: dict[str, bytes]) -> list[dict[str, Any]]:
    """The record's evidence entries with the embedded bytes (already checked against them), in E order."""
    try:
        listed = json.loads(record_json.decode("utf-8")).get("evidence") or []
    except (UnicodeDecodeError, ValueError, AttributeError):
        return []
    return [{**entry, "data": files[entry["file"]]} for entry in listed]


def zip_files(contents: dict[str, bytes], moment: datetime) -> bytes:
    stamp = audit.as_utc(moment).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive_zip:
        for name in contents:  # in the order of BUNDLE_FILES
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive_zip.writestr(info, contents[name])
    return out.getvalue()


def audit_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "time": audit.as_utc(event.created_at).isoformat(timespec="microseconds"),
        "action": event.action,
        "actor": event.actor.email if event.actor else None,
        "actor_id": event.actor_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def audit_trail_json(assessment: Assessment, trail: list[dict[str, Any]]) -> bytes:
    document = {
        "format": AUDIT_FORMAT,
        "organisation": {"id": assessment.organisation_id, "name": assessment.organisation.name},
        "assessment_id": assessment.id,
        "revision": assessment.revision,
        "events": trail,
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def audit_trail_csv(trail: list[dict[str, Any]]) -> bytes:
    return csvfile.write_rows([AUDIT_COLUMNS] + [
        [row["seq"], row["time"], row["action"], row["actor"] or "",
         "" if row["actor_id"] is None else row["actor_id"],
         json.dumps(row["details"], ensure_ascii=False, sort_keys=True, separators=(",", ":")),
         row["prev_hash"], row["hash"]]
        for row in trail]).encode("utf-8")


def _paragraph(text: str, indent: str = "") -> str:
    return textwrap.fill(text, width=78, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _utc(moment: datetime) -> str:
    return audit.as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def verification_text(assessment: Assessment, signature: Signature, document: ArchivedDocument,
                      answers_sha: str, actor: User, made_at: datetime, record_name: str = "record.json",
                      evidence: list[dict[str, Any]] | None = None) -> str:
    """verification.txt, in the assessment's language; ``record_name`` is the embedded record's file name,
    ``evidence`` the record's evidence entries (the files are in the bundle's evidence/ folder)."""
    evidence = evidence or []
    try:
        role = ROLE_LABELS[Role(signature.signer_role)]
    except (ValueError, KeyError):
        role = signature.signer_role
    signed_at = audit.as_utc(signature.signed_at)
    with force_locale(assessment.language):
        heading = gettext("Inquiry bundle: data protection impact assessment")
        lines = [heading, "=" * len(heading), ""]
        facts = [
            (gettext("Organisation"), assessment.organisation.name),
            (gettext("Assessment"), assessment.title),
            (gettext("Assessment id"), str(assessment.id)),
            (gettext("Revision"), str(assessment.revision)),
            (gettext("Signed by"), f"{signature.signer_name} ({role}): {signature.meaning}"),
            (gettext("Signed at"), gettext("%(utc)s (UTC); %(local)s Swedish time", utc=_utc(signed_at),
                                           local=local_time(signed_at).strftime("%Y-%m-%d %H:%M %Z"))),
            (gettext("Sealed with"), signature.certificate_subject),
            (gettext("Bundle made"), gettext("%(time)s (UTC) by %(email)s", time=_utc(made_at),
                                             email=actor.email)),
        ]
        width = max(len(label) for label, _value in facts) + 2
        lines += [f"{label + ':':<{width}}{value}" for label, value in facts]
        if assessment.status is Status.SUPERSEDED:
            lines += ["", _paragraph(gettext(
                "A later revision of this assessment has since been approved. This bundle is for revision "
                "%(revision)s, as it was approved and signed.", revision=assessment.revision))]
        lines += ["", gettext("Files and their SHA-256 checksums"), "",
                  f"  {document.sha256}  signed.pdf", f"  {answers_sha}  {record_name}",
                  *(f"  {item['sha256']}  {EVIDENCE_DIR}/{item['file']}" for item in evidence), ""]
        if record_name == "record.json":
            described = gettext(
                "signed.pdf is the approved report exactly as it was signed and stored in the organisation's "
                "write-once archive. record.json is the machine-readable record of the whole assessment "
                "(answers, risks, measures, conclusion and approval), embedded in signed.pdf; its format is "
                "described by a published JSON Schema. audit-trail.json and audit-trail.csv hold this "
                "assessment's events from the organisation's audit trail.")
        else:
            described = gettext(
                "signed.pdf is the approved report exactly as it was signed and stored in the organisation's "
                "write-once archive. answers.json is the machine-readable record of the answers, embedded in "
                "signed.pdf. audit-trail.json and audit-trail.csv hold this assessment's events from the "
                "organisation's audit trail.")
        lines += [_paragraph(described), ""]
        if evidence:
            lines += [_paragraph(gettext(
                "The evidence files in the folder %(folder)s are embedded in signed.pdf as attachments and "
                "listed in %(file)s (\u201cevidence\u201d) with their SHA-256 checksums and what each "
                "supports:", folder=f"{EVIDENCE_DIR}/", file=record_name)), ""]
            lines += [_paragraph(f"{item['file']}: {evidence_support(assessment, item['supports'])}", "  ")
                      for item in evidence]
            lines.append("")
        check = gettext("How to check")
        lines += [check, "-" * len(check), ""]
        steps = [
            (gettext("The signature. Run:"), "pdfsig signed.pdf", gettext(
                "The signature must be reported as valid and must cover the whole document. It is made with "
                "the organisation's electronic seal (%(subject)s). Adobe Acrobat Reader or pyHanko show the "
                "same.", subject=signature.certificate_subject)),
            (gettext("The checksums. Run:"), f"sha256sum signed.pdf {record_name}", gettext(
                "Both must equal the checksums above. The checksum of signed.pdf is the one recorded in the "
                "organisation's archive and in the audit event \u201csigned\u201d (document_sha256); the "
                "checksum of %(file)s is written into the signature's reason, printed in the report "
                "and recorded in the same event (answers_sha256).", file=record_name)),
            (gettext("The embedded record. Run:"),
             f"pdfdetach -savefile {record_name} -o embedded.json signed.pdf\n"
             f"cmp embedded.json {record_name}", gettext(
                 "The two files must be identical: %(file)s is the record that was signed.", file=record_name)),
            *([(gettext("The evidence files. Run:"),
                f"pdfdetach -saveall -o {EVIDENCE_DIR}-embedded signed.pdf\n"
                f"sha256sum {EVIDENCE_DIR}/*", gettext(
                    "pdfdetach saves every file embedded in signed.pdf (the evidence and %(file)s); each "
                    "evidence file must be identical to the one in the folder %(folder)s, and its checksum "
                    "must be the one listed above and in %(file)s.", file=record_name,
                    folder=f"{EVIDENCE_DIR}/"))] if evidence else []),
            (gettext("The audit trail."), None, gettext(
                "Each event's hash is the SHA-256 of a JSON object with the keys prev (prev_hash), org "
                "(organisation id), seq, assessment (assessment id), actor (actor_id), action, details and "
                "at (time), with sorted keys, no spaces and UTF-8 text. Each event's prev_hash is the hash "
                "of the event before it in the organisation's chain. The bundle holds only this "
                "assessment's events, so gaps in seq are expected (they are events about other "
                "assessments or users); wherever two events have consecutive seq numbers, the later "
                "one's prev_hash equals the earlier one's hash.")),
        ]
        for number, (intro, commands, explanation) in enumerate(steps, start=1):
            lines.append(_paragraph(f"{number}. {intro}"))
            if commands:
                lines += ["", *(f"       {command}" for command in commands.splitlines()), ""]
            lines += [_paragraph(explanation, "   "), ""]
    return "\n".join(lines)
