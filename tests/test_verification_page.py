"""The verification page: a real sealed PDF from `flask demo` uploaded by the organisation's users and by
another organisation's, a changed copy, garbage, no file, too large; nothing is stored, every check is
on the audit trail."""
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from assessments.archive import Archive
from assessments.extensions import db
from assessments.models import ArchivedDocument, Assessment, AuditEvent, Signature
from assessments.report import verification as checks
from assessments.views.verification import PROBLEMS, translated_problem
from tests.factories import organisation


@pytest.fixture
def signed_pdf(signed_demo) -> Path:
    return signed_demo.pdf


def upload(client, data: bytes, name: str = "document.pdf"):
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart({"document": FileStorage(io.BytesIO(data), filename=name,
                                                               content_type="application/pdf")})
    return client.post("/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def without_tokens(html: str) -> str:
    """The logout form's CSRF token carries a timestamp; everything else must be identical."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)


def archived(app) -> ArchivedDocument:
    with app.app_context():
        row = db.session.scalars(select(ArchivedDocument)).one()
        db.session.expunge(row)
        return row


def verified_events(app, slug: str) -> list[AuditEvent]:
    with app.app_context():
        org = organisation(slug)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.organisation_id == org.id,
                                                             AuditEvent.action == "document_verified")
                                    .order_by(AuditEvent.seq)).all()
        for event in events:
            db.session.expunge(event)
        return events


def archive_files(app) -> list[str]:
    return list(Archive(Path(app.config["ARCHIVE_DIR"])).iter_files())


def test_anonymous_is_sent_to_login(client):
    assert client.get("/verify").status_code == 302
    response = client.post("/verify", data={"document": (io.BytesIO(b"%PDF-1.7"), "x.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_form_has_a_labelled_file_input(client, auth, demo_orgs):
    auth.login("lasare@exempelkommun.example")
    page = client.get("/verify")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<label for="document">' in html and 'type="file"' in html and 'id="document"' in html
    assert 'enctype="multipart/form-data"' in html and 'accept="application/pdf,.pdf"' in html


def test_a_valid_archived_pdf_is_valid_and_matches_with_a_link(app, client, auth, signed_pdf):
    row = archived(app)
    files_before = archive_files(app)
    auth.login("lasare@exempelkommun.example")  # any role of the organisation may verify
    client.get("/language/en")
    response = upload(client, signed_pdf.read_bytes())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The signature is valid for your organisation." in html and "Your organisation's (Exempelkommun)" in html
    assert "Exempelkommun (DEMO)" in html  # who sealed it
    with app.app_context():
        organisation_id = db.session.get(Assessment, row.assessment_id).organisation_id
    # The signature's reason names the document id, in the document's language (Swedish for the demo).
    assert f"konsekvensbedömning KB-{organisation_id}-{row.assessment_id}-r{row.revision}" in html
    assert "Certified: no changes permitted after sealing" in html
    assert "<code>record.json</code> – follows its published schema" in html
    assert row.sha256 in html
    assert "The document is exactly the signed document archived for this assessment." in html
    assert f'href="/assessments/{row.assessment_id}"' in html
    assert "Jo Jurist" in html and "Legal reviewer" in html  # the signer, from the Signature row
    # Nothing of the upload is stored; the check itself is on the organisation's audit trail.
    assert archive_files(app) == files_before
    events = verified_events(app, "exempelkommun")
    assert len(events) == 1
    assert events[0].details["sha256"] == row.sha256
    assert events[0].details["outcome"] == "valid" and events[0].details["matched"] is True
    assert events[0].assessment_id == row.assessment_id


def test_the_page_is_swedish_by_default(client, auth, signed_pdf):
    auth.login("jurist@exempelkommun.example")
    html = client.get("/verify").get_data(as_text=True)
    assert 'lang="sv"' in html


def test_a_changed_byte_is_not_valid_with_a_reason(app, client, auth, signed_pdf):
    data = bytearray(signed_pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    auth.login("jurist@exempelkommun.example")
    client.get("/language/en")
    response = upload(client, bytes(data))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The signature is not valid." in html and "The signature is valid." not in html
    assert any(str(message) in html for message in PROBLEMS.values()) or "could not be validated" in html
    assert "does not match any document in your organisation's archive" in html
    assert "/assessments/" not in html.split('id="result-title"')[1]
    event = verified_events(app, "exempelkommun")[-1]
    assert event.details["outcome"] == "invalid" and event.details["matched"] is False
    assert event.details["problems"]


def test_garbage_is_a_clear_400(app, client, auth, demo_orgs):
    auth.login("kommunikator@exempelkommun.example")
    client.get("/language/en")
    response = upload(client, b"this is not a pdf at all", name="notes.pdf")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html and 'href="#document"' in html
    assert "The file is not a PDF document." in html
    assert 'aria-invalid="true"' in html
    assert "Result" not in html
    event = verified_events(app, "exempelkommun")[-1]
    assert event.details["outcome"] == "not_pdf"


def test_no_file_is_a_400_with_the_error_summary(client, auth, demo_orgs):
    auth.login("kommunikator@exempelkommun.example")
    client.get("/language/en")
    response = client.post("/verify", data={}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html and "Choose the PDF file you want to check." in html


def test_too_large_is_shown_on_the_form(app, client, auth, demo_orgs):
    auth.login("kommunikator@exempelkommun.example")
    client.get("/language/en")
    # Over MAX_CONTENT_LENGTH: Werkzeug refuses the body, the page still explains it on the form.
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    response = upload(client, b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024))
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert 'class="error-summary"' in html and "The file is too large. It can be at most 2 MB." in html
    # Without a request limit the page applies its own.
    app.config["MAX_CONTENT_LENGTH"] = None
    response = upload(client, b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert "The file is too large. It can be at most 5 MB." in response.get_data(as_text=True)


def test_another_organisations_document_is_reported_like_an_unknown_one(app, client, auth, signed_pdf):
    archived(app)  # the document is archived (by the demo fixture) before the other organisation looks
    auth.login("lasare@exempelbanken.example")
    client.get("/language/en")
    response = upload(client, signed_pdf.read_bytes())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "does not match any document in your organisation's archive" in html
    assert "exactly the signed document archived" not in html
    assert 'href="/assessments/' not in html
    assert "Jo Jurist" not in html and "Revision" not in html
    # The event goes to the uploader's own trail, without naming the other organisation's record.
    events = verified_events(app, "exempelbanken")
    assert len(events) == 1
    assert events[0].details["matched"] is False and events[0].assessment_id is None
    assert events[0].details.get("archived_document_id") is None
    assert verified_events(app, "exempelkommun") == []

    # Exactly like an unknown document: once the record is gone, the page is the same, byte for byte.
    with app.app_context():
        db.session.execute(delete(Signature))
        db.session.execute(delete(ArchivedDocument))
        db.session.commit()
    unknown = upload(client, signed_pdf.read_bytes())
    assert unknown.status_code == 200
    assert without_tokens(unknown.get_data(as_text=True)) == without_tokens(html)


def test_every_problem_of_verify_pdf_has_a_translatable_sentence():
    for problem in (checks.PROBLEM_NO_SIGNATURE, checks.PROBLEM_MODIFIED, checks.PROBLEM_BAD_SIGNATURE,
                    checks.PROBLEM_UNTRUSTED, checks.PROBLEM_NOT_WHOLE_FILE):
        assert str(PROBLEMS[problem]) == problem
    assert translated_problem(checks.PROBLEM_VALIDATION_FAILED.format(detail="x y")) == \
        "The signature could not be validated: x y"
    assert translated_problem(checks.PROBLEM_EARLIER_SIGNATURE.format(field="Sig1")) == \
        "An earlier signature (Sig1) is not valid."


def test_verifying_writes_no_archive_row(app, client, auth, signed_pdf):
    auth.login("dso@exempelkommun.example")
    upload(client, signed_pdf.read_bytes())
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ArchivedDocument)) == 1


def test_another_organisations_seal_is_named_and_never_valid_for_yours(app, client, auth, signed_pdf):
    """Every organisation's seal is a trust root, so Exempelkommun's document validates for a Region Exempel
    user too: the page says whose seal it is, and not that it is valid for the user's organisation."""
    auth.login("lasare@regionexempel.example")
    client.get("/language/en")
    html = upload(client, signed_pdf.read_bytes()).get_data(as_text=True)
    assert "The signature is valid, but it is not your organisation's seal." in html
    assert "The document was sealed by Exempelkommun with its e-seal" in html
    assert "Another organisation's: Exempelkommun" in html
    assert "valid for your organisation" not in html and "Your organisation's (" not in html
    event = verified_events(app, "regionexempel")[-1]
    assert event.details["outcome"] == "valid" and event.details["own_seal"] is False

    auth.logout()
    auth.login("jurist@exempelkommun.example")
    client.get("/language/sv")
    html = upload(client, signed_pdf.read_bytes()).get_data(as_text=True)
    assert "Signaturen är giltig för din organisation." in html and "Din organisations (Exempelkommun)" in html
    assert verified_events(app, "exempelkommun")[-1].details["own_seal"] is True


def test_a_seal_no_organisation_has_installed_is_untrusted_and_named_as_none(app, client, auth, demo_orgs,
                                                                             tmp_path):
    from assessments.report.pdf import render_pdf
    from assessments.report.seal import create_self_signed_seal, load_seal
    from assessments.report.signing import sign_pdf
    from tests.report.conftest import report_html

    stranger = tmp_path / "stranger.p12"
    create_self_signed_seal(stranger, organisation_name="Exempelkommun")  # the same name, another key
    rendered = render_pdf(report_html(5), record_json=b"{}", title="t", lang="sv")
    data = sign_pdf(rendered.data, load_seal(stranger), box=None, stamp_lines=[], reason="r", name="n")
    auth.login("lasare@exempelkommun.example")
    client.get("/language/en")
    html = upload(client, data).get_data(as_text=True)
    assert "The signature is not valid." in html and "does not chain to a trusted seal" in html
    assert "No organisation's seal in this installation" in html


def test_an_appended_overlay_is_not_valid_and_says_the_certification_forbids_it(app, client, auth, signed_pdf):
    from tests.report.test_signing import overlay

    auth.login("lasare@exempelkommun.example")
    html = upload(client, overlay(signed_pdf.read_bytes(), page_index=1)).get_data(as_text=True)
    assert "Dokumentet har ändrats efter att det certifierades, och certifieringen tillåter inga ändringar." in html
    assert "Signaturen är giltig för din organisation." not in html and "Signaturen är inte giltig." in html
