"""RFC 3161 signature timestamps (PAdES B-T) from a configured time-stamping authority.

The authority is real HTTP on 127.0.0.1, run in a thread of this process: an RFC 3161 endpoint whose
answers come from pyHanko's ``DummyTimeStamper`` with a TSA certificate made here (RSA: the dummy
timestamper signs with RSA only, docs/stack-notes.md).  Nothing leaves the loopback interface, and every
network wait is bounded.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import html
import io
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask_babel import lazy_gettext
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import NonexistentAttributeError, find_unique_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import func, select

from assessments import workflow
from assessments.extensions import db
from assessments.models import ArchivedDocument, Assessment, AuditEvent, Signature, Status
from assessments.report import timestamps
from assessments.report.seal import load_certificate
from assessments.report.signing import TimestampError
from tests.answering import latest_demo, version_of
from tests.conftest import DEMO_PASSWORD, require_tool
from tests.factories import KOMMUN, answered_assessment, user

# The user-facing message, as signoff.py writes it (compared after translation, whatever the locale).
TSA_MESSAGE = ("The time-stamping service could not be reached or gave an invalid answer, so the document "
               "could not be signed. Nothing was archived; the assessment is still in review. Try again "
               "later, or ask your administrator to check the time-stamping service.")
SOCKET_TIMEOUT = 10  # seconds; no test waits longer on a socket


# -- an RFC 3161 authority on the loopback interface ------------------------------------------------------

@dataclass(frozen=True)
class TsaIdentity:
    certificate: asn1_x509.Certificate
    key: asn1_keys.PrivateKeyInfo


@pytest.fixture(scope="session")
def tsa_identity() -> TsaIdentity:
    """A self-signed TSA certificate: critical extended key usage id-kp-timeStamping (RFC 3161 §2.3)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Konsekvens test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Konsekvens test TSA")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return TsaIdentity(
        asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
        asn1_keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption())),
    )


@dataclass
class LoopbackTsa:
    url: str
    certificate: asn1_x509.Certificate
    mode: str = "ok"  # "ok" | "garbage" | "html" | "other_digest" | "forged"
    requests: list[bytes] = field(default_factory=list)


def _handler(tsa: LoopbackTsa, stamper: DummyTimeStamper):
    class Handler(BaseHTTPRequestHandler):
        timeout = SOCKET_TIMEOUT

        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 64 * 1024))
            tsa.requests.append(body)
            content_type = "application/timestamp-reply"
            if tsa.mode == "garbage":
                answer = b"\x30\x82\x01\x00 this is not an RFC 3161 response"
            elif tsa.mode == "html":
                answer, content_type = b"<html><body>Service Unavailable</body></html>", "text/html"
            else:
                request = tsp.TimeStampReq.load(body)
                if tsa.mode == "other_digest":  # a well-formed token, but for a different document
                    imprint = request["message_imprint"]
                    request = tsp.TimeStampReq({
                        "version": 1, "nonce": request["nonce"], "cert_req": True,
                        "message_imprint": tsp.MessageImprint({
                            "hash_algorithm": imprint["hash_algorithm"],
                            "hashed_message": bytes(len(imprint["hashed_message"].native))})})
                response = stamper.request_tsa_response(request)
                if tsa.mode == "forged":  # right digest, but the TSA's signature does not verify
                    signer_info = response["time_stamp_token"]["content"]["signer_infos"][0]
                    signature = bytearray(signer_info["signature"].native)
                    signature[-1] ^= 0x01
                    signer_info["signature"] = bytes(signature)
                answer = response.dump(force=True)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):  # keep the test output clean
            pass

    return Handler


