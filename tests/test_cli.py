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

    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    bad = runner.invoke(args=["verify", str(changed)])
    assert bad.exit_code == 1
    assert "NOT valid" in bad.output and "matches NO archived document" in bad.output


def test_demo_pdf_passes_poppler_checks(app, runner, demo_orgs):
    pdfsig = require_tool("pdfsig")
    result = runner.invoke(args=["demo", "--name", latest_demo()])
    pdf = result.output.strip().splitlines()[-1]
    sig = subprocess.run([pdfsig, pdf], capture_output=True, text=True).stdout
    assert "Signature is Valid" in sig and "ETSI.CAdES.detached" in sig
    meta = subprocess.run([require_tool("pdfinfo"), "-meta", pdf], capture_output=True, text=True).stdout
    assert 'pdfaid:part="3"' in meta or "<pdfaid:part>3</pdfaid:part>" in meta
    attached = subprocess.run([require_tool("pdfdetach"), "-list", pdf], capture_output=True, text=True).stdout
    assert "answers.json" in attached
    fonts = subprocess.run([require_tool("pdffonts"), pdf], capture_output=True, text=True).stdout
    rows = fonts.strip().splitlines()[2:]
    assert rows and all(" yes " in row for row in rows), fonts


def test_verify_rejects_a_file_that_is_not_a_pdf(app, runner, demo_orgs, tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    result = runner.invoke(args=["verify", str(junk)])
    assert result.exit_code == 1
    assert "NOT valid" in result.output
