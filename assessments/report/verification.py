"""Check a sealed report: is the PAdES signature intact, from a trusted seal, and final?

Meant for untrusted input (a PDF uploaded on a "verify this document" page), so nothing
here raises on bad data: every failure becomes a human-readable English line in
:attr:`SignatureReport.problems`.  Stream decoding goes through pyHanko's reader,
whose default decode limits (0.38+) bound decompression bombs.

No network access happens: the validation context is built with
``allow_fetching=False``; the trust roots are given by the caller (the seal
certificates the organisation has used), never taken from the document.

Bounded work (docs/benchmarks.md, "Verification of hostile uploads"): validating a
signature re-reads the revisions after it, so a file with n signatures, each a tiny
incremental update, costs about n³ (120 took 85 s of CPU). A report sealed by this
tool has exactly one signature and two revisions (WeasyPrint's, then the seal's), so
before any signature is validated a document with more signatures, more revisions
than :data:`MAX_REVISIONS`, or encryption is refused with one log line; and the
caller may give a CPU budget (``cpu_seconds``) for the rest.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from ..budget import OverBudget as _OverBudget
from ..budget import cpu_budget as _cpu_budget

__all__ = ["EmbeddedFile", "SignatureReport", "attached_files", "embedded_files", "verify_pdf"]

logger = logging.getLogger(__name__)
# pyHanko logs every signature it cannot trust as a WARNING with a traceback; here that is an expected
# outcome of checking an upload, reported in SignatureReport.problems, so only errors are let through.
for _noisy in ("pyhanko.sign.validation", "pyhanko.sign.diff_analysis", "pyhanko_certvalidator"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)

MAX_NAME_TREE_DEPTH = 16  # the embedded-files name tree of a report has depth 1
# What a report sealed by this tool is (report/signing.py): one signature, in an incremental update of the
# rendered file. One further update is still examined, so that a sealed report changed and saved again is
# reported as "content was added after signing" rather than refused; anything beyond is refused unread.
MAX_SIGNATURES = 1
MAX_REVISIONS = 3

PROBLEM_NOT_PDF = "The file is not a readable PDF document."
PROBLEM_NO_SIGNATURE = "The document has no signature."
PROBLEM_MODIFIED = ("The document has been modified after it was signed: the signed content does not match the "
                    "signature.")
PROBLEM_BAD_SIGNATURE = "The signature value is not cryptographically valid."
PROBLEM_UNTRUSTED = "The signer is unknown: the signing certificate does not chain to a trusted seal."
PROBLEM_NOT_WHOLE_FILE = "The signature does not cover the whole file: content was added after signing."
PROBLEM_NOT_PERMITTED = ("The document was changed after it was certified, and its certification permits no "
                         "changes.")
PROBLEM_VALIDATION_FAILED = "The signature could not be validated: {detail}"
PROBLEM_EARLIER_SIGNATURE = "An earlier signature ({field}) is not valid."
# Refusals: the document is not built like a report this tool seals, so its signatures are not validated.
PROBLEM_TOO_MANY_SIGNATURES = ("The document has {count} signatures; a report sealed by Konsekvens has one. It was "
                               "not checked further.")
PROBLEM_TOO_MANY_REVISIONS = ("The document was changed {count} times after it was created; a report sealed by "
                              "Konsekvens was changed once, when it was sealed. It was not checked further.")
PROBLEM_ENCRYPTED = "The document is encrypted; a report sealed by Konsekvens never is. It was not checked further."
PROBLEM_TOO_COSTLY = ("Checking the document took longer than allowed; a report sealed by Konsekvens is checked "
                      "in a fraction of that time. It was not checked further.")


@dataclass(frozen=True)
class SignatureReport:
    """Outcome of :func:`verify_pdf`; fields describe the document's last signature.

    ``signer_subject`` is the common name of the signing certificate (the full
    distinguished name when there is no CN).  ``signing_time`` is the time of a
    signature timestamp when present, otherwise the signer's own claimed time.
    """

    valid: bool
    intact: bool
    trusted: bool
    covers_whole_file: bool
    subfilter: str | None
    signer_subject: str | None
    signing_time: datetime | None
    reason: str | None
    name: str | None
    problems: tuple[str, ...]
    refused: bool = False  # not built like a sealed report, or too costly: the signatures were not validated
    signer_certificate: object | None = None  # the last signature's certificate (asn1crypto), to say whose seal
    # DocMDP (ISO 32000-1 §12.8.2.2): the permission level of a certification signature, 1 = no changes;
    # None for an approval signature (reports sealed before certification was introduced).
    certification_level: int | None = None


def _failed(*problems: str, **known) -> SignatureReport:
    fields: dict[str, Any] = {
        "valid": False,
        "intact": False,
        "trusted": False,
        "covers_whole_file": False,
        "subfilter": None,
        "signer_subject": None,
        "signing_time": None,
        "reason": None,
        "name": None,
    }
    fields.update(known)
    return SignatureReport(problems=tuple(problems), **fields)


def _text(sig_object, key: str) -> str | None:
    try:
        value = sig_object.get(key)
    except Exception:
        return None
    if value is None:
        return None
    return str(value)


def _subject(certificate) -> str | None:
    if certificate is None:
        return None
    try:
        return certificate.subject.native.get("common_name") or certificate.subject.human_friendly
    except Exception:
        return None


def _read(data: bytes) -> PdfFileReader | None:
    # ISO 32000-1 §7.5.2 / implementation note: readers accept the header anywhere in
    # the first 1024 bytes.
    if not isinstance(data, bytes | bytearray) or b"%PDF-" not in data[:1024]:
        return None
    try:
        # strict=False: be lenient about cosmetic syntax errors; the signature's
        # byte-range digest decides about integrity, not the parser.
        reader = PdfFileReader(io.BytesIO(bytes(data)), strict=False)
        reader.root  # noqa: B018  (forces the trailer / catalogue to be resolved)
    except Exception as exc:
        logger.debug("unreadable PDF: %s", _short(exc))
        return None
    return reader


def _refused(problem: str, size: int) -> SignatureReport:
    logger.warning("verification refused (%d bytes): %s", size, problem)  # one line, no traceback
    return _failed(problem, refused=True)


def verify_pdf(data: bytes, trust_roots: list, *, cpu_seconds: float | None = None) -> SignatureReport:
    """Validate the document's signatures against ``trust_roots`` (asn1crypto certificates).

    ``valid`` is true only if the last signature is cryptographically intact, chains to
    one of ``trust_roots`` and covers the whole file (ETSI EN 319 142-1 PAdES baseline
    with no incremental update after it), and any earlier signatures are valid too.
    A document not built like a sealed report, or whose check would use more than
    ``cpu_seconds`` of CPU, is refused (``refused``) without validating its signatures.
    """
    size = len(data) if isinstance(data, bytes | bytearray) else 0
    try:
        with _cpu_budget(cpu_seconds):
            return _verify(data, trust_roots, size)
    except _OverBudget:
        return _refused(PROBLEM_TOO_COSTLY, size)


def _verify(data: bytes, trust_roots: list, size: int) -> SignatureReport:
    # Every revision ends with "startxref" (ISO 32000-1 §7.5.5); counting them in the bytes costs
    # milliseconds, where the parser would read each revision's cross-reference section first (40,000 tiny
    # revisions in 5 MB took it 2.6 s). The parser's own count below is the exact one.
    if size and (found := bytes(data).count(b"startxref")) > MAX_REVISIONS:
        return _refused(PROBLEM_TOO_MANY_REVISIONS.format(count=found - 1), size)
    reader = _read(data)
    if reader is None:
        return _failed(PROBLEM_NOT_PDF)
    try:
        if reader.encrypted:
            return _refused(PROBLEM_ENCRYPTED, size)
        revisions = reader.xrefs.total_revisions
        if revisions > MAX_REVISIONS:
            return _refused(PROBLEM_TOO_MANY_REVISIONS.format(count=revisions - 1), size)
        signatures = list(reader.embedded_regular_signatures)
    except Exception as exc:
        logger.info("could not enumerate signatures: %s", _short(exc))
        return _failed(PROBLEM_VALIDATION_FAILED.format(detail=_short(exc)))
    if not signatures:
        return _failed(PROBLEM_NO_SIGNATURE)
    if len(signatures) > MAX_SIGNATURES:
        return _refused(PROBLEM_TOO_MANY_SIGNATURES.format(count=len(signatures)), size)

    problems: list[str] = []
    report_fields: dict = {}
    for position, embedded in enumerate(signatures):
        is_last = position == len(signatures) - 1
        sig_object = getattr(embedded, "sig_object", None)
        fields = {
            "subfilter": _text(sig_object, "/SubFilter") if sig_object is not None else None,
            "reason": _text(sig_object, "/Reason") if sig_object is not None else None,
            "name": _text(sig_object, "/Name") if sig_object is not None else None,
        }
        try:
            fields["signer_subject"] = _subject(embedded.signer_cert)
        except Exception:
            fields["signer_subject"] = None
        try:
            level = embedded.docmdp_level
        except Exception:
            level = None
        try:
            context = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False)
            # A certification that permits no changes (DocMDP level 1) is broken by any later revision, so
            # the revisions after it are not compared object by object: for a tagged report that comparison
            # costs seconds, and it would only confirm what the coverage already shows.
            status = validate_pdf_signature(embedded, context, skip_diff=level is MDPPerm.NO_CHANGES)
        except Exception as exc:
            logger.info("signature validation failed: %s", _short(exc))
            if is_last:
                problems.append(PROBLEM_VALIDATION_FAILED.format(detail=_short(exc)))
                report_fields = {**fields, "intact": False, "trusted": False, "covers_whole_file": False}
            else:
                problems.append(PROBLEM_EARLIER_SIGNATURE.format(field=embedded.field_name))
            continue

        intact = bool(status.intact)
        crypto_valid = bool(status.valid)
        trusted = bool(status.trusted)
        whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        # Level 1: any revision after the signed one is a change the certification does not permit (ISO
        # 32000-1 §12.8.2.2; the seal carries its timestamp inside, so no later timestamp update is expected).
        # Other levels: pyHanko's comparison of the later revisions decides (docmdp_ok).
        not_permitted = (level is MDPPerm.NO_CHANGES and not whole_file) or \
            (level is not None and level is not MDPPerm.NO_CHANGES and status.docmdp_ok is False)
        if not is_last:
            if not (intact and crypto_valid and trusted):
                problems.append(PROBLEM_EARLIER_SIGNATURE.format(field=embedded.field_name))
            continue

        if not intact:
            problems.append(PROBLEM_MODIFIED)
        elif not crypto_valid:
            problems.append(PROBLEM_BAD_SIGNATURE)
        if not trusted:
            problems.append(PROBLEM_UNTRUSTED)
        if not whole_file:
            problems.append(PROBLEM_NOT_WHOLE_FILE)
        if not_permitted:
            problems.append(PROBLEM_NOT_PERMITTED)
        signing_time = None
        if status.timestamp_validity is not None:
            signing_time = status.timestamp_validity.timestamp
        elif status.signer_reported_dt is not None:
            signing_time = status.signer_reported_dt
        report_fields = {
            **fields,
            "intact": intact and crypto_valid,
            "trusted": trusted,
            "covers_whole_file": whole_file,
            "signer_subject": _subject(status.signing_cert) or fields["signer_subject"],
            "signing_time": signing_time,
            "signer_certificate": status.signing_cert,
            "certification_level": level.value if level is not None else None,
        }

    return SignatureReport(
        valid=not problems,
        intact=report_fields.get("intact", False),
        trusted=report_fields.get("trusted", False),
        covers_whole_file=report_fields.get("covers_whole_file", False),
        subfilter=report_fields.get("subfilter"),
        signer_subject=report_fields.get("signer_subject"),
        signing_time=report_fields.get("signing_time"),
        reason=report_fields.get("reason"),
        name=report_fields.get("name"),
        problems=tuple(problems),
        signer_certificate=report_fields.get("signer_certificate"),
        certification_level=report_fields.get("certification_level"),
    )


def _short(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _name_tree_leaves(node, depth: int = 0) -> Iterable[tuple[str, object]]:
    if depth > MAX_NAME_TREE_DEPTH or not isinstance(node, generic.DictionaryObject):
        return
    names = node.get("/Names")
    if names is not None:
        names = names.get_object() if hasattr(names, "get_object") else names
        items = list(names)  # iterating keeps indirect references (indexing resolves them)
        for index in range(0, len(items) - 1, 2):
            yield str(items[index]), items[index + 1]
    kids = node.get("/Kids")
    if kids is not None:
        for kid in kids:
            yield from _name_tree_leaves(kid.get_object(), depth + 1)


@dataclass(frozen=True)
class EmbeddedFile:
    """One embedded file as the document carries it: the name (/UF, else /F), the bytes, the /AFRelationship
    of its file specification and the MIME type of its stream (/Subtype), each None when absent."""

    name: str | None
    data: bytes | None
    relationship: str | None
    mime_type: str | None


def _name_value(value) -> str | None:
    return None if value is None else str(value).lstrip("/").replace("#2F", "/").replace("#2f", "/")


def _embedded(filespec) -> EmbeddedFile | None:
    filespec = filespec.get_object()
    if not isinstance(filespec, generic.DictionaryObject):
        return None
    name = None
    for key in ("/UF", "/F"):
        if key in filespec:
            name = str(filespec[key])
            break
    relationship = _name_value(filespec.get("/AFRelationship"))
    ef = filespec.get("/EF")
    if ef is None:
        return EmbeddedFile(name, None, relationship, None)
    stream = ef.get_object().get("/F") or ef.get_object().get("/UF")
    if stream is None:
        return EmbeddedFile(name, None, relationship, None)
    stream = stream.get_object()
    return EmbeddedFile(name, stream.data, relationship, _name_value(stream.get("/Subtype")))


def embedded_files(data: bytes) -> list[EmbeddedFile]:
    """Every embedded file, once per file specification, from the EmbeddedFiles name tree and the PDF/A-3
    /AF array (a specification in both is listed once; two specifications of one name are both listed);
    ``[]`` when the data is not a readable PDF."""
    reader = _read(data)
    if reader is None:
        return []
    found: list[EmbeddedFile] = []
    try:
        root = reader.root
        candidates: list[tuple[str | None, object]] = []
        names = root.get("/Names")
        if names is not None:
            tree = names.get_object().get("/EmbeddedFiles")
            if tree is not None:
                candidates.extend(_name_tree_leaves(tree.get_object()))
        for filespec in root.get("/AF", None) or ():
            candidates.append((None, filespec))
        seen: set = set()
        for tree_name, filespec in candidates:
            reference = (filespec.idnum, filespec.generation) if isinstance(filespec, generic.IndirectObject) \
                else id(filespec)
            if reference in seen:
                continue
            seen.add(reference)
            try:
                item = _embedded(filespec)
            except Exception as exc:
                logger.debug("unreadable embedded file: %s", _short(exc))
                continue
            if item is not None:
                found.append(item if item.name else EmbeddedFile(tree_name, item.data, item.relationship,
                                                                 item.mime_type))
    except Exception as exc:
        logger.debug("could not list embedded files: %s", _short(exc))
    return found


def by_name(files: list[EmbeddedFile]) -> dict[str, bytes]:
    """Embedded files' bytes by name, the first of each name."""
    found: dict[str, bytes] = {}
    for item in files:
        if item.name and item.data is not None and item.name not in found:
            found[item.name] = item.data
    return found


def attached_files(data: bytes) -> dict[str, bytes]:
    """Embedded files by name (the first of each name; see :func:`embedded_files`); ``{}`` when the data is
    not a readable PDF."""
    return by_name(embedded_files(data))
