"""Evidence in the sealed record (docs/evidence.md): files attached to a question, a risk and a measure are
embedded in the signed PDF/A-3 as associated files with their relationship, MIME type and checksum, listed in
record.json and in the report; the document stays PDF/A-3a and PDF/UA-1 with its certification intact; and
``flask verify``, ``archive verify`` and the inquiry bundle find a swapped attachment."""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import zipfile

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject
from sqlalchemy import select

from assessments import workflow
from assessments.evidence.listing import Target
from assessments.evidence.service import attach
from assessments.extensions import db
from assessments.models import ArchivedDocument, Risk, Role, User
from assessments.risk.service import measures_of
from assessments.signoff import archive, sign_approval
from tests.conftest import make_sealed_backup, pdf_checker, require_tool, restore_sealed_backup
from tests.evidence_files import jpeg_image, pdf_document, png_image
from tests.factories import answered_assessment

ADDENDUM = pdf_document(text="Tillagg om gemensamt personuppgiftsansvar, godkant 2026-03-01")
SCREENSHOT = png_image(320, 200)
PHOTO = jpeg_image(120, 90)
MINUTES = "Protokoll från samrådet med följarna 2026-10-12.\nDe flesta ville ha kvar kommentarerna.\n".encode()


def _attach_all(assessment, author) -> dict[str, bytes]:
    """Four files: to a per-platform question, a global question, a risk and a measure."""
    risk = db.session.scalars(select(Risk).where(Risk.assessment_id == assessment.id, Risk.active.is_(True))
                              .order_by(Risk.number)).first()
    measure = measures_of(assessment)[0]
    files = {
        "Tillägg gemensamt ansvar.pdf": (ADDENDUM, Target(question_key="joint_controller_addendum",
                                                         platform="facebook"), "Source", "Tillägget som godkänts"),
        "sidans inställningar.png": (SCREENSHOT, Target(question_key="purposes"), "Supplement", None),
        "foto av anslaget.jpg": (PHOTO, Target(risk_id=risk.id), "Supplement", "Anslaget i receptionen"),
        "protokoll.txt": (MINUTES, Target(measure_id=measure.id), "Source", "Samrådets protokoll"),
    }
    for name, (data, target, relationship, description) in files.items():
        attach(assessment, author, data=data, filename=name, target=target, relationship=relationship,
               description=description)
    db.session.flush()
    return {name: data for name, (data, *_rest) in files.items()}


@pytest.fixture(scope="module")
def sealed_backup(migrated, tmp_path_factory, seal_dir):
    """A demo assessment with evidence, approved and sealed once for the module and kept as a backup:
    (backup, assessment id, the files by name)."""
    def build(app):
        with app.test_request_context():
            assessment = answered_assessment()
            files = _attach_all(assessment, assessment.author)
            reviewer = db.session.scalars(select(User).where(User.organisation_id == assessment.organisation_id,
                                                             User.role == Role.LEGAL)).first()
            workflow.submit_for_review(assessment, assessment.author)
            db.session.flush()
            sign_approval(assessment, reviewer, expected_version=assessment.version)
            db.session.commit()
            return assessment.id, files

    directory = tmp_path_factory.mktemp("sealed-evidence")
    assessment_id, files = make_sealed_backup(migrated, directory, seal_dir, build)
    return directory / "backup", assessment_id, files


@pytest.fixture
def sealed(app, sealed_backup):
    """This test's database and archive with the sealed assessment: (pdf bytes, assessment id, the files)."""
    backup, assessment_id, files = sealed_backup
    restore_sealed_backup(app, backup)
    with app.app_context():
        document = db.session.scalars(select(ArchivedDocument).where(
            ArchivedDocument.assessment_id == assessment_id)).one()
        return archive().read(document.path), assessment_id, files


def _relationships(pdf: bytes) -> dict[str, tuple[str, str, bytes]]:
    """Name → (/AFRelationship, MIME type, /Params /CheckSum) of every /AF file, as pypdf reads them."""
    reader = PdfReader(io.BytesIO(pdf))
    found = {}
    for reference in reader.trailer["/Root"]["/AF"]:
        spec = reference.get_object() if isinstance(reference, IndirectObject) else reference
        stream = spec["/EF"]["/F"].get_object()
        checksum = stream["/Params"]["/CheckSum"]
        found[str(spec["/UF"])] = (str(spec["/AFRelationship"]), str(stream["/Subtype"]),
                                   checksum.original_bytes if hasattr(checksum, "original_bytes") else bytes(checksum))
    return found


