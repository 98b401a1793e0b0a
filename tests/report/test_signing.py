"""Seal handling, PAdES signing and verification, checked with pyHanko and poppler."""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import stat

import pypdf
import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.timestamps import DummyTimeStamper

from assessments.report.seal import SealError, create_self_signed_seal, load_certificate, load_seal
from assessments.report.signing import SigningError, sign_pdf
from assessments.report.verification import (
    PROBLEM_MODIFIED,
    PROBLEM_NO_SIGNATURE,
    PROBLEM_NOT_PDF,
    PROBLEM_NOT_PERMITTED,
    PROBLEM_NOT_WHOLE_FILE,
    PROBLEM_UNTRUSTED,
    attached_files,
    verify_pdf,
)

from .conftest import ANSWERS_JSON, SEAL_PASSPHRASE, STAMP_LINES, report_html, run_tool


@pytest.fixture(scope="module")
def signed_path(signed, tmp_path_factory):
    path = tmp_path_factory.mktemp("signed") / "signed.pdf"
    path.write_bytes(signed)
    return path


# -- seal ------------------------------------------------------------------------------


def test_seal_certificate_profile(seal, seal_files):
    cert = seal.certificate
    assert seal.subject_name == "Exempelby kommun (DEMO)"
    assert cert.subject.native == {
        "common_name": "Exempelby kommun (DEMO)",
        "organization_name": "Exempelby kommun",
        "country_name": "SE",
    }
    assert cert.self_signed in ("maybe", "yes")
    assert cert.key_usage_value.native == {"digital_signature", "non_repudiation"}
    key_usage = next(e for e in cert["tbs_certificate"]["extensions"] if e["extn_id"].native == "key_usage")
    assert key_usage["critical"].native is True
    assert cert.public_key.algorithm == "rsa" and cert.public_key.bit_size == 3072
    assert cert["signature_algorithm"].hash_algo == "sha256"
    lifetime = cert.not_valid_after - cert.not_valid_before
    assert dt.timedelta(days=3650) <= lifetime <= dt.timedelta(days=3660)
    assert stat.S_IMODE(os.stat(seal_files["main"]).st_mode) == 0o600


def test_seal_errors(seal_files, tmp_path):
    with pytest.raises(SealError) as wrong:
        load_seal(seal_files["main"], b"fel fras")
    assert wrong.value.code == "wrong_passphrase"
    with pytest.raises(SealError) as none_given:
        load_seal(seal_files["main"])
    assert none_given.value.code == "wrong_passphrase"
    with pytest.raises(SealError) as missing:
        load_seal(tmp_path / "nope.p12")
    assert missing.value.code == "missing"
    garbage = tmp_path / "garbage.p12"
    garbage.write_bytes(os.urandom(512))
    with pytest.raises(SealError) as unreadable:
        load_seal(garbage)
    assert unreadable.value.code == "unreadable"
    assert str(unreadable.value).endswith(".")  # a sentence, shown in logs


def test_seal_is_not_overwritten(seal_files):
    with pytest.raises(FileExistsError):
        create_self_signed_seal(seal_files["other"], organisation_name="X")


def _p12(tmp_path, *, content_commitment=True, not_after_days=365, name="p.p12"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=not_after_days))
        .add_extension(
            x509.KeyUsage(True, content_commitment, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / name
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"t", key, cert, None, serialization.NoEncryption())
    )
    return path, key, cert


def test_unsuitable_seals(tmp_path):
    no_nr, _, _ = _p12(tmp_path, content_commitment=False, name="nonr.p12")
    with pytest.raises(SealError, match="non-repudiation") as err:
        load_seal(no_nr)
    assert err.value.code == "unsuitable"
    expired, _, _ = _p12(tmp_path, not_after_days=-1, name="expired.p12")
    with pytest.raises(SealError, match="expired") as err:
        load_seal(expired)
    assert err.value.code == "unsuitable"
    # …but its certificate still loads, to verify documents sealed while it was valid.
    assert load_certificate(expired).subject.native["common_name"] == "Test"


