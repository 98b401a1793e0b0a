"""The full catalogue: coverage of the legal requirements, screening outcomes a lawyer would
expect for each demo organisation, warnings, platform-fact suggestions, pinning and both languages."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from assessments import clock
from assessments.answers import RECORDED_SECTIONS, load_answers, screening
from assessments.catalog import get_catalog, latest_catalog
from assessments.catalog.facts import check_platform_facts, load_platform_facts
from assessments.extensions import db
from assessments.models import Assessment, Status
from tests.answering import latest_demo, version_of
from tests.factories import KOMMUN, answered_assessment, approved_unsealed


def full():
    catalog = latest_catalog()
    assert catalog.version >= 2
    return catalog


@pytest.mark.parametrize("tag", [f"art35_7_{x}" for x in "abcd"] + [f"wp248_{n}" for n in range(1, 10)]
                         + [f"edpb_step_{n}" for n in range(1, 7)])
def test_every_requirement_is_served_by_a_question(tag):
    assert any(tag in q.tags for q in full().questions()), tag


def test_every_question_speaks_both_languages_and_cites_law():
    for q in full().questions():
        assert q.text.sv.strip() and q.text.en.strip() and q.text.sv != q.text.en, q.key
        assert q.help is not None and q.help.sv.strip() and q.help.en.strip(), q.key
        assert q.tags, q.key


def test_every_tag_and_condition_refers_to_something_that_exists():
    catalog = full()
    declared = {r.key for r in catalog.requirements}
    for q in catalog.questions():
        assert set(q.tags) <= declared, q.key
        if q.show_if and q.show_if.question:
            catalog.question(q.show_if.question)


def test_platform_facts_fit_the_catalogue_and_are_dated():
    facts = load_platform_facts()
    assert set(facts) == {"facebook", "instagram", "linkedin", "youtube", "tiktok", "x"}
    check_platform_facts(full(), facts)
    assert facts["tiktok"].transfer_tool == "scc"
    assert facts["facebook"].joint_controller_addendum is True
    assert facts["youtube"].is_unverified("joint_controller_addendum")


def test_the_starter_catalogue_still_loads_for_pinned_assessments():
    assert get_catalog("social-media", 1).version == 1


def outcome_for(app, organisation):
    with app.app_context():
        assessment = answered_assessment(latest_demo(organisation))
        return screening(assessment, load_answers(assessment))


def criteria(outcome) -> set[str]:
    return {hit.criterion.key for hit in outcome.triggered}


def test_municipality_dpia_required_because_staff_and_vulnerable_people_in_photos_and_sensitive_comments(
        app, demo_orgs):
    outcome = outcome_for(app, "exempelkommun")
    assert outcome.level == "required"
    assert {"wp248_7", "wp248_4"} <= criteria(outcome)


def test_region_dpia_required_because_large_scale_and_health_data_in_comments(app, demo_orgs):
    outcome = outcome_for(app, "regionexempel")
    assert outcome.level == "required"
    assert {"wp248_5", "wp248_4"} <= criteria(outcome)


def test_bank_dpia_required_because_large_scale_and_highly_personal_financial_data(app, demo_orgs):
    outcome = outcome_for(app, "exempelbanken")
    assert outcome.level == "required"
    assert {"wp248_5", "wp248_4"} <= criteria(outcome)


def test_not_required_outcome_asks_for_the_reason_and_the_dpo_view(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.post("/assessments/new", data={"title": "Liten sida", "platforms": ["linkedin"],
                                                     "language": "sv"})
    assessment_id = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    criteria_questions = [q for q in full().section("screening").questions
                          if q.type == "yes_no" and any(t.startswith("wp248_") for t in q.tags)]
    page = client.get(f"/assessments/{assessment_id}/steps/screening").get_data(as_text=True)
    dependent = [q for q in full().section("screening").questions
                 if q.show_if and q.show_if.screening and "not_required" in q.show_if.screening]
    assert dependent and all(f'name="{q.key}"' not in page for q in dependent)
    response = client.post(f"/assessments/{assessment_id}/steps/screening", data={
        **{q.key: "no" for q in criteria_questions}, "version": version_of(page), "action": "next"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200  # stays on the step: more questions apply now
    assert all(f'name="{q.key}"' in html for q in dependent)
    assert "screening-not_required" in html  # the outcome box says "not required" and why it asks more


def test_one_criterion_asks_whether_a_full_assessment_is_made_and_the_reasons_for_opting_out(
        app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.post("/assessments/new", data={"title": "Ett kriterium", "platforms": ["linkedin"],
                                                     "language": "sv"})
    assessment_id = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    criteria_questions = [q for q in full().section("screening").questions
                          if q.type == "yes_no" and any(t.startswith("wp248_") for t in q.tags)]
    answers = {q.key: "no" for q in criteria_questions}
    answers["large_scale"] = "yes"  # one criterion: recommended
    url = f"/assessments/{assessment_id}/steps/screening"
    page = client.get(url).get_data(as_text=True)
    html = client.post(url, data={**answers, "version": version_of(page), "action": "next"}).get_data(as_text=True)
    assert 'name="screening_one_criterion_decision"' in html
    assert 'name="screening_not_required_reason"' not in html
    html = client.post(url, data={**answers, "screening_one_criterion_decision": "opt_out",
                                  "version": version_of(html), "action": "next"}).get_data(as_text=True)
    # Opting out with one criterion met needs the reasons and the DPO's view, as with none.
    assert 'name="screening_opt_out_reason"' in html and 'name="screening_opt_out_dpo_view"' in html


def test_public_body_choosing_legitimate_interest_is_warned_a_company_is_not(app, demo_orgs):
    catalog = full()
    warned = [q for q in catalog.questions() for w in q.warnings if w.public_body]
    assert warned, "the catalogue warns public bodies somewhere"
    question = next(q for q in catalog.questions() if any(
        w.public_body and "legitimate_interest" in str(w.when) for w in q.warnings))
    value = next(o.value for o in question.options if "legitimate_interest" in o.value)
    assert question.warnings_for(value, public_body=True)
    assert not [w for w in question.warnings_for(value, public_body=False)
                if "offentlig" in w.sv.lower() or "public" in w.en.lower()]


def test_platform_step_prefills_facts_as_a_confirmable_suggestion(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.post("/assessments/new", data={"title": "TikTok", "platforms": ["tiktok"], "language": "sv"})
    assessment_id = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    html = client.get(f"/assessments/{assessment_id}/steps/platform").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="transfer_tool__tiktok"[^>]*value="scc"', html) or \
        re.search(r'<input[^>]*name="transfer_tool__tiktok"[^>]*value="scc"[^>]*checked', html) or \
        re.search(r'<input[^>]*checked[^>]*value="scc"[^>]*name="transfer_tool__tiktok"', html)
    assert "Förslag från plattformsfakta" in html or "Suggested from the platform facts" in html
    with app.app_context():
        assert load_answers(db.session.get(Assessment, assessment_id)) == {}  # a suggestion is not an answer


def test_admin_updates_platform_facts_for_own_organisation_only(app, client, auth, demo_orgs):
    auth.login(f"admin@{KOMMUN}")
    assert client.get("/admin/platform-facts").status_code == 200
    future = (clock.today() + timedelta(days=3)).isoformat()
    bad = client.post("/admin/platform-facts/tiktok", data={
        "eu_entity": "TikTok Technology Ltd", "transfer_tool": "scc", "joint_controller_addendum": "unknown",
        "source": "Villkor", "verified_on": future})
    assert bad.status_code == 400
    ok = client.post("/admin/platform-facts/tiktok", data={
        "eu_entity": "TikTok Technology Ltd", "transfer_tool": "unknown", "transfer_basis": "Oklart",
        "joint_controller_addendum": "no", "source": "Eget utskick 2026", "verified_on": "2026-11-01"})
    assert ok.status_code == 302
    from assessments.platform_facts import effective_facts
    from tests.factories import organisation

    with app.app_context():
        mine = effective_facts(organisation("exempelkommun").id)["tiktok"]
        theirs = effective_facts(organisation("regionexempel").id)["tiktok"]
    assert mine.transfer_tool == "unknown" and mine.source == "Eget utskick 2026"
    assert theirs.transfer_tool == "scc"
    auth.logout()
    auth.login(f"kommunikator@{KOMMUN}")
    assert client.get("/admin/platform-facts").status_code == 403
    assert client.post("/admin/platform-facts/tiktok", data={}).status_code == 403


def test_facts_older_than_twelve_months_are_shown_as_stale(app, client, auth, demo_orgs):
    auth.login(f"admin@{KOMMUN}")
    client.post("/admin/platform-facts/x", data={
        "eu_entity": "Twitter International Unlimited Co.", "transfer_tool": "", "joint_controller_addendum":
        "unknown", "source": "Gammal kontroll", "verified_on": "2024-01-15"})
    html = client.get("/admin/platform-facts").get_data(as_text=True)
    assert "äldre än 12 månader" in html or "older than 12 months" in html


def test_other_platform_needs_a_name_and_is_shown_by_it(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    missing = client.post("/assessments/new", data={"title": "Mastodon", "platforms": ["other"], "language": "sv"})
    assert missing.status_code == 400
    response = client.post("/assessments/new", data={"title": "Mastodon", "platforms": ["other"],
                                                     "other_platform_name": "Mastodon", "language": "sv"})
    assessment_id = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    html = client.get(f"/assessments/{assessment_id}/steps/platform").get_data(as_text=True)
    assert "<legend>Mastodon</legend>" in html


def test_pinned_assessment_keeps_its_version_and_a_new_revision_moves_to_the_latest(app, client, auth, demo_orgs):
    with app.app_context():
        old = answered_assessment("exempelkommun-1")
        approved_unsealed(old)
        old_id = old.id
        old_keys = set(load_answers(old))
    auth.login(f"kommunikator@{KOMMUN}")
    assert "version 1" in client.get(f"/assessments/{old_id}").get_data(as_text=True)
    response = client.post(f"/assessments/{old_id}/revisions", data={"to_latest": "1"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    with app.app_context():
        new = db.session.scalars(select(Assessment).where(Assessment.previous_revision_id == old_id)).one()
        assert (new.catalog_version, new.revision, new.status) == (full().version, 2, Status.DRAFT)
        carried = set(load_answers(new))
        old_again = db.session.get(Assessment, old_id)
        assert old_again.catalog_version == 1 and old_again.status is Status.APPROVED
    catalog = full()
    expected = {(k, p) for k, p in old_keys if k in {q.key for q in catalog.questions()}}
    assert carried <= expected and carried  # something carried, nothing invented
    lost = old_keys - carried
    if lost:
        assert "svar följde inte med" in html or "did not carry over" in html
    # A second revision of the same approved assessment is refused.
    again = client.post(f"/assessments/{old_id}/revisions", data={}, follow_redirects=True)
    assert "nyare version" in again.get_data(as_text=True).lower() or "newer revision" in again.get_data(as_text=True)


@pytest.mark.parametrize("lang, marker", [("sv", "Sida"), ("en", "Page")])
def test_report_shows_the_full_catalogue_in_the_assessments_language(app, demo_orgs, lang, marker):
    import io

    from pypdf import PdfReader

    from assessments.report.document import report_html
    from assessments.report.pdf import render_pdf

    with app.app_context(), app.test_request_context():
        assessment = answered_assessment()
        assessment.language = lang
        answers = load_answers(assessment)
        html = report_html(assessment, answers, record_sha256="0" * 64, signature=None)
        pdf = render_pdf(html, record_json=b"{}", title=assessment.title, lang=lang)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    flat = " ".join(text.split())

    for section in full().sections:
        if section.key in RECORDED_SECTIONS:  # printed from the formal record, under the report's own heading
            continue
        assert " ".join(section.title.get(lang).split()) in flat, section.key
    assert f"{marker} 1" in flat


def test_wizard_asks_in_the_assessments_language(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.post("/assessments/new", data={"title": "In English", "platforms": ["youtube"],
                                                     "language": "en"})
    assessment_id = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    for section in full().sections:
        html = client.get(f"/assessments/{assessment_id}/steps/{section.key}").get_data(as_text=True)
        assert section.title.en in html
        if section.key in RECORDED_SECTIONS:  # the step shows the consultation record, not questions
            assert f"/assessments/{assessment_id}/consultation" in html
            continue
        first = section.questions[0]
        if first.show_if is None:
            assert first.text.en.replace("'", "&#39;").replace('"', "&#34;") in html, first.key
