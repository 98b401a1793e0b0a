"""Review: approval needs the DPO's advice and the data subjects' views on record; comments are
threaded, resolvable and shown to the author in the wizard; verdicts per section; what changed since the
last review; superseding; every step audited."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from assessments import clock, review, workflow
from assessments.approval import approval_blockers
from assessments.extensions import db
from assessments.models import (
    Assessment,
    AuditEvent,
    DataSubjectViews,
    DpoAdvice,
    ReviewComment,
    SectionVerdict,
    Status,
)
from tests.answering import latest_demo, step_data, version_of
from tests.conftest import DEMO_PASSWORD
from tests.factories import KOMMUN, answered_assessment, user

APPROVE = {"password": DEMO_PASSWORD, "attest_context": "y", "attest_risks": "y", "attest_measures": "y",
           "attest_commitment": "y"}


@pytest.fixture
def in_review(app, demo_orgs):
    """A demo draft without the consultation record, submitted for review."""
    with app.app_context():
        assessment = answered_assessment()
        db.session.execute(DpoAdvice.__table__.delete().where(DpoAdvice.assessment_id == assessment.id))
        db.session.execute(DataSubjectViews.__table__.delete().where(DataSubjectViews.assessment_id == assessment.id))
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        return assessment.id


def status(app, assessment_id):
    with app.app_context():
        return db.session.get(Assessment, assessment_id).status


def test_approval_is_impossible_until_dpo_advice_and_data_subject_views_are_on_record(app, client, auth,
                                                                                   in_review):
    auth.login(f"jurist@{KOMMUN}")
    page = client.get(f"/assessments/{in_review}/approve").get_data(as_text=True)
    assert "Dataskyddsombudets råd" in page or "DPO" in page
    response = client.post(f"/assessments/{in_review}/approve", data={**APPROVE, "version": version_of(page)},
                           follow_redirects=True)
    assert "Godkännande är inte möjligt än" in response.get_data(as_text=True)
    assert status(app, in_review) is Status.IN_REVIEW
    # Legal records the advice on the DPO's behalf, saying so; the author records the views.
    refused = client.post(f"/assessments/{in_review}/consultation/dpo", data={"advice": "Ok."},
                          follow_redirects=True)
    assert "för dataskyddsombudets räkning" in refused.get_data(as_text=True)
    client.post(f"/assessments/{in_review}/consultation/dpo", data={"advice": "Ok.", "on_behalf": "1"})
    with app.app_context():
        advice = db.session.scalars(select(DpoAdvice).where(DpoAdvice.assessment_id == in_review)).one()
        assert advice.on_behalf_of_dpo and advice.recorded_by.email == f"jurist@{KOMMUN}"
        assert advice.followed is None  # the advice is given; whether it is followed is not decided yet
        blockers = [b.message for b in approval_blockers(db.session.get(Assessment, in_review))]
        assert any("inte beslutat om den följer dataskyddsombudets råd" in b for b in blockers), blockers
    client.post(f"/assessments/{in_review}/consultation/response", data={"followed": "yes"})
    with app.app_context():
        assert len(approval_blockers(db.session.get(Assessment, in_review))) == 1  # the views
    client.post(f"/assessments/{in_review}/consultation/data-subjects",
                data={"sought": "yes", "whose": "Medborgarpanelen", "summary": "Positiva."})
    # Having recorded the DPO's advice on the DPO's behalf, legal is not the independent approver.
    refused_page = client.get(f"/assessments/{in_review}/approve")
    assert refused_page.status_code == 403
    assert "för dataskyddsombudets räkning" in refused_page.get_data(as_text=True)
    auth.logout()
    auth.login(f"dso@{KOMMUN}")
    client.post(f"/assessments/{in_review}/consultation/dpo", data={"advice": "Ok."})
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    page = client.get(f"/assessments/{in_review}/approve").get_data(as_text=True)
    client.post(f"/assessments/{in_review}/approve", data={**APPROVE, "version": version_of(page)})
    assert status(app, in_review) is Status.APPROVED


def test_the_dpo_advises_and_the_organisation_decides_whether_to_follow(app, client, auth, in_review):
    """Art. 35(2): the DPO gives advice; following it is the controller's decision, recorded by an author or
    legal, never by the DPO. A changed advice needs a new decision."""
    auth.login(f"dso@{KOMMUN}")
    client.post(f"/assessments/{in_review}/consultation/dpo", data={"advice": "Stäng av riktad annonsering."})
    page = client.get(f"/assessments/{in_review}/consultation").get_data(as_text=True)
    assert "Stäng av riktad annonsering." in page and 'name="followed"' not in page  # no form for the DPO
    assert client.post(f"/assessments/{in_review}/consultation/response",
                       data={"followed": "yes"}).status_code == 403
    auth.logout()
    auth.login(f"kommunikator@{KOMMUN}")
    refused = client.post(f"/assessments/{in_review}/consultation/response", data={"followed": "partly"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="overruled_reason-error"' in page and "varför rådet inte" in page
    assert re.search(r'<input checked id="followed-1" name="followed" type="radio" value="partly">', page)
    client.post(f"/assessments/{in_review}/consultation/response",
                data={"followed": "partly", "overruled_reason": "Annonsering behövs vid rekrytering."})
    with app.app_context():
        advice = db.session.scalars(select(DpoAdvice).where(DpoAdvice.assessment_id == in_review)).one()
        assert (advice.followed, advice.response_by.email) == ("partly", f"kommunikator@{KOMMUN}")
        assert advice.recorded_by.email == f"dso@{KOMMUN}"
    auth.logout()
    auth.login(f"dso@{KOMMUN}")
    client.post(f"/assessments/{in_review}/consultation/dpo", data={"advice": "Avstå från annonsering helt."})
    with app.app_context():
        advice = db.session.scalars(select(DpoAdvice).where(DpoAdvice.assessment_id == in_review)).one()
        assert advice.followed is None and advice.response_by_id is None  # to be decided again
        last = db.session.scalars(select(AuditEvent).where(AuditEvent.assessment_id == in_review)
                                  .order_by(AuditEvent.seq.desc())).first()
        assert (last.action, last.details["response_cleared"]) == ("dpo_advice_recorded", True)


@pytest.mark.parametrize("path, data, field, message", [
    ("dpo", {"advice": ""}, "advice", "Skriv dataskyddsombudets råd"),
    ("response", {"followed": ""}, "followed", "Ange om rådet följs"),
    ("response", {"followed": "no", "overruled_reason": ""}, "overruled_reason", "varför rådet inte"),
])
def test_a_refused_consultation_form_shows_the_message_at_its_field(app, client, auth, in_review, path, data,
                                                                     field, message):
    with app.app_context():
        review.record_dpo_advice(db.session.get(Assessment, in_review), user(f"dso@{KOMMUN}"),
                                 advice="Gör så.", on_behalf=False)
        db.session.commit()
    auth.login(f"dso@{KOMMUN}" if path == "dpo" else f"jurist@{KOMMUN}")
    response = client.post(f"/assessments/{in_review}/consultation/{path}", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in page and message in page
    assert 'class="error-summary"' in page and f'href="#{field}' in page
    with app.app_context():
        advice = db.session.scalars(select(DpoAdvice).where(DpoAdvice.assessment_id == in_review)).one()
        assert (advice.advice, advice.followed) == ("Gör så.", None)  # nothing changed


def test_a_refused_consultation_form_keeps_what_was_written(app, client, auth, in_review):
    """Bad input loses nothing: the page comes back (400) with the text as sent, so it is corrected rather
    than written again; the other forms on the page still show what is stored."""
    auth.login(f"jurist@{KOMMUN}")
    advice = "Begränsa bilder på barn och gå igenom kommentarerna dagligen.\nAnnars: avstå från Instagram."
    response = client.post(f"/assessments/{in_review}/consultation/dpo", data={"advice": advice})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "för dataskyddsombudets räkning" in page
    assert re.search(r'name="advice"[^>]*>\s*' + re.escape(advice) + "</textarea>", page)
    reason = "Följarna är anonyma; vi frågar i medborgarenkäten 2027."
    response = client.post(f"/assessments/{in_review}/consultation/data-subjects",
                           data={"sought": "yes", "whose": "", "summary": reason})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="whose-error"' in page
    assert re.search(r'<input checked id="sought-0" name="sought" type="radio" value="yes">', page)
    assert re.search(r'name="summary"[^>]*>\s*' + re.escape(reason) + "</textarea>", page)
    assert re.search(r'name="advice"[^>]*>\s*</textarea>', page)  # not the refused advice: nothing was stored
    with app.app_context():
        assert db.session.scalars(select(DpoAdvice).where(DpoAdvice.assessment_id == in_review)).first() is None
        assert db.session.scalars(select(DataSubjectViews)
                                  .where(DataSubjectViews.assessment_id == in_review)).first() is None


def test_only_the_dpo_or_legal_records_the_advice(app, client, auth, in_review):
    auth.login(f"kommunikator@{KOMMUN}")
    assert client.post(f"/assessments/{in_review}/consultation/dpo", data={"advice": "x"}).status_code == 403
    auth.logout()
    auth.login("dso@regionexempel.example")
    assert client.post(f"/assessments/{in_review}/consultation/dpo", data={"advice": "x"}).status_code == 404
    assert client.post(f"/assessments/{in_review}/consultation/response",
                       data={"followed": "yes"}).status_code == 404


@pytest.mark.parametrize("data, message", [
    ({"sought": "yes", "whose": "", "summary": "x"}, "vems synpunkter"),
    ({"sought": "no", "reason_not_sought": ""}, "varför de registrerades synpunkter inte"),
    ({}, "Ange om de registrerades synpunkter"),
])
def test_data_subject_views_need_whose_and_what_or_why_not(app, client, auth, in_review, data, message):
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.post(f"/assessments/{in_review}/consultation/data-subjects", data=data, follow_redirects=True)
    assert message in response.get_data(as_text=True).lower() or message in response.get_data(as_text=True)


def test_comment_threads_are_answered_resolved_and_shown_in_the_wizard(app, client, auth, in_review):
    auth.login(f"jurist@{KOMMUN}")
    client.post(f"/assessments/{in_review}/comments", data={"question": "two_factor", "body": "Varför inte?"})
    with app.app_context():
        thread = db.session.scalars(select(ReviewComment).where(ReviewComment.assessment_id == in_review)).one()
        version = db.session.get(Assessment, in_review).version
    client.post(f"/assessments/{in_review}/request-changes", data={"version": version, "reason": "Se kommentar."})
    auth.logout()
    auth.login(f"kommunikator@{KOMMUN}")
    step = client.get(f"/assessments/{in_review}/steps/security").get_data(as_text=True)
    assert "Varför inte?" in step  # the author sees the comment next to its question
    client.post(f"/assessments/{in_review}/comments", data={"parent": thread.id, "body": "Införs i december."})
    client.post(f"/assessments/{in_review}/comments/{thread.id}/resolve", data={"resolved": "1"})
    with app.app_context():
        reply = db.session.scalars(select(ReviewComment).where(ReviewComment.parent_id == thread.id)).one()
        assert reply.question_key == "two_factor" and reply.body == "Införs i december."
        assert db.session.get(ReviewComment, thread.id).resolved_at is not None
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.assessment_id == in_review)).all()
    assert {"comment_added", "comment_resolved", "request_changes"} <= set(actions)


def test_viewer_cannot_comment(app, client, auth, in_review):
    auth.login(f"lasare@{KOMMUN}")
    assert client.post(f"/assessments/{in_review}/comments", data={"body": "x"}).status_code == 403


def test_verdict_per_section_by_legal_only(app, client, auth, in_review):
    auth.login(f"kommunikator@{KOMMUN}")
    assert client.post(f"/assessments/{in_review}/verdicts",
                       data={"section": "security", "verdict": "acceptable"}).status_code == 403
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    bad = client.post(f"/assessments/{in_review}/verdicts", data={"section": "security", "verdict": "great"},
                      follow_redirects=True)
    assert "alternativen" in bad.get_data(as_text=True)
    client.post(f"/assessments/{in_review}/verdicts",
                data={"section": "security", "verdict": "to_correct", "note": "Tvåstegsverifiering saknas."})
    with app.app_context():
        verdict = db.session.scalars(select(SectionVerdict).where(SectionVerdict.assessment_id == in_review)).one()
        assert (verdict.section_key, verdict.verdict.value) == ("security", "to_correct")
    assert "Tvåstegsverifiering saknas." in client.get(f"/assessments/{in_review}").get_data(as_text=True)


def test_resubmission_shows_what_changed_since_the_last_review(app, client, auth, in_review):
    with app.app_context():
        version = db.session.get(Assessment, in_review).version
    auth.login(f"jurist@{KOMMUN}")
    client.post(f"/assessments/{in_review}/request-changes", data={"version": version, "reason": "Tvåsteg?"})
    auth.logout()
    auth.login(f"kommunikator@{KOMMUN}")
    page = client.get(f"/assessments/{in_review}/steps/description").get_data(as_text=True)
    data = step_data(latest_demo(), "description", ["facebook", "instagram"])
    client.post(f"/assessments/{in_review}/steps/description",
                data={**data, "accounts": "Kommunikationschefen äger nu båda kontona.", "version": version_of(page),
                      "action": "later"})
    assert client.post(f"/assessments/{in_review}/submit").status_code == 302
    assert status(app, in_review) is Status.IN_REVIEW
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    overview = client.get(f"/assessments/{in_review}").get_data(as_text=True)
    assert "1 svar har ändrats sedan förra granskningen" in overview
    changes = client.get(f"/assessments/{in_review}/changes").get_data(as_text=True)
    assert "Kommunikationschefen äger nu båda kontona." in changes


def test_approving_a_revision_supersedes_the_previous_one(app, client, auth, demo_orgs, runner):
    runner.invoke(args=["demo", "--name", "exempelkommun-2"])
    with app.app_context():
        first = db.session.scalars(select(Assessment)).one()
        first_id = first.id
    auth.login(f"kommunikator@{KOMMUN}")
    client.post(f"/assessments/{first_id}/revisions", data={})
    with app.app_context():
        second = db.session.scalars(select(Assessment).where(Assessment.previous_revision_id == first_id)).one()
        from assessments.demo import load_demo_assessment, record_consultation

        record_consultation(second, load_demo_assessment("exempelkommun-2"))
        workflow.submit_for_review(second, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        second_id, version = second.id, second.version
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    client.post(f"/assessments/{second_id}/approve", data={**APPROVE, "version": version})
    assert status(app, second_id) is Status.APPROVED
    assert status(app, first_id) is Status.SUPERSEDED
    assert "Ersatt" in client.get("/").get_data(as_text=True) or "Superseded" in client.get("/").get_data(as_text=True)


def test_audit_trail_is_readable_per_assessment(app, client, auth, in_review):
    auth.login(f"lasare@{KOMMUN}")
    page = client.get(f"/assessments/{in_review}/trail").get_data(as_text=True)
    # The events in words, not the trail's keys (assessments/events.py).
    assert "Skickad för granskning" in page and "Bedömningen skapades" in page
    assert "submit_for_review" not in page and ">created<" not in page
    auth.logout()
    auth.login("lasare@regionexempel.example")
    assert client.get(f"/assessments/{in_review}/trail").status_code == 404


def test_dashboard_shows_the_review_date_and_flags_overdue_ones(app, client, auth, demo_orgs, runner):
    from datetime import timedelta

    runner.invoke(args=["demo", "--name", "exempelkommun-2"])
    with app.app_context():
        assessment = db.session.scalars(select(Assessment)).one()
        due = assessment.review_due
        assert due is not None and due > clock.today()  # set at approval: 6 months, the demo relies on the DPF
        assessment.review_due = clock.today() - timedelta(days=1)
        db.session.commit()
    auth.login(f"lasare@{KOMMUN}")
    page = client.get("/").get_data(as_text=True)
    assert "uppföljning försenad" in page
