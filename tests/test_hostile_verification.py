"""CPU exhaustion on the verification page (penetration test): a sealed report with many more signatures
than the tool writes, each a tiny incremental update, cost about n³ to validate and logged a traceback per
signature. Such a document is refused before any signature is validated, with a clear message and one log
line; what is validated has a CPU budget. (Speed itself is measured in docs/benchmarks.md.)"""
from __future__ import annotations

import logging
import subprocess
import time

import pytest

from assessments.report import verification as checks
from assessments.report.seal import load_seal
from tests.conftest import require_tool
from tests.hostile_pdf import with_extra_signatures
from tests.test_verification_page import signed_pdf, upload, verified_events  # noqa: F401 (a fixture)


@pytest.fixture
def seal(app):
    from pathlib import Path

    return load_seal(Path(app.config["SEAL_DIR"]) / "exempelkommun.p12")


@pytest.fixture
def many_signatures(signed_pdf, seal) -> bytes:
    """The real sealed report with 12 more signatures by the same, trusted seal: before the limits it read
    as valid, and 120 of them took 40–85 s of CPU."""
    return with_extra_signatures(signed_pdf.read_bytes(), seal, 12)


def test_many_signatures_are_refused_with_a_message_and_one_log_line(app, client, auth, many_signatures, caplog):
    auth.login("lasare@exempelkommun.example")  # any logged-in user, even a viewer
    caplog.set_level(logging.DEBUG)
    started = time.process_time()
    response = upload(client, many_signatures)
    spent = time.process_time() - started
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Signaturen är inte giltig." in html and "Signaturen är giltig." not in html
    assert ("Dokumentet har ändrats 13 gånger efter att det skapades; en rapport som förseglats av Konsekvens "
            "har ändrats en gång, när den förseglades. Det har inte kontrollerats vidare.") in html
    assert spent < 5  # generous: a refusal reads the cross-reference sections only (about 0.01 s)
    event = verified_events(app, "exempelkommun")[-1]
    assert event.details["outcome"] == "refused" and event.details["matched"] is False
    assert event.details["problems"] == [checks.PROBLEM_TOO_MANY_REVISIONS.format(count=13)]

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["assessments.report.verification"]
    assert "verification refused" in warnings[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)  # no traceback, at any level


def test_a_second_signature_in_one_more_revision_is_refused(signed_pdf, seal):
    """Within the revisions a changed copy may have, a second signature is still more than the tool writes."""
    report = checks.verify_pdf(with_extra_signatures(signed_pdf.read_bytes(), seal, 1), [seal.certificate])
    assert report.refused and not report.valid
    assert report.problems == (checks.PROBLEM_TOO_MANY_SIGNATURES.format(count=2),)


def test_an_encrypted_document_is_refused(signed_pdf, seal, tmp_path):
    encrypted = tmp_path / "encrypted.pdf"
    subprocess.run([require_tool("qpdf"), "--encrypt", "", "owner", "256", "--", str(signed_pdf), str(encrypted)],
                   check=True, capture_output=True)
    report = checks.verify_pdf(encrypted.read_bytes(), [seal.certificate])
    assert report.refused and report.problems == (checks.PROBLEM_ENCRYPTED,)


def test_what_is_validated_has_a_cpu_budget(signed_pdf, seal, caplog):
    data = signed_pdf.read_bytes()
    assert checks.verify_pdf(data, [seal.certificate], cpu_seconds=30).valid
    caplog.set_level(logging.WARNING)
    report = checks.verify_pdf(data, [seal.certificate], cpu_seconds=0.0001)  # less than any real check takes
    assert report.refused and not report.valid and report.problems == (checks.PROBLEM_TOO_COSTLY,)
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None
    assert checks.verify_pdf(data, [seal.certificate]).valid  # the timer is gone afterwards


def test_the_sealed_report_is_within_the_limits(signed_pdf, seal):
    """The limits describe what report/signing.py writes: one signature, two revisions."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(signed_pdf.read_bytes()))
    assert reader.xrefs.total_revisions == 2 < checks.MAX_REVISIONS
    assert len(reader.embedded_signatures) == checks.MAX_SIGNATURES == 1


def test_refusals_are_translated(app):
    from assessments.views.verification import translated_problem

    with app.test_request_context(), app.app_context():
        for problem, swedish in [
            (checks.PROBLEM_TOO_MANY_SIGNATURES.format(count=61), "Dokumentet har 61 underskrifter"),
            (checks.PROBLEM_TOO_MANY_REVISIONS.format(count=3), "Dokumentet har ändrats 3 gånger"),
            (checks.PROBLEM_ENCRYPTED, "Dokumentet är krypterat"),
            (checks.PROBLEM_TOO_COSTLY, "Kontrollen av dokumentet tog längre tid än tillåtet"),
        ]:
            assert translated_problem(problem).startswith(swedish)