@pytest.fixture
def tsa(tsa_identity):
    tsa = LoopbackTsa(url="", certificate=tsa_identity.certificate)
    stamper = DummyTimeStamper(tsa_cert=tsa_identity.certificate, tsa_key=tsa_identity.key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(tsa, stamper))
    server.daemon_threads = True
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield tsa
    server.shutdown()
    server.server_close()
    thread.join(timeout=SOCKET_TIMEOUT)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: bound, then released (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- helpers --------------------------------------------------------------------------------------------

def embedded_signature(pdf: bytes):
    signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert len(signatures) == 1
    return signatures[0]


def timestamp_token(pdf: bytes):
    """The signature-time-stamp token in the seal's unsigned attributes, or None."""
    signer_info = embedded_signature(pdf).signer_info
    try:
        return find_unique_cms_attribute(signer_info["unsigned_attrs"], "signature_time_stamp_token")
    except NonexistentAttributeError:
        return None


def message_in_cli_locale(app) -> str:
    with app.app_context():  # the CLI has no request: flask_babel's default locale, as the command used
        return str(lazy_gettext(TSA_MESSAGE))


def archived_files(app) -> list[Path]:
    root = Path(app.config["ARCHIVE_DIR"])
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(ArchivedDocument)),
                db.session.scalar(select(func.count()).select_from(Signature)))


# -- configuration --------------------------------------------------------------------------------------

def test_tsa_url_comes_from_the_environment_and_defaults_to_none(monkeypatch, tmp_path):
    from flask import Flask

    from assessments.config import configure

    def configured() -> Flask:
        app = Flask("konsekvens-config-test", instance_path=str(tmp_path))  # no instance config.py here
        configure(app, None)
        return app

    monkeypatch.delenv("KONSEKVENS_TSA_URL", raising=False)
    assert configured().config["TSA_URL"] is None
    monkeypatch.setenv("KONSEKVENS_TSA_URL", "http://127.0.0.1:9/tsa")
    assert configured().config["TSA_URL"] == "http://127.0.0.1:9/tsa"


def test_timestamper_only_when_configured():
    assert timestamps.timestamper_from_config({"TSA_URL": None}) is None
    assert timestamps.timestamper_from_config({"TSA_URL": "  "}) is None
    stamper = timestamps.timestamper_from_config({"TSA_URL": "http://127.0.0.1:9/tsa"})
    assert isinstance(stamper, timestamps.CheckedTimeStamper)
    assert stamper.url == "http://127.0.0.1:9/tsa" and 0 < stamper.timeout <= 30


# -- B-T with the authority -----------------------------------------------------------------------------

def test_demo_seal_carries_a_timestamp_from_the_configured_tsa(app, runner, demo_orgs, tsa):
    pdfsig = require_tool("pdfsig")
    app.config["TSA_URL"] = tsa.url
    result = runner.invoke(args=["demo", "--name", latest_demo()])
    assert result.exit_code == 0, result.output
    assert tsa.requests, "the TSA was never asked"
    path = Path(result.output.strip().splitlines()[-1])
    pdf = path.read_bytes()

    token = timestamp_token(pdf)
    assert token is not None, "the seal has no signature timestamp"
    signed_data = token["content"]
    assert signed_data["encap_content_info"]["content_type"].native == "tst_info"
    assert [c.chosen.dump() for c in signed_data["certificates"]] == [tsa.certificate.dump()]
    sid = signed_data["signer_infos"][0]["sid"].chosen
    assert sid["serial_number"].native == tsa.certificate.serial_number

    seal = load_certificate(Path(app.config["SEAL_DIR"]) / "exempelkommun.p12")
    status = validate_pdf_signature(
        embedded_signature(pdf),
        ValidationContext(trust_roots=[seal], allow_fetching=False),
        ts_validation_context=ValidationContext(trust_roots=[tsa.certificate], allow_fetching=False))
    assert status.bottom_line, status.pretty_print_details()
    stamp = status.timestamp_validity
    assert stamp is not None and stamp.intact and stamp.valid and stamp.trusted
    assert stamp.signing_cert.dump() == tsa.certificate.dump()
    assert abs(stamp.timestamp - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)

    checked = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, timeout=60)
    assert "Signature is Valid" in checked.stdout, checked.stdout + checked.stderr
    assert "ETSI.CAdES.detached" in checked.stdout

    verified = runner.invoke(args=["verify", str(path)])
    assert verified.exit_code == 0, verified.output
    assert "Signature:  valid" in verified.output


def test_without_tsa_url_the_seal_has_no_timestamp(app, runner, demo_orgs, tsa):
    app.config["TSA_URL"] = None
    result = runner.invoke(args=["demo", "--name", latest_demo()])
    assert result.exit_code == 0, result.output
    pdf = Path(result.output.strip().splitlines()[-1]).read_bytes()
    assert timestamp_token(pdf) is None
    assert tsa.requests == []