def test_load_certificate_formats(seal, seal_files, tmp_path):
    assert load_certificate(seal_files["main"], SEAL_PASSPHRASE).dump() == seal.certificate.dump()
    pem_path = tmp_path / "seal.pem"
    der = seal.certificate.dump()
    from asn1crypto import pem

    pem_path.write_bytes(pem.armor("CERTIFICATE", der))
    assert load_certificate(pem_path).dump() == der
    der_path = tmp_path / "seal.cer"
    der_path.write_bytes(der)
    assert load_certificate(der_path).dump() == der
    with pytest.raises(SealError) as err:
        load_certificate(seal_files["main"], b"fel")
    assert err.value.code == "wrong_passphrase"


# -- signing and verification -----------------------------------------------------------


def test_signed_report_verifies(signed, seal):
    report = verify_pdf(signed, [seal.certificate])
    assert report.problems == ()
    assert report.valid and report.intact and report.trusted and report.covers_whole_file
    assert report.subfilter == "/ETSI.CAdES.detached"
    assert report.signer_subject == "Exempelby kommun (DEMO)"
    assert report.reason == "Granskad och godkänd"
    assert report.name == "Åsa Öberg"
    assert report.signing_time is not None
    assert abs(dt.datetime.now(dt.UTC) - report.signing_time) < dt.timedelta(minutes=10)


def test_pdfsig_agrees(signed_path):
    out = run_tool("pdfsig", signed_path)
    assert "Signature is Valid" in out, out
    assert re.search(r"Signature Type:\s+ETSI\.CAdES\.detached", out), out
    assert "Total document signed" in out, out


def test_signed_file_stays_pdfa(signed_path, rendered):
    meta = run_tool("pdfinfo", "-meta", signed_path)
    assert re.search(r'pdfaid:part(="|>)3', meta), meta
    rows = run_tool("pdffonts", signed_path).splitlines()[2:]
    assert all(row.split()[-5] == "yes" for row in rows), rows
    assert any("DejaVuSans" in row.split()[0] for row in rows), "stamp font missing"
    assert "No syntax or stream encoding errors" in run_tool("qpdf", "--check", signed_path)
    # Incremental update: the unsigned PDF/A is a byte-exact prefix of the sealed file.
    assert signed_path.read_bytes().startswith(rendered.data)
    assert attached_files(signed_path.read_bytes()) == {"record.json": ANSWERS_JSON}


def test_the_seal_is_a_certification_that_permits_no_changes(signed, seal):
    """DocMDP (ISO 32000-1 §12.8.2.2) level 1: read by pyHanko from the signature's reference dictionary."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import MDPPerm

    embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert embedded.docmdp_level is MDPPerm.NO_CHANGES
    assert verify_pdf(signed, [seal.certificate]).certification_level == 1


def overlay(data: bytes, page_index: int = 0) -> bytes:
    """What an attacker appends: an incremental update drawing a white box over a page (and nothing else)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    patch = writer.add_object(generic.StreamObject(stream_data=b"q 1 1 1 rg 40 300 400 200 re f Q"))
    writer.add_stream_to_page(page_index, patch)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_appended_overlay_breaks_the_certification(signed, seal, tmp_path):
    changed = overlay(signed)
    report = verify_pdf(changed, [seal.certificate])
    assert not report.valid
    assert PROBLEM_NOT_PERMITTED in report.problems and PROBLEM_NOT_WHOLE_FILE in report.problems
    # pyHanko's own validator, on its own: the modification is not one the certification permits.
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    status = validate_pdf_signature(PdfFileReader(io.BytesIO(changed)).embedded_signatures[0],
                                    ValidationContext(trust_roots=[seal.certificate], allow_fetching=False))
    assert status.docmdp_ok is False and status.bottom_line is False
    path = tmp_path / "overlay.pdf"
    path.write_bytes(changed)
    assert "Not total document signed" in run_tool("pdfsig", path)


