"""The whole journey through the Flask test client against a real database: log in, create, answer
every step, submit, approve with the password, download the signed PDF that verifies."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from assessments.catalog import latest_catalog
from assessments.extensions import db
from assessments.models import Answer, ArchivedDocument, Assessment, AuditEvent, Signature, Status
from assessments.report.seal import load_certificate
from assessments.report.verification import attached_files, verify_pdf
from tests.answering import answer_all, decide_every_risk, latest_demo, step_data, version_of
from tests.conftest import DEMO_PASSWORD
from tests.factories import KOMMUN


def create(client, title="Facebook och Instagram", platforms=("facebook", "instagram")) -> int:
    response = client.post("/assessments/new", data={"title": title, "platforms": list(platforms),
                                                     "language": "sv"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/assessments/(\d+)/steps/", response.headers["Location"]).group(1))


@pytest.fixture
def in_review(app, demo_orgs) -> tuple[int, int]:
    """The municipality's demo assessment, answered and submitted: (id, version)."""
    from assessments import workflow
    from tests.factories import answered_assessment, user

    with app.app_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        return assessment.id, assessment.version


def screening_data() -> dict:
    return step_data(latest_demo(), "screening", ["facebook", "instagram"])


def first_yes_no() -> str:
    """A yes/no question of the screening step, whatever the catalogue version calls it."""
    return next(q.key for q in latest_catalog().section("screening").questions if q.type == "yes_no")


def test_full_journey_to_a_signed_archived_pdf(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    assessment_id = create(client)
    answer_all(client, assessment_id, latest_demo(), ["facebook", "instagram"])
    assert decide_every_risk(client, assessment_id)
    assert client.post(f"/assessments/{assessment_id}/consultation/data-subjects", data={
        "sought": "no", "reason_not_sought": "Följarna är anonyma; vi frågar i medborgarenkäten."}).status_code == 302
    assert client.post(f"/assessments/{assessment_id}/submit").status_code == 302
    auth.logout()

    auth.login(f"dso@{KOMMUN}")
    assert client.post(f"/assessments/{assessment_id}/consultation/dpo", data={
        "advice": "Stäng av riktad annonsering."}).status_code == 302
    auth.logout()

    # Whether the advice is followed is the organisation's decision (Art. 35(2)).
    auth.login(f"kommunikator@{KOMMUN}")
    assert client.post(f"/assessments/{assessment_id}/consultation/response", data={
        "followed": "partly", "overruled_reason": "Annonsering behövs vid rekrytering."}).status_code == 302
    auth.logout()

    auth.login(f"jurist@{KOMMUN}")
    overview = client.get(f"/assessments/{assessment_id}")
    purposes = step_data(latest_demo(), "description", ["facebook"])["purposes"]
    assert purposes.split()[0] in overview.get_data(as_text=True)
    page = client.get(f"/assessments/{assessment_id}/approve")
    assert page.status_code == 200
    response = client.post(f"/assessments/{assessment_id}/approve", data={
        "version": version_of(page.get_data(as_text=True)), "password": DEMO_PASSWORD,
        "attest_context": "y", "attest_risks": "y", "attest_measures": "y", "attest_commitment": "y",
        "registration_number": "KS 2026/123"})
    assert response.status_code == 302

    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment.status is Status.APPROVED
        document = db.session.scalars(select(ArchivedDocument)).one()
        signature = db.session.scalars(select(Signature)).one()
        assert signature.signer_name == "Jo Jurist"
    download = client.get(f"/assessments/{assessment_id}/document")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    pdf = download.data
    import hashlib

    assert hashlib.sha256(pdf).hexdigest() == document.sha256
    seal = load_certificate(app.config["SEAL_DIR"] + "/exempelkommun.p12")
    report = verify_pdf(pdf, [seal])
    assert report.valid, report.problems
    assert report.subfilter == "/ETSI.CAdES.detached"
    # The reason names the document id (KB-<organisation>-<assessment>-r<revision>) and record.json's hash.
    assert f"-{assessment_id}-r1" in report.reason and document.answers_sha256 in report.reason
    answers = attached_files(pdf)["record.json"]
    import json

    document_json = json.loads(answers)
    assert document_json["assessment"]["id"] == assessment_id
    assert {"question": "purposes", "platform": None, "section": "description", "value": purposes,
            } in document_json["answers"]
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.assessment_id == assessment_id)
                                     .order_by(AuditEvent.seq)).all()
    assert actions[0] == "created" and "submit_for_review" in actions
    assert "signed" in actions and actions[-1] == "document_downloaded"


