"""The CLI: init (twice), demo to a signed PDF, verify accepting it and rejecting a changed copy."""
import subprocess
from pathlib import Path

from sqlalchemy import func, select

from assessments.extensions import db
from assessments.models import Organisation, User
from tests.answering import latest_demo
from tests.conftest import require_tool


def test_init_is_safe_to_run_twice(app, runner, monkeypatch):
    app.config["DEMO_PASSWORD"] = None
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "kommunikator@exempelkommun.example" in first.output
    assert "jurist@exempelbanken.example" in first.output
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0, second.output
    assert "already present" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 3
        assert db.session.scalar(select(func.count()).select_from(User)) == 15


def test_demo_signs_and_verify_accepts_it_and_rejects_a_changed_byte(app, runner, demo_orgs, tmp_path):
    result = runner.invoke(args=["demo", "--name", latest_demo()])
    assert result.exit_code == 0, result.output
    pdf = Path(result.output.strip().splitlines()[-1])
    assert pdf.is_file()
    ok = runner.invoke(args=["verify", str(pdf)])
    assert ok.exit_code == 0, ok.output
    assert "Signature:  valid" in ok.output and "matches archived document" in ok.output
    assert "Certified:  DocMDP level 1 (no changes permitted)" in ok.output
    assert "Record:     record.json, SHA-256 " in ok.output and "follows docs/record.schema.json" in ok.output

    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    bad = runner.invoke(args=["verify", str(changed)])
    assert bad.exit_code == 1
    assert "NOT valid" in bad.output and "matches NO archived document" in bad.output


def test_demo_pdf_passes_poppler_checks(signed_demo):
    pdfsig = require_tool("pdfsig")
    pdf = str(signed_demo.pdf)
    sig = subprocess.run([pdfsig, pdf], capture_output=True, text=True).stdout
    assert "Signature is Valid" in sig and "ETSI.CAdES.detached" in sig
    meta = subprocess.run([require_tool("pdfinfo"), "-meta", pdf], capture_output=True, text=True).stdout
    assert 'pdfaid:part="3"' in meta or "<pdfaid:part>3</pdfaid:part>" in meta
    attached = subprocess.run([require_tool("pdfdetach"), "-list", pdf], capture_output=True, text=True).stdout
    assert attached.splitlines() == ["1 embedded files", "1: record.json"]
    fonts = subprocess.run([require_tool("pdffonts"), pdf], capture_output=True, text=True).stdout
    rows = fonts.strip().splitlines()[2:]
    assert rows and all(" yes " in row for row in rows), fonts


def test_verify_rejects_a_file_that_is_not_a_pdf(app, runner, demo_orgs, tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    result = runner.invoke(args=["verify", str(junk)])
    assert result.exit_code == 1
    assert "NOT valid" in result.output


def test_verify_fails_a_sealed_report_with_an_appended_overlay(signed_demo, runner, tmp_path):
    """An incremental update that only whites out part of a page (e.g. the conclusion) after sealing: the
    certification permits no changes, so verification fails and says why."""
    from tests.report.test_signing import overlay

    pdf = signed_demo.pdf
    changed = tmp_path / "overlay.pdf"
    changed.write_bytes(overlay(pdf.read_bytes(), page_index=1))
    checked = runner.invoke(args=["verify", str(changed)])
    assert checked.exit_code == 1, checked.output
    assert "Signature:  NOT valid" in checked.output
    assert "Problem:    The document was changed after it was certified, and its certification permits no " \
           "changes." in checked.output


def test_verify_fails_a_sealed_document_whose_record_does_not_follow_the_schema(app, runner, demo_orgs, tmp_path):
    from assessments.report.pdf import render_pdf
    from assessments.report.signing import sign_pdf
    from assessments.signoff import organisation_seal
    from tests.factories import organisation

    with app.app_context():
        seal = organisation_seal(organisation("exempelkommun"))
    rendered = render_pdf("<html lang='sv'><body><p>Rapport</p></body></html>",
                          record_json=b'{"format": "konsekvens.record/1", "answers": "no"}', title="T", lang="sv")
    path = tmp_path / "bad-record.pdf"
    path.write_bytes(sign_pdf(rendered.data, seal, box=None, stamp_lines=[], reason="r", name="n"))
    checked = runner.invoke(args=["verify", str(path)])
    assert checked.exit_code == 1, checked.output
    assert "Signature:  valid" in checked.output
    assert "Record:     record.json, SHA-256 " in checked.output and "NOT valid: record.json does not follow " \
           "the schema konsekvens.record/1" in checked.output