def test_attached_evidence_is_embedded_listed_and_sealed(app, sealed, tmp_path):
    from assessments.report.record import validate
    from assessments.report.verification import attached_files, verify_pdf
    from assessments.signoff import trusted_seal_certificates

    pdf, _assessment_id, files = sealed
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    record = json.loads(attached_files(pdf)["record.json"])
    validate(record)
    entries = record["evidence"]
    assert [e["name"] for e in entries] == list(files)
    assert [e["ref"] for e in entries] == ["E1", "E2", "E3", "E4"]
    assert [e["file"] for e in entries] == [f"E{n}-{name}" for n, name in enumerate(files, start=1)]
    assert [e["mime_type"] for e in entries] == ["application/pdf", "image/png", "image/jpeg", "text/plain"]
    assert [e["relationship"] for e in entries] == ["Source", "Supplement", "Supplement", "Source"]
    assert entries[0]["supports"] == {"question": "joint_controller_addendum", "platform": "facebook"}
    assert entries[1]["supports"] == {"question": "purposes", "platform": None}
    assert entries[2]["supports"]["risk"].startswith("R") and entries[3]["supports"] == {"measure": "M1"}

    # pdfdetach (poppler, independent of our reader) lists every file and saves each byte for byte.
    listed = subprocess.run([require_tool("pdfdetach"), "-list", str(path)], capture_output=True, text=True,
                            check=True).stdout
    for entry in entries:
        assert entry["file"] in listed
    out = tmp_path / "detached"
    out.mkdir()
    subprocess.run([require_tool("pdfdetach"), "-saveall", "-o", str(out), str(path)], check=True)
    for entry, (name, data) in zip(entries, files.items(), strict=True):
        saved = (out / entry["file"]).read_bytes()
        assert saved == data, name
        assert hashlib.sha256(saved).hexdigest() == entry["sha256"] and len(saved) == entry["size"]
    # The relationship, the MIME type and the PDF's own checksum (MD5, ISO 32000-1 §7.11.4) of each file.
    described = _relationships(pdf)
    assert described["record.json"][0] == "/Data"
    for entry, data in zip(entries, files.values(), strict=True):
        relationship, mime_type, checksum = described[entry["file"]]
        assert relationship == f"/{entry['relationship']}"
        assert mime_type == "/" + entry["mime_type"]
        assert checksum == hashlib.md5(data).digest()

    # Archival and accessible still, and certified with no changes permitted.
    checker = pdf_checker()
    for profile in ("3a", "ua1"):
        report = checker.validate_pdf_bytes(pdf, profile=profile)
        assert [(f.rule_id, f.message) for f in report.failures] == [], profile
    with app.app_context():
        check = verify_pdf(pdf, trusted_seal_certificates())
    assert check.valid and check.certification_level == 1
    pdfsig = subprocess.run([require_tool("pdfsig"), str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in pdfsig and "Total document signed" in pdfsig

    # The report lists each file with what it supports and its SHA-256, and names it at its question.
    text = " ".join(subprocess.run([require_tool("pdftotext"), str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    squeezed = re.sub(r"[\s\u00ad\u200b-]", "", text)
    assert "Bilagor" in text
    for entry in entries:
        assert re.sub(r"[\s-]", "", entry["file"]) in squeezed
        assert entry["sha256"] in squeezed
    assert "Bilagor: E1" in text and "Bilagor: E2" in text and "Bilagor: E3" in text and "Bilagor: E4" in text


SWAPPED = pdf_document(text="Ett annat tillagg")
PAGE = "<!doctype html><html lang='sv'><head><meta charset='utf-8'><title>T</title></head><body><p>T</p></body></html>"


def _resealed_with_swapped_attachment(app, pdf: bytes, assessment_id: int) -> bytes:
    """The sealed report's own record.json and evidence, one file swapped, sealed again with the same seal:
    what an insider with the seal, or a bug, could produce."""
    from assessments.models import Assessment
    from assessments.report.pdf import AssociatedFile, render_pdf
    from assessments.report.signing import sign_pdf
    from assessments.report.verification import attached_files, embedded_files
    from assessments.signoff import organisation_seal

    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        files = [AssociatedFile(item.name, SWAPPED if item.name.startswith("E1-") else item.data, item.mime_type,
                                item.relationship, item.name)
                 for item in embedded_files(pdf) if item.name != "record.json"]
        rendered = render_pdf(PAGE, record_json=attached_files(pdf)["record.json"], title="T", lang="sv",
                              files=files)
        return sign_pdf(rendered.data, organisation_seal(assessment.organisation), box=None, stamp_lines=["T"],
                        reason="Granskad och godkänd", name="Jurist")


def _swapped_in_an_update(pdf: bytes) -> bytes:
    """The sealed report with E1's bytes replaced in an incremental update appended after the seal."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for reference in writer.root["/AF"]:
        spec = reference.get_object()
        if str(spec["/UF"]).startswith("E1-"):
            spec["/EF"]["/F"] = writer.add_object(generic.StreamObject(
                {"/Type": generic.NameObject("/EmbeddedFile"), "/Subtype": generic.NameObject("/application/pdf")},
                stream_data=SWAPPED))
            writer.update_container(spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_verify_finds_a_swapped_attachment(app, runner, sealed, tmp_path):
    pdf, assessment_id, _files = sealed
    original = tmp_path / "signed.pdf"
    original.write_bytes(pdf)
    result = runner.invoke(args=["verify", str(original)])
    assert result.exit_code == 0, result.output
    assert "Evidence:   4 file(s) listed in the record, each embedded as listed" in result.output

    resealed = tmp_path / "resealed.pdf"
    resealed.write_bytes(_resealed_with_swapped_attachment(app, pdf, assessment_id))
    result = runner.invoke(args=["verify", str(resealed)])
    assert result.exit_code == 1
    assert "Signature:  valid" in result.output  # the seal holds: only the evidence check finds it
    assert re.search(r"Problem: +E1-Tillägg gemensamt ansvar\.pdf does not match the SHA-256 the record gives",
                     result.output), result.output

    updated = tmp_path / "updated.pdf"
    updated.write_bytes(_swapped_in_an_update(pdf))
    result = runner.invoke(args=["verify", str(updated)])
    assert result.exit_code == 1
    assert "Signature:  NOT valid" in result.output
    assert "E1-Tillägg gemensamt ansvar.pdf does not match the SHA-256 the record gives" in result.output


def test_archive_verify_finds_a_swapped_attachment_in_an_archived_report(app, runner, sealed):
    pdf, assessment_id, _files = sealed
    assert runner.invoke(args=["archive", "verify"]).exit_code == 0
    with app.app_context():
        row = db.session.scalars(select(ArchivedDocument).where(ArchivedDocument.assessment_id == assessment_id)).one()
        path = archive().path_for(row.path)
    swapped = _resealed_with_swapped_attachment(app, pdf, assessment_id)
    path.chmod(0o640)
    path.write_bytes(swapped)
    result = runner.invoke(args=["archive", "verify"])
    assert result.exit_code == 1
    assert "EVIDENCE" in result.output and "does not match the SHA-256 the record gives" in result.output


def test_the_inquiry_bundle_carries_the_evidence_and_lists_it(app, sealed):
    from assessments.exchange import BUNDLE_FILES, BundleError, inquiry_bundle
    from assessments.models import Assessment
    from tests.factories import user

    pdf, assessment_id, files = sealed
    with app.app_context(), app.test_request_context():
        assessment = db.session.get(Assessment, assessment_id)
        bundle = inquiry_bundle(assessment, user("lasare@exempelkommun.example"))
        db.session.commit()
    archive_zip = zipfile.ZipFile(io.BytesIO(bundle.data))
    names = archive_zip.namelist()
    evidence = [f"evidence/E{n}-{name}" for n, name in enumerate(files, start=1)]
    assert names == [*BUNDLE_FILES[:2], *evidence, *BUNDLE_FILES[2:]]
    text = archive_zip.read("verification.txt").decode("utf-8")
    for name, data in zip(evidence, files.values(), strict=True):
        assert archive_zip.read(name) == data
        assert f"{hashlib.sha256(data).hexdigest()}  {name}" in text
    assert "pdfdetach -saveall" in text

    # A swapped attachment in the archive: no bundle is handed over.
    with app.app_context(), app.test_request_context():
        row = db.session.scalars(select(ArchivedDocument).where(ArchivedDocument.assessment_id == assessment_id)).one()
        path = archive().path_for(row.path)
        swapped = _resealed_with_swapped_attachment(app, pdf, assessment_id)
        path.chmod(0o640)
        path.write_bytes(swapped)
        row.sha256 = hashlib.sha256(swapped).hexdigest()  # as if the archive's record were changed with it
        with pytest.raises(BundleError, match="not as its record lists it"):
            inquiry_bundle(db.session.get(Assessment, assessment_id), user("lasare@exempelkommun.example"))
        db.session.rollback()
