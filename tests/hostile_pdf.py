"""Hostile PDFs for the verification page (penetration test, item "CPU exhaustion"): a report with many more
signatures, each a tiny incremental update, than the tool ever writes. Shared by the tests and
``benchmarks/hostile_pdf.py``."""
from __future__ import annotations

import io

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers


class _DisregardingSigner(signers.PdfSigner):
    """An attacker's signer: it appends signatures although the report's certification permits no changes
    (pyHanko's own signer refuses to)."""

    def _enforce_certification_constraints(self, reader):  # pyHanko 0.38
        return


def with_extra_signatures(pdf: bytes, seal, count: int) -> bytes:
    """``pdf`` with ``count`` more invisible signatures appended, one incremental update each."""
    data = pdf
    for number in range(count):
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        name = f"Extra{number}"
        out = _DisregardingSigner(
            signers.PdfSignatureMetadata(field_name=name, subfilter=fields.SigSeedSubFilter.PADES),
            signer=seal.signer, new_field_spec=fields.SigFieldSpec(name),
        ).sign_pdf(writer)
        data = out.getvalue()
    return data