def _to_unicode_map(font) -> dict[int, str]:
    text = font["/ToUnicode"].get_object().get_data().decode("ascii")
    mapping = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for code, target in re.findall(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(target).decode("utf-16-be")
    return mapping


def test_the_stamp_text_reads_back_through_its_font_s_to_unicode_map(signed):
    """Every glyph the stamp draws maps to the character it shows (ISO 32000-1 §9.10.3), so the seal's text
    can be extracted and read out."""
    reader = pypdf.PdfReader(io.BytesIO(signed))
    widget = next(a.get_object() for page in reader.pages for a in page.get("/Annots", [])
                  if a.get_object().get("/FT") == "/Sig")
    drawn = []

    def walk(xobject):
        resources = xobject.get("/Resources", {})
        fonts = {name: font.get_object() for name, font in resources.get("/Font", {}).items()}
        content = xobject.get_data().decode("latin-1")
        for font in fonts.values():
            mapping = _to_unicode_map(font)
            for run in re.findall(r"<([0-9A-Fa-f]+)>\s*Tj|\[(.*?)\]\s*TJ", content, re.S):
                hexes = re.findall(r"<([0-9A-Fa-f]+)>", run[1]) if run[1] else [run[0]]
                drawn.append("".join(mapping[int(h[i:i + 4], 16)] for h in hexes for i in range(0, len(h), 4)))
        for inner in resources.get("/XObject", {}).values():
            walk(inner.get_object())

    walk(widget["/AP"]["/N"].get_object())
    assert drawn == STAMP_LINES


def test_the_signed_file_is_pdfa3a_and_pdfua1_for_an_independent_checker(signed):
    from tests.conftest import pdf_checker

    page = pdf_checker()
    for profile in ("3a", "ua1"):
        report = page.validate_pdf_bytes(signed, profile=profile)
        assert [(f.rule_id, f.message) for f in report.failures] == [], profile
        assert report.is_compliant and report.rules.passed > 0


def test_info_and_xmp_agree_after_sealing(signed):
    reader = pypdf.PdfReader(io.BytesIO(signed))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert reader.metadata.producer and f'pdf:Producer="{reader.metadata.producer}"' in xmp
    assert "pyHanko" not in reader.metadata.producer  # the seal's update leaves /Info and XMP alone


def test_stamp_is_visible_where_the_box_is(signed, signed_path, rendered):
    box = rendered.signature_box
    page_number = box.page_index + 1
    text = run_tool("pdftotext", "-layout", "-f", page_number, "-l", page_number, signed_path, "-")
    for line in STAMP_LINES:
        assert line in text, text
    reader = pypdf.PdfReader(io.BytesIO(signed))
    widgets = [
        annot.get_object()
        for annot in reader.pages[box.page_index].get("/Annots", [])
        if annot.get_object().get("/FT") == "/Sig"
    ]
    assert len(widgets) == 1
    widget = widgets[0]
    assert [float(v) for v in widget["/Rect"]] == pytest.approx([box.x1, box.y1, box.x2, box.y2], abs=0.01)
    assert widget["/F"] & 4, "PDF/A requires the Print flag on annotations"


def test_flipped_byte_is_detected(signed, seal):
    data = bytearray(signed)
    # A byte inside a content stream, well within the first signed range.
    position = data.index(b"stream", 1000) + 40
    data[position] ^= 0x01
    report = verify_pdf(bytes(data), [seal.certificate])
    assert not report.valid
    assert not report.intact
    assert PROBLEM_MODIFIED in report.problems


def test_update_after_signing_is_detected(signed, seal):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/Lang"] = generic.pdf_string("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    report = verify_pdf(out.getvalue(), [seal.certificate])
    assert report.intact and report.trusted
    assert not report.covers_whole_file
    assert not report.valid
    assert PROBLEM_NOT_WHOLE_FILE in report.problems


def test_unknown_signer(signed, other_seal):
    report = verify_pdf(signed, [other_seal.certificate])
    assert report.intact
    assert not report.trusted
    assert not report.valid
    assert PROBLEM_UNTRUSTED in report.problems
    assert verify_pdf(signed, []).trusted is False


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-1.7\n", os.urandom(4096), b"%PDF-1.7\n" + os.urandom(4096), "not bytes"],
    ids=["empty", "header-only", "random", "random-with-header", "str"],
)
def test_garbage_never_raises(data, seal):
    report = verify_pdf(data, [seal.certificate])  # type: ignore[arg-type]
    assert not report.valid
    assert report.problems
    assert attached_files(data) == {}  # type: ignore[arg-type]