# -- a failing authority: nothing signed, nothing archived ----------------------------------------------

def test_unreachable_tsa_fails_the_demo_with_the_message_and_archives_nothing(app, runner, demo_orgs,
                                                                             closed_port):
    app.config["TSA_URL"] = f"http://127.0.0.1:{closed_port}/tsa"
    result = runner.invoke(args=["demo", "--name", latest_demo()])
    assert result.exit_code == 1, result.output
    assert message_in_cli_locale(app) in result.output
    assert counts(app) == (0, 0)
    assert archived_files(app) == []
    with app.app_context():
        assert db.session.scalars(select(Assessment).where(Assessment.status == Status.APPROVED)).all() == []
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "signed")).all() == []


@pytest.mark.parametrize("mode", ["garbage", "html", "other_digest", "forged"])
def test_a_tsa_answering_garbage_fails_the_demo_and_archives_nothing(app, runner, demo_orgs, tsa, mode):
    tsa.mode = mode
    app.config["TSA_URL"] = tsa.url
    result = runner.invoke(args=["demo", "--name", latest_demo()])
    assert result.exit_code == 1, result.output
    assert message_in_cli_locale(app) in result.output
    assert tsa.requests
    assert counts(app) == (0, 0)
    assert archived_files(app) == []


def test_a_hanging_tsa_times_out(app, runner, demo_orgs, monkeypatch):
    """An authority that accepts the connection and never answers: bounded by the client's timeout."""
    monkeypatch.setattr("assessments.signoff.timestamper_from_config",
                        lambda config: timestamps.CheckedTimeStamper(config["TSA_URL"], timeout=1))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # the kernel completes the handshake; nobody ever reads or answers
        app.config["TSA_URL"] = f"http://127.0.0.1:{silent.getsockname()[1]}/tsa"
        started = time.monotonic()
        result = runner.invoke(args=["demo", "--name", latest_demo()])
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert message_in_cli_locale(app) in result.output
    assert elapsed < 30
    assert counts(app) == (0, 0)
    assert archived_files(app) == []


def test_web_approval_with_unreachable_tsa_keeps_the_assessment_in_review(app, client, auth, demo_orgs,
                                                                         closed_port):
    app.config["TSA_URL"] = f"http://127.0.0.1:{closed_port}/tsa"
    with app.app_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        assessment_id, version = assessment.id, assessment.version
    auth.login(f"jurist@{KOMMUN}")
    page = client.get(f"/assessments/{assessment_id}/approve")
    assert page.status_code == 200
    client.get("/language/en")  # the msgid itself, whatever the Swedish translation says
    response = client.post(f"/assessments/{assessment_id}/approve", data={
        "version": version_of(page.get_data(as_text=True)), "password": DEMO_PASSWORD,
        "attest_context": "y", "attest_risks": "y", "attest_measures": "y", "attest_commitment": "y"})
    # The time-stamping service is unavailable: a 503 page with the message and the way back.
    assert response.status_code == 503 and response.headers["Retry-After"]
    page = html.unescape(response.get_data(as_text=True))
    assert TSA_MESSAGE in page and f'href="/assessments/{assessment_id}"' in page
    with app.app_context():
        stored = db.session.get(Assessment, assessment_id)
        assert stored.status is Status.IN_REVIEW and stored.version == version
    assert counts(app) == (0, 0)
    assert archived_files(app) == []


# -- the checker itself ---------------------------------------------------------------------------------

def test_messages_never_show_credentials_from_the_url():
    assert timestamps.display_url("https://user:secret@tsa.example:8443/rfc3161?k=v") == \
        "https://tsa.example:8443/rfc3161"
    assert timestamps.display_url("http://[::1]:8080/tsa") == "http://[::1]:8080/tsa"


def test_signing_error_names_the_timestamp_as_cause(closed_port):
    """``sign_pdf`` raises TimestampError (a SigningError) when the TSA is why sealing failed."""
    from assessments.report.signing import SigningError

    assert issubclass(TimestampError, SigningError)
    stamper = timestamps.CheckedTimeStamper(f"http://127.0.0.1:{closed_port}/tsa", timeout=2)
    with pytest.raises(timestamps.TimestampUnavailable, match="failed"):
        asyncio.run(stamper.async_timestamp(b"\x00" * 32, "sha256"))