def test_each_step_is_saved_and_resume_goes_to_last_step(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    assessment_id = create(client)
    page = client.get(f"/assessments/{assessment_id}/steps/description")
    data = step_data(latest_demo(), "description", ["facebook", "instagram"])
    client.post(f"/assessments/{assessment_id}/steps/description",
                data={**data, "version": version_of(page.get_data(as_text=True)), "action": "later"})
    with app.app_context():
        stored = {a.question_key: a.value for a in db.session.scalars(
            select(Answer).where(Answer.assessment_id == assessment_id))}
        assert stored["data_subjects"] == data["data_subjects"]
        assert db.session.get(Assessment, assessment_id).last_step == "description"
    overview = client.get(f"/assessments/{assessment_id}").get_data(as_text=True)
    assert f"/assessments/{assessment_id}/steps/description" in overview


def test_missing_required_answers_are_listed_in_an_error_summary(client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    assessment_id = create(client)
    page = client.get(f"/assessments/{assessment_id}/steps/screening")
    response = client.post(f"/assessments/{assessment_id}/steps/screening",
                           data={first_yes_no(): "no", "version": version_of(page.get_data(as_text=True)),
                                 "action": "next"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html
    second = [q.key for q in latest_catalog().section("screening").questions if q.type == "yes_no"][1]
    assert f'href="#{second}-0"' in html  # each error links to its field


def test_unknown_choice_value_is_rejected_and_nothing_saved(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    assessment_id = create(client)
    page = client.get(f"/assessments/{assessment_id}/steps/screening")
    response = client.post(f"/assessments/{assessment_id}/steps/screening",
                           data={**screening_data(), first_yes_no(): "maybe",
                                 "version": version_of(page.get_data(as_text=True)), "action": "next"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(Answer).where(Answer.assessment_id == assessment_id)).all() == []


def test_stale_page_is_refused_and_saved_answers_kept(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    assessment_id = create(client)
    first = version_of(client.get(f"/assessments/{assessment_id}/steps/screening").get_data(as_text=True))
    client.post(f"/assessments/{assessment_id}/steps/screening",
                data={**screening_data(), first_yes_no(): "no", "version": first, "action": "next"})
    # A second tab still shows the old version and tries to change an answer.
    stale = client.post(f"/assessments/{assessment_id}/steps/screening",
                        data={**screening_data(), first_yes_no(): "yes", "version": first,
                              "action": "next"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Någon annan sparade" in html or "Someone else saved" in html
    with app.app_context():
        value = db.session.scalars(select(Answer.value).where(
            Answer.assessment_id == assessment_id, Answer.question_key == first_yes_no())).one()
    assert value == "no"


def test_submit_refused_while_required_answers_missing(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    assessment_id = create(client)
    client.post(f"/assessments/{assessment_id}/submit")
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.DRAFT


def test_wrong_password_signs_nothing(app, client, auth, in_review):
    assessment_id, version = in_review
    auth.login(f"jurist@{KOMMUN}")
    response = client.post(f"/assessments/{assessment_id}/approve", data={
        "version": version, "password": "fel-lösenord", "attest_context": "y", "attest_risks": "y",
        "attest_measures": "y", "attest_commitment": "y"})
    assert response.status_code == 400
    assert "lösenordet" in response.get_data(as_text=True).lower() or "password" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.IN_REVIEW
        assert db.session.scalars(select(Signature)).all() == []


def test_communicator_cannot_approve(app, client, auth, in_review):
    assessment_id, version = in_review
    auth.login(f"kommunikator@{KOMMUN}")
    assert client.get(f"/assessments/{assessment_id}/approve").status_code == 403
    response = client.post(f"/assessments/{assessment_id}/approve", data={
        "version": version, "password": DEMO_PASSWORD, "attest_context": "y", "attest_risks": "y",
        "attest_measures": "y", "attest_commitment": "y"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.IN_REVIEW


def test_missing_seal_gives_a_clear_message_and_keeps_review(app, client, auth, in_review, tmp_path):
    assessment_id, version = in_review
    app.config["SEAL_DIR"] = str(tmp_path / "no-seals-here")
    auth.login(f"jurist@{KOMMUN}")
    response = client.post(f"/assessments/{assessment_id}/approve", data={
        "version": version, "password": DEMO_PASSWORD, "attest_context": "y", "attest_risks": "y",
        "attest_measures": "y", "attest_commitment": "y"}, follow_redirects=True)
    # The seal is unavailable: a 503 page with the message, and the way back to the assessment.
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "signeringscertifikat" in body and f'href="/assessments/{assessment_id}"' in body
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.IN_REVIEW


def test_double_submit_of_approval_gives_one_signature(app, client, auth, in_review):
    assessment_id, version = in_review
    auth.login(f"jurist@{KOMMUN}")
    data = {"version": version, "password": DEMO_PASSWORD, "attest_context": "y", "attest_risks": "y",
            "attest_measures": "y", "attest_commitment": "y"}
    first = client.post(f"/assessments/{assessment_id}/approve", data=data)
    second = client.post(f"/assessments/{assessment_id}/approve", data=data, follow_redirects=True)
    assert first.status_code == 302 and second.status_code == 200
    assert "redan" in second.get_data(as_text=True) or "already" in second.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Signature)).all()) == 1
        assert len(db.session.scalars(select(ArchivedDocument)).all()) == 1


def test_attestations_are_required_to_sign(app, client, auth, in_review):
    assessment_id, version = in_review
    auth.login(f"jurist@{KOMMUN}")
    response = client.post(f"/assessments/{assessment_id}/approve",
                           data={"version": version, "password": DEMO_PASSWORD, "attest_context": "y"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.IN_REVIEW


def test_request_changes_then_resubmit(app, client, auth, in_review):
    assessment_id, version = in_review
    auth.login(f"jurist@{KOMMUN}")
    client.post(f"/assessments/{assessment_id}/comments",
                data={"question": "retention", "body": "Hänvisa till gallringsbeslutet."})
    response = client.post(f"/assessments/{assessment_id}/request-changes",
                           data={"version": version, "reason": "Se kommentaren om gallring."})
    assert response.status_code == 302
    auth.logout()
    auth.login(f"kommunikator@{KOMMUN}")
    overview = client.get(f"/assessments/{assessment_id}").get_data(as_text=True)
    assert "Hänvisa till gallringsbeslutet." in overview
    assert client.post(f"/assessments/{assessment_id}/submit").status_code == 302
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.IN_REVIEW


def test_catalogue_version_is_pinned_on_creation(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    assessment_id = create(client)
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        assert (assessment.catalog_id, assessment.catalog_version) == ("social-media", latest_catalog().version)


def test_damaged_archive_file_is_not_served(app, client, auth, signed_demo):
    pdf = signed_demo.pdf
    import os

    os.chmod(pdf, 0o644)
    with open(pdf, "r+b") as fh:
        fh.seek(100)
        fh.write(b"X")
    with app.app_context():
        assessment_id = db.session.scalars(select(Assessment.id)).one()
    auth.login(f"lasare@{KOMMUN}")
    response = client.get(f"/assessments/{assessment_id}/document")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "skadat" in response.get_data(as_text=True) or "damaged" in response.get_data(as_text=True)
