"""Evidence files through HTTP (docs/evidence.md): attached from the evidence page, a wizard step and the risk
register, downloaded as stored, removed while the assessment may change and never after approval; hostile
and oversized files refused with a message in the user's language and nothing stored; carried into a new
revision; kept by backup and restore."""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from assessments import workflow
from assessments.evidence.model import EvidenceFile
from assessments.extensions import db
from assessments.models import Assessment, AuditEvent, Risk, Status
from tests import evidence_files as files
from tests.factories import KOMMUN, REGION, answered_assessment, reload, user

COMMUNICATOR, LEGAL, DPO, VIEWER = (f"{who}@{KOMMUN}" for who in ("kommunikator", "jurist", "dso", "lasare"))


@pytest.fixture
def draft_id(app, demo_orgs) -> int:
    with app.app_context():
        return answered_assessment().id


def upload(client, assessment_id: int, data: bytes, filename: str = "bilaga.pdf", *, target: str = "q:purposes:",
           relationship: str = "Source", description: str = "", next_url: str | None = None):
    query = f"?next={next_url}" if next_url else ""
    # Encoded here in memory: the test client would spool a large body to a temporary file that it leaves open
    # when the application refuses the body unread.
    boundary, body = encode_multipart({
        "file": FileStorage(io.BytesIO(data), filename, content_type="application/octet-stream"),
        "target": target, "relationship": relationship, "description": description})
    return client.post(f"/assessments/{assessment_id}/evidence{query}", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def flashed(client, path: str) -> list[str]:
    html = client.get(path).get_data(as_text=True)
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', html, re.S)]


def evidence_rows(app) -> list[EvidenceFile]:
    with app.app_context():
        rows = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
        db.session.expunge_all()
        return list(rows)


def stored_files(app) -> list[Path]:
    root = Path(app.config["ARCHIVE_DIR"]) / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_attach_from_the_evidence_page_list_and_download_as_stored(app, client, auth, draft_id):
    auth.login(COMMUNICATOR)
    data = files.pdf_document(text="Beslut om kanalen")
    response = upload(client, draft_id, data, "../../Beslut\u202egpj.pdf", description="Kommunstyrelsens beslut")
    assert response.status_code == 302 and response.headers["Location"] == f"/assessments/{draft_id}/evidence"
    page = client.get(f"/assessments/{draft_id}/evidence").get_data(as_text=True)
    assert "Bilagan har bifogats: Beslutgpj.pdf." in page  # the path and the direction override are gone
    assert "Kommunstyrelsens beslut" in page and "Vad är syftet med er närvaro i sociala medier?" in page
    [row] = evidence_rows(app)
    assert (row.filename, row.mime_type, row.size, row.relationship.value) == ("Beslutgpj.pdf", "application/pdf",
                                                                              len(data), "Source")
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.question_key == "purposes"
    [stored] = stored_files(app)
    assert stored.read_bytes() == data and stored.name == f"{row.sha256}.pdf"
    assert stored.stat().st_mode & 0o777 == 0o440  # write-once, like the archive

    auth.logout()
    auth.login(VIEWER)  # anyone of the organisation may read it
    response = client.get(f"/assessments/{draft_id}/evidence/{row.id}")
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.assessment_id == draft_id)).all()
    assert "evidence_attached" in actions and "evidence_downloaded" in actions


def test_attach_next_to_a_question_in_the_wizard_and_a_risk_in_the_register(app, client, auth, draft_id):
    auth.login(COMMUNICATOR)
    step = f"/assessments/{draft_id}/steps/platform"
    html = client.get(step).get_data(as_text=True)
    # The controls sit next to the question and post through a form outside the step form.
    assert 'form="ev-q-joint_controller_addendum-facebook-form"' in html
    form_at = html.index('id="ev-q-joint_controller_addendum-facebook-form"')
    assert form_at > html.index("</form>", html.index('id="step-form"'))
    response = upload(client, draft_id, files.png_image(), "skärmbild.png", relationship="Supplement",
                      target="q:joint_controller_addendum:facebook", next_url=f"{step}%23q-joint_controller_addendum__facebook")
    assert response.headers["Location"] == f"{step}#q-joint_controller_addendum__facebook"
    html = client.get(step).get_data(as_text=True)
    question = html[html.index('id="q-joint_controller_addendum__facebook"'):]
    assert "skärmbild.png" in question[:question.index('class="question"', 10)]

    with app.app_context():
        risk = db.session.scalars(select(Risk).where(Risk.assessment_id == draft_id, Risk.active.is_(True))).first()
    register = f"/assessments/{draft_id}/risks"
    upload(client, draft_id, "Riskanalys från IT.\n".encode(), "riskanalys.txt", target=f"r:{risk.id}",
           next_url=f"{register}%23risk-{risk.id}")
    html = client.get(register).get_data(as_text=True)
    section = html[html.index(f'id="risk-{risk.id}"'):]
    assert "riskanalys.txt" in section[:section.index("</section>")]
    assert [r.mime_type for r in evidence_rows(app)] == ["image/png", "text/plain"]


