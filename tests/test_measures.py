"""Acting on the risk register through HTTP: a suggested measure added in one step (pre-filled, editable),
measures with a description, owner, due date and status changed until approval, cancelling the last decided
measure putting the residual rating back, and no "no longer applies" on a new assessment."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from assessments.extensions import db
from assessments.models import AuditEvent, Measure, MeasureStatus, Risk, RiskRatingChange, Treatment
from tests.answering import answer_all, latest_demo
from tests.factories import KOMMUN, answered_assessment, approved_unsealed

NO_LONGER = "Risker som inte längre gäller"


@pytest.fixture
def draft_id(app, demo_orgs):
    with app.app_context():
        return answered_assessment().id


def a_derived_risk(app, assessment_id) -> Risk:
    with app.app_context():
        return db.session.scalars(select(Risk).where(Risk.assessment_id == assessment_id, Risk.active.is_(True),
                                                     Risk.rule_key.is_not(None)).order_by(Risk.number)).first()


def measures_of(app, assessment_id, **where) -> list[Measure]:
    with app.app_context():
        query = select(Measure).where(Measure.assessment_id == assessment_id,
                                      *(getattr(Measure, k) == v for k, v in where.items()))
        found = list(db.session.scalars(query))
        for measure in found:
            _ = [r.id for r in measure.risks]
        return found


def suggestion_link(page: str, risk_id: int) -> tuple[str, str]:
    """The first "add this measure" link of the risk: its URL and the suggested text it carries."""
    match = re.search(rf'href="(/assessments/\d+/risks/{risk_id}/measures/new\?suggestion=\d+)" '
                      r'data-prefill-measure data-title="([^"]+)"', page)
    assert match, "no 'add this measure' link for the risk"
    return html.unescape(match.group(1)), html.unescape(match.group(2))


def test_a_suggested_measure_opens_the_form_pre_filled_and_can_be_edited_before_saving(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    risk = a_derived_risk(app, draft_id)
    page = client.get(f"/assessments/{draft_id}/risks").get_data(as_text=True)
    assert "Lägg till åtgärden" in page
    url, suggestion = suggestion_link(page, risk.id)
    form = client.get(url)
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert f'value="{html.escape(suggestion)}"' in body or f'value="{html.escape(suggestion, quote=True)}"' in body
    assert re.search(rf'id="risks-{risk.id}" name="risks" value="{risk.id}" checked', body)
    assert re.search(r'<option selected value="planned">|<option value="planned" selected>', body)
    # Edited before saving: a sharper title, a description, an owner and a due date.
    response = client.post(f"/assessments/{draft_id}/measures", data={
        "title": suggestion + " (alla konton)", "description": "Gäller också kommunens projektkonton.",
        "owner": "Kommunikationschefen", "due_date": "2027-02-28", "status": "planned", "risks": [str(risk.id)]})
    assert response.status_code == 302
    [measure] = measures_of(app, draft_id, title=suggestion + " (alla konton)")
    assert measure.description == "Gäller också kommunens projektkonton."
    assert [r.id for r in measure.risks] == [risk.id] and measure.status is MeasureStatus.PLANNED


def test_a_suggestion_added_unchanged_is_marked_added(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    risk = a_derived_risk(app, draft_id)
    _url, suggestion = suggestion_link(client.get(f"/assessments/{draft_id}/risks").get_data(as_text=True), risk.id)
    client.post(f"/assessments/{draft_id}/measures", data={
        "title": suggestion, "owner": "IT", "due_date": "2027-02-28", "status": "planned", "risks": [str(risk.id)]})
    page = client.get(f"/assessments/{draft_id}/risks").get_data(as_text=True)
    section = page[page.index(f'id="risk-{risk.id}"'):]
    section = section[:section.index("</section>")]
    assert f"{html.escape(suggestion)} – <em>tillagd</em>" in section


def test_an_unknown_suggestion_gives_an_empty_form_linked_to_the_risk(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    risk = a_derived_risk(app, draft_id)
    body = client.get(f"/assessments/{draft_id}/risks/{risk.id}/measures/new?suggestion=999").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="title"[^>]*value=""', body) or 'id="title" maxlength="300" name="title" type="text" value=""' in body
    assert re.search(rf'id="risks-{risk.id}" name="risks" value="{risk.id}" checked', body)


def test_a_measure_is_edited_through_its_statuses(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    risk = a_derived_risk(app, draft_id)
    client.post(f"/assessments/{draft_id}/measures", data={
        "title": "Rutin för borttagning", "owner": "Kommunikatören", "due_date": "2027-01-31", "status": "planned",
        "risks": [str(risk.id)]})
    [measure] = measures_of(app, draft_id, title="Rutin för borttagning")
    page = client.get(f"/assessments/{draft_id}/measures/{measure.id}").get_data(as_text=True)
    assert 'value="Kommunikatören"' in page and 'value="2027-01-31"' in page
    for status, label in (("in_progress", "Pågår"), ("done", "Klar"), ("planned", "Planerad")):
        response = client.post(f"/assessments/{draft_id}/measures/{measure.id}", data={
            "title": "Rutin för borttagning", "description": f"Steg: {status}", "owner": "Webbredaktören",
            "due_date": "2027-03-15", "status": status, "risks": [str(risk.id)]})
        assert response.status_code == 302
        [saved] = measures_of(app, draft_id, id=measure.id)
        assert (saved.status.value, saved.owner, saved.description, saved.due_date.isoformat()) == (
            status, "Webbredaktören", f"Steg: {status}", "2027-03-15")
        register = client.get(f"/assessments/{draft_id}/risks").get_data(as_text=True)
        row = register[register.index(f'id="measure-{measure.id}"'):]
        assert f"<td>{label}</td>" in row[:row.index("</tr>")]
    with app.app_context():
        saves = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "measure_saved")).all()
        assert [e.details["status"] for e in saves if e.details["measure"] == measure.id][-3:] == [
            "in_progress", "done", "planned"]


def test_a_refused_measure_comes_back_with_what_was_typed_and_the_problem_at_the_field(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    risk = a_derived_risk(app, draft_id)
    response = client.post(f"/assessments/{draft_id}/measures", data={
        "title": "Utbildning i moderering", "description": "Två timmar per termin för alla redaktörer.",
        "owner": "HR", "status": "planned", "risks": [str(risk.id)]})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Två timmar per termin för alla redaktörer." in body and 'value="Utbildning i moderering"' in body
    assert '<a href="#due_date">' in body and "En åtgärd behöver ett datum" in body
    assert re.search(rf'value="{risk.id}" checked', body)
    assert measures_of(app, draft_id, title="Utbildning i moderering") == []


def test_cancelling_the_last_decided_measure_puts_the_residual_rating_back(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    # A risk of one's own, so that no measure of the demo data is linked to it.
    assert client.post(f"/assessments/{draft_id}/risks", data={
        "title": "Kontot kapas", "inherent_likelihood": "3", "inherent_severity": "3"}).status_code == 302
    with app.app_context():
        risk = db.session.scalars(select(Risk).where(Risk.assessment_id == draft_id, Risk.title == "Kontot kapas")).one()
    data = {"title": "Tvåstegsverifiering", "owner": "IT-chefen", "due_date": "2027-01-31", "status": "planned",
            "risks": [str(risk.id)]}
    assert client.post(f"/assessments/{draft_id}/measures", data=data).status_code == 302
    [measure] = measures_of(app, draft_id, title="Tvåstegsverifiering")
    lower = max(1, risk.inherent_likelihood - 1)
    assert lower < risk.inherent_likelihood, "the test needs a risk that can be rated lower"
    client.post(f"/assessments/{draft_id}/risks/{risk.id}/ratings",
                data={"residual_likelihood": str(lower), "justification": "Tvåstegsverifiering beslutad."})
    assert client.post(f"/assessments/{draft_id}/risks/{risk.id}/treatment",
                       data={"treatment": "reduce"}).status_code == 302
    with app.app_context():
        rated = db.session.get(Risk, risk.id)
        assert rated.residual_likelihood == lower and rated.treatment is Treatment.REDUCE
    response = client.post(f"/assessments/{draft_id}/measures/{measure.id}", data={**data, "status": "cancelled"})
    assert response.status_code == 302
    with app.app_context():
        back = db.session.get(Risk, risk.id)
        assert back.residual_likelihood == back.inherent_likelihood and back.treatment is None
        last = db.session.scalars(select(RiskRatingChange).where(RiskRatingChange.risk_id == risk.id)
                                  .order_by(RiskRatingChange.id.desc())).first()
        assert "avbröts" in last.justification and last.new == back.inherent_likelihood


def test_measures_are_read_only_after_approval(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    risk = a_derived_risk(app, draft_id)
    data = {"title": "Loggning av inloggningar", "owner": "IT", "due_date": "2027-01-31", "status": "planned",
            "risks": [str(risk.id)]}
    client.post(f"/assessments/{draft_id}/measures", data=data)
    [measure] = measures_of(app, draft_id, title="Loggning av inloggningar")
    with app.app_context():
        from assessments.models import Assessment
        approved_unsealed(db.session.get(Assessment, draft_id))
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    page = client.get(f"/assessments/{draft_id}/measures/{measure.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Loggning av inloggningar" in body and f'action="/assessments/{draft_id}/measures/' not in body
    assert client.post(f"/assessments/{draft_id}/measures/{measure.id}", data={**data, "status": "done"}
                       ).status_code == 403
    assert client.get(f"/assessments/{draft_id}/risks/{risk.id}/measures/new?suggestion=0").status_code == 403
    register = client.get(f"/assessments/{draft_id}/risks").get_data(as_text=True)
    assert "data-prefill-measure" not in register
    assert measures_of(app, draft_id, id=measure.id)[0].status is MeasureStatus.PLANNED


def test_a_new_assessment_has_no_risks_that_no_longer_apply(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.post("/assessments/new", data={"title": "Ny närvaro", "platforms": ["facebook", "instagram"],
                                                      "language": "sv"})
    assessment_id = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    answer_all(client, assessment_id, latest_demo(), ["facebook", "instagram"])
    with app.app_context():
        inactive = db.session.scalars(select(Risk).where(Risk.assessment_id == assessment_id,
                                                         Risk.active.is_(False))).all()
    # Proposed for a moment while a later step was unanswered: kept in the record, not shown as "no longer".
    assert inactive, "the demo answers no longer pass through a risk that stops applying"
    page = client.get(f"/assessments/{assessment_id}/risks").get_data(as_text=True)
    assert NO_LONGER not in page
