"""The review loop as people live it: what the author must correct after changes are requested, what
changed against each comment when it comes back, the step list with what is open in each step (the risks
included), and warnings and the screening outcome while answering."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from assessments import review, workflow
from assessments.extensions import db
from assessments.models import Answer, AuditEvent, Risk
from tests.factories import KOMMUN, answered_assessment, reload, user

AUTHOR, LEGAL, DPO = f"kommunikator@{KOMMUN}", f"jurist@{KOMMUN}", f"dso@{KOMMUN}"
REASON = "Beskriv hur länge kommentarer sparas och vem som rensar dem."


@pytest.fixture
def sent_back(app, demo_orgs):
    """A demo assessment in review with a comment on a question, a section marked "to correct" and a
    general comment, sent back by legal with a reason."""
    with app.app_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(AUTHOR))
        review.add_comment(assessment, user(LEGAL), "Hur länge sparas kommentarerna?", question="retention")
        review.add_comment(assessment, user(LEGAL), "Allmänt: bra underlag.")
        review.set_verdict(assessment, user(LEGAL), "comments", "to_correct", "Rutinen för rensning saknas.")
        workflow.request_changes(assessment, user(LEGAL), REASON)
        db.session.commit()
        return assessment.id


def test_the_author_sees_why_it_came_back_and_every_open_item(client, auth, sent_back):
    auth.login(AUTHOR)
    page = client.get(f"/assessments/{sent_back}").get_data(as_text=True)
    box = page[page.index('class="fix-box"'):page.index("</section>", page.index('class="fix-box"'))]
    assert REASON in box and "Jo Jurist skickade tillbaka bedömningen" in box
    assert "1 avsnitt markerat" in box and "Rutinen för rensning saknas." in box
    assert f'href="/assessments/{sent_back}/steps/comments"' in box
    assert "2 öppna kommentarer" in box and "Hur länge sparas kommentarerna?" in box
    assert f'href="/assessments/{sent_back}/steps/description#q-retention"' in box
    assert 'href="#comments"' in box  # the general comment


def test_a_step_with_open_items_is_not_complete(client, auth, sent_back):
    auth.login(AUTHOR)
    page = client.get(f"/assessments/{sent_back}").get_data(as_text=True)
    steps = dict(re.findall(r'/steps/([a-z_]+)"[^>]*>[^<]*</a>\s*<span class="step-state">([^<]*)</span>', page))
    assert steps["comments"] == "1 sak att rätta"  # answered in full, but marked "to correct"
    assert steps["description"] == "1 sak att rätta"  # the open comment on retention
    assert steps["screening"] == "klart"
    risks_state = re.search(r'/risks"[^>]*>Risker, åtgärder och slutsats</a>\s*<span class="step-state">([^<]*)<',
                            page).group(1)
    assert risks_state == "klart"  # the demo decided every risk


def test_the_risk_step_counts_the_risks_without_a_decision(app, client, auth, demo_orgs):
    with app.app_context():
        assessment = answered_assessment()
        risks = db.session.scalars(select(Risk).where(Risk.assessment_id == assessment.id, Risk.active)
                                   .order_by(Risk.id)).all()
        decided = {risk.id: risk.treatment for risk in risks[:2]}
        for risk in risks[:2]:
            risk.treatment = None
        db.session.commit()
        assessment_id = assessment.id
    auth.login(AUTHOR)
    assert "2 risker utan beslut" in client.get(f"/assessments/{assessment_id}").get_data(as_text=True)
    with app.app_context():
        first = min(decided)
        db.session.get(Risk, first).treatment = decided[first]
        db.session.commit()
    assert "1 risk utan beslut" in client.get(f"/assessments/{assessment_id}").get_data(as_text=True)


def test_legal_sees_what_changed_against_each_comment_on_resubmission(app, client, auth, sent_back):
    with app.app_context():
        before = db.session.scalars(select(Answer.value).where(Answer.assessment_id == sent_back,
                                                               Answer.question_key == "retention")).one()
    auth.login(AUTHOR)
    page = client.get(f"/assessments/{sent_back}/steps/description").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    with app.app_context():
        from tests.answering import latest_demo, step_data

        data = step_data(latest_demo(), "description", ["facebook", "instagram"])
    data["retention"] = "Kommentarer rensas efter tolv månader av kommunikatören."
    assert client.post(f"/assessments/{sent_back}/steps/description",
                       data={**data, "version": version, "action": "later"}).status_code == 302
    assert client.post(f"/assessments/{sent_back}/submit").status_code == 302
    auth.logout()
    auth.login(LEGAL)
    page = client.get(f"/assessments/{sent_back}").get_data(as_text=True)
    changed = re.findall(r'<dd class="changed-since">(.*?)</dd>', page, re.S)
    assert len(changed) == 1  # only the question whose answer changed
    assert before[:40] in changed[0] and "Kommentarer rensas efter tolv månader" in changed[0]
    auth.logout()
    auth.login(AUTHOR)  # the author's page does not carry the reviewer's comparison
    assert 'class="changed-since"' not in client.get(f"/assessments/{sent_back}").get_data(as_text=True)


def test_swedish_plurals_come_from_ngettext(app):
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("sv"):
        assert ngettext("%(num)d question left", "%(num)d questions left", 1) == "1 fråga kvar"
        assert ngettext("%(num)d question left", "%(num)d questions left", 2) == "2 frågor kvar"
        assert ngettext("%(num)d risk without a decision", "%(num)d risks without a decision", 5) == \
            "5 risker utan beslut"
    with app.test_request_context(), force_locale("en"):
        assert ngettext("%(num)d question left", "%(num)d questions left", 1) == "1 question left"


def test_warnings_and_the_screening_outcome_follow_the_answers_before_saving(app, client, auth, demo_orgs):
    """The live preview (app.js posts the form to /feedback) says what saving would: nothing is stored."""
    auth.login(AUTHOR)
    response = client.post("/assessments/new", data={"title": "Ny kanal", "platforms": ["tiktok"], "language": "sv"})
    assessment_id = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    url = f"/assessments/{assessment_id}/steps/screening/feedback"
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        version = reload(assessment_id).version
    answer = client.post(url, data={"sensitive_data": "yes"}).get_json()
    assert "stor omfattning" in " ".join(answer["warnings"]["sensitive_data"])
    assert "Inte avgjort än" in answer["screening"]  # the other screening questions are unanswered
    everything = {"monitoring_profiling": "yes", "automated_decisions": "no", "systematic_monitoring": "no",
                  "sensitive_data": "yes", "large_scale": "no", "combining_data": "no",
                  "vulnerable_data_subjects": "no", "innovative_technology": "no",
                  "prevents_rights_or_service": "no"}
    answer = client.post(url, data=everything).get_json()
    assert "Krävs" in answer["screening"] or "krävs" in answer["screening"]
    answer = client.post(url, data={**everything, "sensitive_data": "no"}).get_json()
    assert answer["warnings"] == {} and "Rekommenderas" in answer["screening"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
        assert reload(assessment_id).version == version
        assert db.session.scalar(select(func.count()).select_from(Answer)
                                 .where(Answer.assessment_id == assessment_id)) == 0
    auth.logout()
    auth.login(DPO)
    assert client.post(url, data=everything).status_code == 403


def test_the_consultation_step_shows_the_record_not_a_second_copy(app, client, auth, demo_orgs):
    with app.app_context():
        assessment = answered_assessment()
        assessment_id = assessment.id
        consultation_questions = {q.key for q in review.catalog_of(assessment).section("consultation").questions}
        assert not db.session.scalars(select(Answer).where(Answer.assessment_id == assessment_id,
                                                           Answer.question_key.in_(consultation_questions))).all()
    auth.login(AUTHOR)
    page = client.get(f"/assessments/{assessment_id}/steps/consultation").get_data(as_text=True)
    assert f'href="/assessments/{assessment_id}/consultation"' in page
    assert 'id="step-form"' not in page  # no questions to answer twice
    assert "Dana Dataskyddsombud" in page  # who gave the advice, from the record
