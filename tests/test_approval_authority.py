"""Who decides: the approval page and the signed PDF name the controller body and the delegated authority to
accept the residual risk and approve (catalogue v3); documents on catalogue v2 render as before."""
from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from assessments import workflow
from assessments.answers import load_answers
from assessments.approval_authority import approval_authority
from assessments.demo import create_demo_assessment, load_demo_assessment
from assessments.extensions import db
from assessments.models import Answer, Role, User
from tests.factories import KOMMUN, user


def flat(text: str) -> str:
    return " ".join(text.split())


def test_v3_assessment_names_the_controller_body_and_the_delegation(app, demo_orgs):
    spec = load_demo_assessment("exempelkommun-3")
    with app.app_context():
        assessment = create_demo_assessment("exempelkommun-3")
        lines = approval_authority(assessment)
        assert [line.key for line in lines] == ["controller_body", "approval_delegation"]
        assert lines[0].answer == spec["answers"]["controller_body"].strip()
        assert lines[1].answer == spec["answers"]["approval_delegation"].strip()


def test_v2_assessment_shows_nothing(app, demo_orgs):
    with app.app_context():
        assert approval_authority(create_demo_assessment("exempelkommun-2")) == []


def test_an_unanswered_line_is_shown_as_not_answered(app, demo_orgs):
    with app.app_context():
        assessment = create_demo_assessment("exempelkommun-3")
        db.session.execute(Answer.__table__.delete().where(Answer.assessment_id == assessment.id,
                                                           Answer.question_key == "approval_delegation"))
        lines = approval_authority(assessment, load_answers(assessment))
        assert lines[1].key == "approval_delegation" and lines[1].answer is None


def test_the_approval_page_names_who_decides(app, client, auth, demo_orgs):
    with app.app_context():
        assessment = create_demo_assessment("exempelkommun-3")
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        assessment_id = assessment.id
    auth.login(f"jurist@{KOMMUN}")
    page = flat(client.get(f"/assessments/{assessment_id}/approve").get_data(as_text=True))
    assert "Vem som beslutar" in page
    assert "Personuppgiftsansvarig" in page and "Rätt att godta restrisken och godkänna bedömningen" in page
    assert "Kommunstyrelsen." in page and "delegationsordning (antagen 2026-03-12, § 45" in page


def test_the_approval_page_of_a_v2_assessment_is_unchanged(app, client, auth, demo_orgs):
    with app.app_context():
        assessment = create_demo_assessment("exempelkommun-2")
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        assessment_id = assessment.id
    auth.login(f"jurist@{KOMMUN}")
    page = client.get(f"/assessments/{assessment_id}/approve").get_data(as_text=True)
    assert "Vem som beslutar" not in page and "approval-authority" not in page


def signed_pdf_text(name: str) -> str:
    from assessments.signoff import archive, sign_approval

    assessment = create_demo_assessment(name)
    reviewer = db.session.scalars(select(User).where(User.organisation_id == assessment.organisation_id,
                                                     User.role == Role.LEGAL)).first()
    workflow.submit_for_review(assessment, assessment.author)
    db.session.flush()
    result = sign_approval(assessment, reviewer, expected_version=assessment.version)
    db.session.commit()
    reader = PdfReader(io.BytesIO(archive().read(result.document.path)))
    return flat(" ".join(page.extract_text() for page in reader.pages))


def test_the_signed_pdf_names_the_controller_body_and_the_delegation(app, demo_orgs):
    with app.app_context():
        text = signed_pdf_text("regionexempel-3")
    compact = text.replace(" ", "")
    for fragment in ("Personuppgiftsansvarig", "Rättattgodtarestriskenochgodkännabedömningen",
                     "Regionstyrelsen.Kommunikationsstaben", "regionstyrelsensdelegationsordning(RS2025-12-09§210"):
        assert fragment.replace(" ", "") in compact, fragment
