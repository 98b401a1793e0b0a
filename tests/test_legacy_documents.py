"""Documents approved before record.json still verify: ``answers.json`` embedded and the old English reason
("assessment <id> revision <n>, answers.json sha256 <hex>") are read by ``flask verify``, ``archive verify``
and its ``--repair``, the verification page and the inquiry bundle, next to the current format."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from assessments import workflow
from assessments.extensions import db
from assessments.integrity import parse_reason
from assessments.models import ArchivedDocument, Status
from tests.factories import answered_assessment, reload, user
from tests.legacy import seal_legacy_document

KOMMUN = "exempelkommun.example"
HEX = "ab" * 32


def test_parse_reason_reads_both_formats_and_an_organisation_cannot_pose_as_a_document():
    old = parse_reason(f"Reviewed and approved: Exempelkommun, assessment 12 revision 3, answers.json sha256 {HEX}")
    assert (old.assessment_id, old.revision, old.sha256, old.record_file, old.organisation_id) == \
        (12, 3, HEX, "answers.json", None)
    swedish = parse_reason(f"Granskad och godkänd under förutsättning av förhandssamråd med IMY (art. 36): "
                           f"Exempelbanken, konsekvensbedömning KB-3-14-r2, SHA-256 för record.json {HEX}")
    assert (swedish.organisation_id, swedish.assessment_id, swedish.revision, swedish.record_file) == \
        (3, 14, 2, "record.json")
    english = parse_reason(f"Reviewed and approved: Org, impact assessment KB-1-2-r1, SHA-256 of record.json {HEX}")
    assert (english.organisation_id, english.assessment_id, english.revision) == (1, 2, 1)
    posing = parse_reason(f"Reviewed and approved: KB-9-9-r9, SHA-256 of record.json {'cd' * 32}, impact "
                          f"assessment KB-1-2-r1, SHA-256 of record.json {HEX}")
    assert (posing.organisation_id, posing.assessment_id, posing.sha256) == (1, 2, HEX)
    assert parse_reason("Reviewed and approved") is None and parse_reason(None) is None


@pytest.fixture
def legacy_pdf(app, demo_orgs) -> tuple[int, Path]:
    with app.app_context(), app.test_request_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        stored, _sha = seal_legacy_document(assessment, user(f"jurist@{KOMMUN}"))
        db.session.commit()
        return assessment.id, Path(app.config["ARCHIVE_DIR"]) / stored.relative_path


def test_an_archived_answers_json_document_verifies_everywhere(app, runner, client, auth, legacy_pdf):
    assessment_id, path = legacy_pdf
    checked = runner.invoke(args=["verify", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "Signature:  valid" in checked.output and "matches archived document" in checked.output
    assert "Record:     answers.json, SHA-256 " in checked.output and "sealed before record.json" in checked.output
    assert "Certified:" not in checked.output  # an approval signature, as sealed then
    archive = runner.invoke(args=["archive", "verify"])
    assert archive.exit_code == 0 and archive.output.startswith("OK: 1 archived document(s) verified"), archive.output

    auth.login(f"lasare@{KOMMUN}")
    client.get("/language/en")
    from tests.test_verification_page import upload

    page = upload(client, path.read_bytes()).get_data(as_text=True)
    assert "The signature is valid for your organisation." in page
    assert f"assessment {assessment_id} revision 1, answers.json sha256" in page
    assert "None (sealed before certification was introduced" in page and "<code>answers.json</code>" in page

    response = client.get(f"/assessments/{assessment_id}/bundle.zip")
    assert response.status_code == 200
    bundle = zipfile.ZipFile(io.BytesIO(response.data))
    assert bundle.namelist() == ["signed.pdf", "answers.json", "audit-trail.json", "audit-trail.csv",
                                 "verification.txt"]
    text = " ".join(bundle.read("verification.txt").decode().split())
    assert "sha256sum signed.pdf answers.json" in text and "answers.json är svaren i maskinläsbar form" in text
    from assessments.report.verification import attached_files

    assert attached_files(bundle.read("signed.pdf"))["answers.json"] == bundle.read("answers.json")


def test_an_interrupted_answers_json_approval_is_completed_by_repair(app, runner, demo_orgs):
    with app.app_context(), app.test_request_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        stored, answers_sha = seal_legacy_document(assessment, user(f"jurist@{KOMMUN}"), record=False)
        db.session.commit()  # the file is archived, nothing recorded: what a crash in between leaves
        assessment_id = assessment.id
    repaired = runner.invoke(args=["archive", "verify", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert f"REPAIRED: {stored.relative_path}: completed the approval of assessment {assessment_id}" in repaired.output
    with app.app_context():
        assert reload(assessment_id).status is Status.APPROVED
        row = db.session.scalars(select(ArchivedDocument)).one()
        assert (row.path, row.answers_sha256) == (stored.relative_path, answers_sha)
    again = runner.invoke(args=["archive", "verify"])
    assert again.exit_code == 0, again.output