HOSTILE = {
    "javascript": (files.JAVASCRIPT_PDF, "avtal.pdf", "JavaScript"),
    "obfuscated javascript": (files.OBFUSCATED_JAVASCRIPT_PDF, "avtal.pdf", "JavaScript"),
    "launch action": (files.LAUNCH_PDF, "avtal.pdf", "startåtgärd"),
    "embedded file": (files.EMBEDDED_FILE_PDF, "avtal.pdf", "andra filer inbäddade"),
    "rich media": (files.RICH_MEDIA_PDF, "avtal.pdf", "aktivt innehåll"),
    "encrypted": (files.encrypted_pdf(), "avtal.pdf", "krypterad"),
    "pdf that is also a zip": (files.pdf_document() + files.zip_archive({"a.exe": b"MZ"}), "avtal.pdf",
                               "innehåller också ett annat format"),
    "web page before the pdf": (b"<html><script>alert(1)</script></html>\n" + files.pdf_document(), "avtal.pdf",
                                "innehåller också ett annat format"),
    "png with data after its end": (files.png_image() + b"<?php system($_GET[1]); ?>", "bild.png",
                                    "data efter sitt slut"),
    "jpeg that is also a zip": (files.jpeg_image() + files.zip_archive({"a": b"b"}), "bild.jpg",
                                "innehåller också ett annat format"),
    "decompression bomb": (files.png_claiming(12_000, 12_000), "bild.png", "miljoner pixlar"),
    "4 GB of pixels claimed": (files.png_claiming(65_535, 65_535), "bild.png", "miljoner pixlar"),
    "4 GB chunk claimed": (files.png_with_chunk_length(0xFFFF_FFFF), "bild.png", "går inte att läsa"),
    "word document": (files.docx_document(), "avtal.docx", "Spara dokumentet som pdf"),
    "word document named pdf": (files.docx_document(), "avtal.pdf", "Spara dokumentet som pdf"),
    "old word document": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000), "avtal.doc", "Spara dokumentet som pdf"),
    "text not in utf-8": ("Åsa åt glass".encode("cp1252"), "anteckning.txt", "inte i UTF-8"),
    "text with control characters": ("Hej\u0007 där".encode(), "anteckning.txt", "styrtecken"),
    "html as text": (b"<!DOCTYPE html><html><body onload=alert(1)></body></html>", "sida.txt", "webbsida"),
    "svg image": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "bild.svg",
                  "webbsida"),
    "executable": (b"MZ\x90\x00" + bytes(200), "program.pdf", "Den här sortens fil kan inte bifogas"),
    "empty": (b"", "tom.pdf", "Filen är tom"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_refused_with_a_message_and_nothing_is_stored(app, client, auth, draft_id, name, caplog):
    data, filename, message = HOSTILE[name]
    auth.login(COMMUNICATOR)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = upload(client, draft_id, data, filename)
    assert response.status_code == 302
    messages = flashed(client, f"/assessments/{draft_id}/evidence")
    assert any(message in m for m in messages), messages
    assert evidence_rows(app) == [] and stored_files(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    if data:
        assert "evidence refused" in caplog.text  # one log line says why, in English


def test_too_large_a_file_or_a_claim_of_4_gb_is_refused_unread(app, client, auth, draft_id):
    app.config["EVIDENCE_MAX_FILE_BYTES"] = 200_000
    auth.login(COMMUNICATOR)
    response = upload(client, draft_id, b"%PDF-" + bytes(400_000), "stor.pdf")
    assert response.status_code == 302
    assert "Filen är för stor. Den får vara högst 0 MB." not in flashed(client, f"/assessments/{draft_id}/evidence")
    app.config["EVIDENCE_MAX_FILE_BYTES"] = 1024 * 1024
    response = upload(client, draft_id, bytes(2 * 1024 * 1024), "stor.pdf")
    assert response.status_code == 302
    assert "Filen är för stor. Den får vara högst 1 MB." in flashed(client, f"/assessments/{draft_id}/evidence")
    # A request whose Content-Length claims 4 GB: refused from the header, before any of the body is read.
    response = client.post(f"/assessments/{draft_id}/evidence", data=b"x" * 100,
                           environ_overrides={"CONTENT_LENGTH": str(4 * 1024 ** 3)},
                           content_type="multipart/form-data; boundary=x")
    assert response.status_code == 302
    assert "Filen är för stor. Den får vara högst 1 MB." in flashed(client, f"/assessments/{draft_id}/evidence")
    assert evidence_rows(app) == [] and stored_files(app) == []


def test_the_assessments_total_and_what_a_file_supports_are_checked(app, client, auth, draft_id, demo_orgs):
    app.config["EVIDENCE_MAX_TOTAL_BYTES"] = 3 * 1024 * 1024
    auth.login(COMMUNICATOR)
    big = b"Rad med text.\n" * 140_000  # ~2 MB of text
    assert upload(client, draft_id, big, "ett.txt").status_code == 302
    upload(client, draft_id, big.replace(b"Rad", b"Ord"), "tva.txt")
    assert any("högst 3 MB" in m for m in flashed(client, f"/assessments/{draft_id}/evidence"))
    with app.app_context():
        other = answered_assessment(f"regionexempel-{reload(draft_id).catalog_version}")
        foreign_risk = db.session.scalars(select(Risk).where(Risk.assessment_id == other.id)).first().id
    for target in ("q:no_such_question:", "q:joint_controller_addendum:", "q:purposes:facebook",
                   "q:joint_controller_addendum:tiktok", f"r:{foreign_risk}", "m:999999", "x:1", ""):
        upload(client, draft_id, b"Anteckning.", "a.txt", target=target)
        assert any("Välj vilken fråga, risk eller åtgärd" in m for m in flashed(client, f"/assessments/{draft_id}/evidence")), target
    upload(client, draft_id, b"Anteckning.", "a.txt", relationship="Data")
    assert any("Välj ett av alternativen" in m or "källa eller kompletterande" in m
               for m in flashed(client, f"/assessments/{draft_id}/evidence"))
    assert len(evidence_rows(app)) == 1


def test_removed_while_a_draft_or_in_review_never_after_approval(app, client, auth, draft_id):
    auth.login(COMMUNICATOR)
    upload(client, draft_id, b"Forsta anteckningen.", "ett.txt")
    upload(client, draft_id, b"Andra anteckningen.", "tva.txt")
    first, second = evidence_rows(app)
    assert client.post(f"/assessments/{draft_id}/evidence/{first.id}/delete").status_code == 302
    assert [r.id for r in evidence_rows(app)] == [second.id]
    assert len(stored_files(app)) == 1  # no other row refers to the removed file: its bytes are gone too

    with app.app_context():
        workflow.submit_for_review(reload(draft_id), user(COMMUNICATOR))
        db.session.commit()
    # In review the author may no longer change it; legal, reviewing, may.
    assert upload(client, draft_id, b"Sen anteckning.", "sen.txt").status_code == 403
    assert client.post(f"/assessments/{draft_id}/evidence/{second.id}/delete").status_code == 403
    auth.logout()
    auth.login(LEGAL)
    assert upload(client, draft_id, b"Juristens PM.", "pm.txt").status_code == 302
    assert client.post(f"/assessments/{draft_id}/evidence/{second.id}/delete").status_code == 302
    assert [r.filename for r in evidence_rows(app)] == ["pm.txt"]

    with app.app_context():
        assessment = reload(draft_id)
        db.session.execute(update(Assessment).where(Assessment.id == draft_id).values(status=Status.APPROVED))
        db.session.commit()
        assert reload(draft_id).status is Status.APPROVED
    [kept] = evidence_rows(app)
    for email in (COMMUNICATOR, LEGAL):
        auth.logout()
        auth.login(email)
        assert upload(client, draft_id, b"Efter godkannandet.", "efter.txt").status_code == 403
        assert client.post(f"/assessments/{draft_id}/evidence/{kept.id}/delete").status_code == 403
        page = client.get(f"/assessments/{draft_id}/evidence").get_data(as_text=True)
        assert "förseglade i den signerade pdf-filen" in page and "Bifoga filen" not in page
    assert [r.id for r in evidence_rows(app)] == [kept.id] and len(stored_files(app)) == 1
    del assessment


def test_an_approval_under_way_wins_over_a_late_attachment(app, demo_orgs, draft_id):
    """The service takes the assessment row as an approval's claim does: a file attached by someone whose page
    still shows the assessment in review is refused once it is approved (evidence/service.py, _hold_open)."""
    from assessments.errors import Conflict
    from assessments.evidence.listing import Target
    from assessments.evidence.service import attach

    with app.app_context():
        assessment = reload(draft_id)
        workflow.submit_for_review(assessment, user(COMMUNICATOR))
        db.session.commit()
        assessment = reload(draft_id)  # loaded in review
        db.session.execute(update(Assessment).where(Assessment.id == draft_id).values(status=Status.APPROVED)
                           .execution_options(synchronize_session=False))
        assert assessment.status is Status.IN_REVIEW
        with pytest.raises(Conflict):
            attach(assessment, user(LEGAL), data=b"Sent.", filename="sent.txt", target=Target(question_key="purposes"),
                   relationship="Source", description=None)
        db.session.rollback()
    assert evidence_rows(app) == []


def test_a_new_revision_carries_the_evidence_and_keeps_the_approved_ones_file(app, client, auth, signed_demo):
    from assessments.evidence.listing import Target
    from assessments.evidence.service import attach
    from assessments.revisions import new_revision

    with app.app_context():
        assessment = reload(signed_demo.assessment_id)
        risk = db.session.scalars(select(Risk).where(Risk.assessment_id == assessment.id, Risk.active.is_(True))).first()
        # Attached before approval in real life; here straight into the approved revision's rows.
        for target in (Target(question_key="purposes"), Target(risk_id=risk.id)):
            db.session.execute(update(Assessment).where(Assessment.id == assessment.id).values(status=Status.DRAFT))
            db.session.refresh(assessment)
            attach(assessment, user(COMMUNICATOR), data=f"Underlag {target.value}".encode(), filename="u.txt",
                   target=target, relationship="Source", description=None)
        db.session.execute(update(Assessment).where(Assessment.id == assessment.id).values(status=Status.APPROVED))
        db.session.commit()
        result = new_revision(reload(assessment.id), user(COMMUNICATOR), to_latest_catalog=False)
        db.session.commit()
        copy_id = result.assessment.id
        rows = db.session.scalars(select(EvidenceFile).where(EvidenceFile.assessment_id == copy_id)).all()
        copied_risk = db.session.get(Risk, rows[1].risk_id)
        assert [r.question_key for r in rows] == ["purposes", None]
        assert copied_risk.assessment_id == copy_id and copied_risk.number == risk.number
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "revision_created")).one()
        assert event.details["evidence_carried"] == 2
    auth.login(COMMUNICATOR)
    assert client.post(f"/assessments/{copy_id}/evidence/{rows[0].id}/delete").status_code == 302
    assert len(stored_files(app)) == 2  # still the approved revision's: kept