def test_truncated_signed_pdf(signed, seal):
    for cut in (len(signed) // 3, len(signed) - 200):
        report = verify_pdf(signed[:cut], [seal.certificate])
        assert not report.valid and report.problems


def test_unsigned_pdf(rendered, seal):
    report = verify_pdf(rendered.data, [seal.certificate])
    assert not report.valid
    assert report.problems == (PROBLEM_NO_SIGNATURE,)
    assert PROBLEM_NOT_PDF not in report.problems


def test_invisible_signature_with_timestamp(rendered, seal, tmp_path):
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    now = dt.datetime.now(dt.UTC)
    tsa_cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(tsa_key, hashes.SHA256())
    )
    asn1_cert = asn1_x509.Certificate.load(tsa_cert.public_bytes(serialization.Encoding.DER))
    fixed = dt.datetime(2026, 1, 15, 10, 30, tzinfo=dt.UTC)
    stamper = DummyTimeStamper(
        tsa_cert=asn1_cert,
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        fixed_dt=fixed,
    )
    out = sign_pdf(
        rendered.data, seal, box=None, stamp_lines=[], reason="Test", name="Test", timestamper=stamper
    )
    report = verify_pdf(out, [seal.certificate, asn1_cert])
    assert report.valid, report.problems
    assert report.signing_time == fixed
    path = tmp_path / "ts.pdf"
    path.write_bytes(out)
    assert "Signature is Valid" in run_tool("pdfsig", path)


def test_signing_errors(rendered, seal):
    with pytest.raises(SigningError):
        sign_pdf(b"not a pdf", seal, box=None, stamp_lines=[], reason="r", name="n")
    box = rendered.signature_box
    beyond = type(box)(rendered.page_count, box.x1, box.y1, box.x2, box.y2)
    with pytest.raises(SigningError, match="page"):
        sign_pdf(rendered.data, seal, box=beyond, stamp_lines=["x"], reason="r", name="n")
    signed_once = sign_pdf(rendered.data, seal, box=None, stamp_lines=[], reason="r", name="n")
    with pytest.raises(SigningError):  # the field is already signed
        sign_pdf(signed_once, seal, box=None, stamp_lines=[], reason="r", name="n")


def test_render_and_sign_a_five_page_report(seal):
    """Smoke test of the whole chain on a ~5-page report, as the app does at sign time."""
    from assessments.report.pdf import render_pdf

    rendered = render_pdf(report_html(170), record_json=ANSWERS_JSON, title="T", lang="sv")
    assert 4 <= rendered.page_count <= 7
    out = sign_pdf(
        rendered.data, seal, box=rendered.signature_box, stamp_lines=STAMP_LINES, reason="r", name="n"
    )
    assert verify_pdf(out, [seal.certificate]).valid


def test_the_seal_writes_no_stream_whose_data_ends_in_cr():
    """The seal's own revision (the stamp, its font, an object stream, the cross-reference stream) is held
    to what the report is: compressed data ending in CR reads as CR LF before endstream, one byte short of
    /Length (ISO 19005-3 §6.1.7.1). A cross-reference stream ending so failed PDF/A in about one sealed
    report in fifty."""
    import zlib

    from pyhanko.pdf_utils.xref import XRefStream

    from assessments.report.signing import _unambiguous

    content = next(b"q\n" * n + b"Q" for n in range(1, 1000) if zlib.compress(b"q\n" * n + b"Q").endswith(b"\r"))
    plain = generic.StreamObject(stream_data=content)
    plain.compress()
    assert plain.encoded_data.endswith(b"\r")  # what pyHanko writes by itself
    stream = generic.StreamObject(stream_data=content)
    stream.compress()
    _unambiguous(stream)
    out = io.BytesIO()
    stream.write_to_stream(out)
    assert b"/Filter" not in out.getvalue() and out.getvalue().endswith(content + b"\nendstream")

    # The cross-reference stream computes its data while it is written: positions whose table compresses
    # to data ending in CR, found by trying; written unambiguously, it still lists them.
    def xref(position: int) -> XRefStream:
        table = XRefStream({(0, 1): position, (0, 2): position + 100})
        table.compress()
        return table

    def written(table: XRefStream) -> bytes:
        out = io.BytesIO()
        table.write_to_stream(out)
        return out.getvalue()

    position = next(p for p in range(10, 100_000) if b"\r\nendstream" in written(xref(p)))
    table = xref(position)
    _unambiguous(table)
    data = written(table)
    assert b"\r\nendstream" not in data and b"/Filter" not in data
    assert position.to_bytes(8, "big") in data
    untouched = generic.StreamObject(stream_data=b"q Q")
    untouched.compress()
    _unambiguous(untouched)
    assert untouched.encoded_data == zlib.compress(b"q Q")  # everything else stays compressed
