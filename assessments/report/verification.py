"""Check a sealed report: is the PAdES signature intact, from a trusted seal, and final?

Meant for untrusted input (a PDF uploaded on a "verify this document" page), so nothing
here raises on bad data: every failure becomes a human-readable English line in
:attr:`SignatureReport.problems`.  Stream decoding goes through pyHanko's reader,
whose default decode limits (0.38+) bound decompression bombs.

No network access happens: the validation context is built with
``allow_fetching=False``; the trust roots are given by the caller (the seal
certificates the organisation has used), never taken from the document.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

__all__ = ["SignatureReport", "attached_files", "verify_pdf"]

logger = logging.getLogger(__name__)

MAX_NAME_TREE_DEPTH = 16  # the embedded-files name tree of a report has depth 1

PROBLEM_NOT_PDF = "The file is not a readable PDF document."
PROBLEM_NO_SIGNATURE = "The document has no signature."
PROBLEM_MODIFIED = "The document has been modified after it was signed: the signed content does not match the signature."
PROBLEM_BAD_SIGNATURE = "The signature value is not cryptographically valid."
PROBLEM_UNTRUSTED = "The signer is unknown: the signing certificate does not chain to a trusted seal."
PROBLEM_NOT_WHOLE_FILE = "The signature does not cover the whole file: content was added after signing."
PROBLEM_VALIDATION_FAILED = "The signature could not be validated: {detail}"
PROBLEM_EARLIER_SIGNATURE = "An earlier signature ({field}) is not valid."


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


def _failed(*problems: str, **known) -> SignatureReport:
    fields = {
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
    except Exception:
        logger.debug("unreadable PDF", exc_info=True)
        return None
    return reader


def verify_pdf(data: bytes, trust_roots: list) -> SignatureReport:
    """Validate the document's signatures against ``trust_roots`` (asn1crypto certificates).

    ``valid`` is true only if the last signature is cryptographically intact, chains to
    one of ``trust_roots`` and covers the whole file (ETSI EN 319 142-1 PAdES baseline
    with no incremental update after it), and any earlier signatures are valid too.
    """
    reader = _read(data)
    if reader is None:
        return _failed(PROBLEM_NOT_PDF)
    try:
        signatures = list(reader.embedded_regular_signatures)
    except Exception as exc:
        logger.debug("could not enumerate signatures", exc_info=True)
        return _failed(PROBLEM_VALIDATION_FAILED.format(detail=_short(exc)))
    if not signatures:
        return _failed(PROBLEM_NO_SIGNATURE)

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
            context = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False)
            status = validate_pdf_signature(embedded, context)
        except Exception as exc:
            logger.debug("signature validation failed", exc_info=True)
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
        for index in range(0, len(names) - 1, 2):
            yield str(names[index]), names[index + 1]
    kids = node.get("/Kids")
    if kids is not None:
        for kid in kids:
            yield from _name_tree_leaves(kid.get_object(), depth + 1)


def _filespec_bytes(filespec) -> tuple[str | None, bytes | None]:
    filespec = filespec.get_object()
    if not isinstance(filespec, generic.DictionaryObject):
        return None, None
    name = None
    for key in ("/UF", "/F"):
        if key in filespec:
            name = str(filespec[key])
            break
    ef = filespec.get("/EF")
    if ef is None:
        return name, None
    stream = ef.get_object().get("/F") or ef.get_object().get("/UF")
    if stream is None:
        return name, None
    return name, stream.get_object().data


def attached_files(data: bytes) -> dict[str, bytes]:
    """Embedded files by name (from the EmbeddedFiles name tree and the PDF/A-3 /AF
    array); ``{}`` when the data is not a readable PDF."""
    reader = _read(data)
    if reader is None:
        return {}
    files: dict[str, bytes] = {}
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
        for tree_name, filespec in candidates:
            try:
                spec_name, content = _filespec_bytes(filespec)
            except Exception:
                logger.debug("unreadable embedded file", exc_info=True)
                continue
            name = spec_name or tree_name
            if name and content is not None and name not in files:
                files[name] = content
    except Exception:
        logger.debug("could not list embedded files", exc_info=True)
        return files
    return files