def test_backup_and_restore_keep_the_evidence_files(app, client, auth, draft_id, tmp_path, runner):
    from assessments.backup import create_backup
    from tests.conftest import _empty_tables

    auth.login(COMMUNICATOR)
    data = files.jpeg_image()
    upload(client, draft_id, data, "foto.jpg", relationship="Supplement")
    [row] = evidence_rows(app)
    with app.app_context():
        summary = create_backup(tmp_path / "backup")
    assert summary.evidence_files == 1
    assert (tmp_path / "backup" / "evidence" / row.path).read_bytes() == data
    for path in stored_files(app):
        path.unlink()
    with app.app_context():
        _empty_tables()
    result = runner.invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "1 evidence file(s)" in result.output
    assert [p.read_bytes() for p in stored_files(app)] == [data]
    auth.login(COMMUNICATOR)
    assert client.get(f"/assessments/{draft_id}/evidence/{row.id}").data == data


def test_a_missing_stored_file_is_not_served_and_blocks_approval_with_a_message(app, client, auth, draft_id):
    from assessments.errors import Failure
    from assessments.signoff import sign_approval

    auth.login(COMMUNICATOR)
    upload(client, draft_id, b"Anteckning.", "a.txt")
    for path in stored_files(app):
        path.unlink()
    [row] = evidence_rows(app)
    response = client.get(f"/assessments/{draft_id}/evidence/{row.id}")
    assert response.status_code == 500 and "saknas eller är skadad" in response.get_data(as_text=True)
    with app.app_context(), app.test_request_context():
        assessment = reload(draft_id)
        workflow.submit_for_review(assessment, user(COMMUNICATOR))
        db.session.commit()
        with pytest.raises(Failure):
            sign_approval(reload(draft_id), user(LEGAL), expected_version=reload(draft_id).version)
        db.session.rollback()
        assert reload(draft_id).status is Status.IN_REVIEW


def test_another_organisations_user_finds_nothing(app, client, auth, draft_id):
    auth.login(COMMUNICATOR)
    upload(client, draft_id, b"Anteckning.", "a.txt")
    [row] = evidence_rows(app)
    auth.logout()
    auth.login(f"kommunikator@{REGION}")
    assert client.get(f"/assessments/{draft_id}/evidence").status_code == 404
    assert client.get(f"/assessments/{draft_id}/evidence/{row.id}").status_code == 404
    assert upload(client, draft_id, b"Intrang.", "b.txt").status_code == 404
    assert len(evidence_rows(app)) == 1
