"""The risk register through HTTP: ratings only with a justification, free-form risks, measures and the
CSV action plan, acceptance of residual risk, and what the PDF contains."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from assessments.extensions import db
from assessments.models import Assessment, Measure, Risk, RiskRatingChange
from tests.factories import KOMMUN, answered_assessment, approved_unsealed, user

RATINGS = {"inherent_likelihood": "3", "inherent_severity": "4", "residual_likelihood": "2",
           "residual_severity": "3"}


@pytest.fixture
def draft_id(app, demo_orgs):
    with app.app_context():
        return answered_assessment().id


def add_risk(client, assessment_id, title="Konto kapas via gammal e-postadress", **ratings):
    return client.post(f"/assessments/{assessment_id}/risks",
                       data={"title": title, "description": "Någon tar över sidan.", "affected": "Följare",
                             "source": "Obehörig", **RATINGS, **ratings})


def manual_risk(app, assessment_id, title="Konto kapas via gammal e-postadress") -> Risk:
    with app.app_context():
        return db.session.scalars(select(Risk).where(Risk.assessment_id == assessment_id,
                                                     Risk.title == title)).one()


def add_measure(client, assessment_id, risk_ids, title="Tvåstegsverifiering för alla konton", **fields):
    """A decided measure: an owner and a due date, linked to the risks."""
    return client.post(f"/assessments/{assessment_id}/measures", data={
        "title": title, "owner": "Kommunikationschefen", "due_date": "2027-01-31", "status": "planned",
        "risks": [str(i) for i in risk_ids], **fields})


def test_free_form_risk_starts_with_residual_equal_to_inherent(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    assert add_risk(client, draft_id).status_code == 302
    risk = manual_risk(app, draft_id)
    # The residual ratings in the form are ignored: without a measure the residual risk is the inherent one.
    assert (risk.inherent_likelihood, risk.inherent_severity, risk.residual_likelihood,
            risk.residual_severity) == (3, 4, 3, 4)
    assert risk.rule_key is None and risk.active and risk.treatment is None
    page = client.get(f"/assessments/{draft_id}/risks").get_data(as_text=True)
    assert "Konto kapas via gammal e-postadress" in page


@pytest.mark.parametrize("bad", [{"inherent_likelihood": "5"}, {"inherent_severity": "x"}, {"title": ""}])
def test_invalid_risk_is_refused_with_a_message(app, client, auth, draft_id, bad):
    auth.login(f"kommunikator@{KOMMUN}")
    response = add_risk(client, draft_id, **bad)
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in follow
    with app.app_context():
        assert db.session.scalars(select(Risk).where(Risk.assessment_id == draft_id, Risk.rule_key.is_(None))
                                  ).all() == []


def test_rating_change_without_justification_is_refused(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    add_risk(client, draft_id)
    risk = manual_risk(app, draft_id)
    add_measure(client, draft_id, [risk.id])
    response = client.post(f"/assessments/{draft_id}/risks/{risk.id}/ratings",
                           data={**RATINGS, "residual_likelihood": "1", "justification": "  "}, follow_redirects=True)
    assert "Skriv varför bedömningen ändras" in response.get_data(as_text=True)
    assert manual_risk(app, draft_id).residual_likelihood == 3


def test_legal_changes_a_rating_with_justification_recorded_with_who_and_when(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    add_risk(client, draft_id)
    risk = manual_risk(app, draft_id)
    add_measure(client, draft_id, [risk.id])
    client.post(f"/assessments/{draft_id}/submit")
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    response = client.post(f"/assessments/{draft_id}/risks/{risk.id}/ratings",
                           data={"residual_likelihood": "1",
                                 "justification": "Tvåfaktorsinloggning införd för alla konton."})
    assert response.status_code == 302
    with app.app_context():
        change = db.session.scalars(select(RiskRatingChange).where(RiskRatingChange.risk_id == risk.id)).one()
        assert (change.field, change.old, change.new) == ("residual_likelihood", 3, 1)
        assert change.changed_by.email == f"jurist@{KOMMUN}" and change.changed_at is not None
    page = client.get(f"/assessments/{draft_id}/risks").get_data(as_text=True)
    assert "Tvåfaktorsinloggning införd för alla konton." in page


@pytest.mark.parametrize("who, status", [("lasare", 403), ("dso", 403), ("admin", 403)])
def test_roles_without_risk_rights_cannot_rate(app, client, auth, draft_id, who, status):
    auth.login(f"kommunikator@{KOMMUN}")
    add_risk(client, draft_id)
    risk = manual_risk(app, draft_id)
    auth.logout()
    auth.login(f"{who}@{KOMMUN}")
    response = client.post(f"/assessments/{draft_id}/risks/{risk.id}/ratings",
                           data={**RATINGS, "residual_likelihood": "1", "justification": "x"})
    assert response.status_code == status
    assert manual_risk(app, draft_id).residual_likelihood == 3


def test_another_organisation_cannot_see_or_rate(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    add_risk(client, draft_id)
    risk = manual_risk(app, draft_id)
    auth.logout()
    auth.login("jurist@regionexempel.example")
    assert client.get(f"/assessments/{draft_id}/risks").status_code == 404
    assert client.get(f"/assessments/{draft_id}/action-plan.csv").status_code == 404
    assert client.post(f"/assessments/{draft_id}/risks/{risk.id}/ratings",
                       data={**RATINGS, "justification": "x"}).status_code == 404


def test_measure_addresses_several_risks_and_exports_to_csv(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    add_risk(client, draft_id, title="Risk A")
    add_risk(client, draft_id, title="Risk B")
    a, b = manual_risk(app, draft_id, "Risk A"), manual_risk(app, draft_id, "Risk B")
    response = client.post(f"/assessments/{draft_id}/measures", data={
        "title": "Inför tvåfaktorsinloggning", "owner": "Kommunikationschefen", "due_date": "2027-01-31",
        "status": "in_progress", "risks": [str(a.id), str(b.id)]})
    assert response.status_code == 302
    with app.app_context():
        measure = db.session.scalars(select(Measure).where(Measure.assessment_id == draft_id,
                                                           Measure.title == "Inför tvåfaktorsinloggning")).one()
        assert {r.title for r in measure.risks} == {"Risk A", "Risk B"}
    exported = client.get(f"/assessments/{draft_id}/action-plan.csv")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["Åtgärd", "Beskrivning", "Ansvarig", "Klart senast", "Status", "Risker som åtgärden gäller"]
    row = next(r for r in rows if r[0] == "Inför tvåfaktorsinloggning")
    assert row[2:5] == ["Kommunikationschefen", "2027-01-31", "Pågår"]
    assert "Risk A" in row[5] and "Risk B" in row[5] and re.search(r"R\d+ Risk A", row[5])


@pytest.mark.parametrize("data, message", [
    ({"title": "", "owner": "x"}, "rubrik och en ansvarig"),
    ({"title": "T", "owner": "x", "due_date": "31/1"}, "ÅÅÅÅ-MM-DD"),
    ({"title": "T", "owner": "x", "status": "forgotten"}, "alternativen"),
    ({"title": "T", "owner": "x", "risks": ["999999"]}, "Välj risker"),
])
def test_bad_measure_input_gets_a_message_and_saves_nothing(app, client, auth, draft_id, data, message):
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.post(f"/assessments/{draft_id}/measures", data=data, follow_redirects=True)
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Measure).where(Measure.assessment_id == draft_id,
                                                        Measure.title == "T")).all() == []


def test_only_legal_accepts_residual_risk_and_needs_a_reason(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    client.post(f"/assessments/{draft_id}/submit")
    assert client.post(f"/assessments/{draft_id}/conclusion/accept", data={"reason": "ok"}).status_code == 403
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    empty = client.post(f"/assessments/{draft_id}/conclusion/accept", data={"reason": ""}, follow_redirects=True)
    assert "Ange skälet" in empty.get_data(as_text=True)
    client.post(f"/assessments/{draft_id}/conclusion/accept", data={"reason": "Nyttan för invånarna väger tyngre."})
    with app.app_context():
        assessment = db.session.get(Assessment, draft_id)
        assert assessment.residual_accepted_reason == "Nyttan för invånarna väger tyngre."
        assert assessment.residual_accepted_by_id == user(f"jurist@{KOMMUN}").id


def test_risks_are_read_only_after_approval(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    add_risk(client, draft_id)
    risk = manual_risk(app, draft_id)
    with app.app_context():
        approved_unsealed(db.session.get(Assessment, draft_id))
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    assert client.post(f"/assessments/{draft_id}/risks/{risk.id}/ratings",
                       data={**RATINGS, "residual_likelihood": "1", "justification": "x"}).status_code == 403
    assert client.post(f"/assessments/{draft_id}/risks", data={"title": "Ny", **RATINGS}).status_code == 403


def test_the_report_contains_register_heat_maps_action_plan_and_conclusion(app, client, auth, draft_id):
    from pypdf import PdfReader

    from assessments.answers import load_answers
    from assessments.report.document import report_html
    from assessments.report.pdf import render_pdf

    auth.login(f"kommunikator@{KOMMUN}")
    add_risk(client, draft_id, title="Egen risk i rapporten")
    with app.app_context(), app.test_request_context():
        assessment = db.session.get(Assessment, draft_id)
        html = report_html(assessment, load_answers(assessment), record_sha256="0" * 64, signature=None)
        pdf = render_pdf(html, record_json=b"{}", title=assessment.title, lang="sv")
    assert html.count('<table class="heat"') == 2 and html.count('<table class="heat heat-small"') == 1
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    for part in ("Inneboende risk (före åtgärder)", "Restrisk (efter åtgärder)", "Egen risk i rapporten",
                 "Åtgärdsplan", "Slutsats", "Förhandssamråd med IMY", "Följs upp senast"):
        assert part in text, part


def test_changing_an_answer_re_derives_without_discarding_what_legal_wrote(app, client, auth, draft_id,
                                                                            monkeypatch):
    from assessments.risk import service
    from tests.answering import version_of
    from tests.risk.test_rules_engine import rule, rules

    two_factor_rule = rules(rule(key="account_takeover"))
    monkeypatch.setattr(service, "load_risk_rules", lambda *_args: two_factor_rule)
    auth.login(f"kommunikator@{KOMMUN}")

    def answer_two_factor(value):
        page = client.get(f"/assessments/{draft_id}/steps/security").get_data(as_text=True)
        data = {"two_factor": value, "version": version_of(page), "action": "later"}
        assert client.post(f"/assessments/{draft_id}/steps/security", data=data).status_code == 302

    def derived():
        with app.app_context():
            return db.session.scalars(select(Risk).where(Risk.assessment_id == draft_id,
                                                         Risk.rule_key == "account_takeover")).one_or_none()

    answer_two_factor("yes")
    answer_two_factor("no")
    risk = derived()
    assert risk.active and risk.triggered_by == [["two_factor", ""]]
    add_measure(client, draft_id, [risk.id], title="Lösenordshanterare och larm")
    client.post(f"/assessments/{draft_id}/risks/{risk.id}/ratings",
                data={"residual_likelihood": "1", "justification": "Lösenordshanterare och larm införda."})
    answer_two_factor("yes")
    assert not derived().active
    page = client.get(f"/assessments/{draft_id}/risks").get_data(as_text=True)
    assert "Risker som inte längre gäller (" in page
    answer_two_factor("no")
    again = derived()
    assert again.active and again.id == risk.id and again.residual_likelihood == 1
