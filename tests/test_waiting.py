"""The "waiting for you" list at the top of the dashboard, per role: each entry links to where the user acts
and says why it waits; another organisation's assessments never appear (assessments/waiting.py)."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import delete

from assessments import clock, review, workflow
from assessments.answers import catalog_of
from assessments.extensions import db
from assessments.models import Assessment, DpoAdvice, PlatformFactOverride, Status
from tests.factories import KOMMUN, REGION, answered_assessment, organisation, reload, user


def waiting(client) -> str:
    page = client.get("/").get_data(as_text=True)
    if 'id="my-actions-title"' not in page:
        return ""
    return page.split('id="my-actions-title"')[1].split("</section>")[0]


def entries(section: str) -> list[tuple[str, str, str, str]]:
    """(kind label, link, title, reason) of each entry."""
    return re.findall(r'<span class="action-kind [^"]+">([^<]+)</span>\s*<a href="([^"]+)">([^<]+)</a>\s*'
                      r'<span class="waiting-reason">([^<]+)</span>', section)


def make(slug: str, title: str, status: Status, author: str = "kommunikator", **fields) -> int:
    domain = {"exempelkommun": KOMMUN, "regionexempel": REGION}[slug]
    a = Assessment(organisation_id=organisation(slug).id, title=title, language="sv", catalog_id="social-media",
                   catalog_version=2, platforms=["facebook"], status=status,
                   author_id=user(f"{author}@{domain}").id, **fields)
    db.session.add(a)
    db.session.flush()
    return a.id


def in_review(slug: str = "exempelkommun", *, advice: bool = True) -> int:
    """A fully answered demo assessment, submitted for review by its communicator."""
    domain = {"exempelkommun": KOMMUN, "regionexempel": REGION}[slug]
    from tests.answering import latest_demo

    assessment = answered_assessment(latest_demo(slug))
    if not advice:
        db.session.execute(delete(DpoAdvice).where(DpoAdvice.assessment_id == assessment.id))
    workflow.submit_for_review(assessment, user(f"kommunikator@{domain}"))
    db.session.commit()
    return assessment.id


def test_communicator_sees_what_was_sent_back_and_their_drafts(app, client, auth, demo_orgs):
    with app.app_context():
        sent_back = in_review()
        workflow.request_changes(reload(sent_back), user(f"jurist@{KOMMUN}"), "Lagringstiden saknas.")
        mine = make("exempelkommun", "Mitt utkast", Status.DRAFT, last_step="platform")
        make("exempelkommun", "Juristens utkast", Status.DRAFT, author="jurist")
        make("regionexempel", "Regionens utkast", Status.DRAFT)
        foreign = in_review("regionexempel")
        workflow.request_changes(reload(foreign), user(f"jurist@{REGION}"), "Fel.")
        db.session.commit()
        title = reload(sent_back).title
    auth.login(f"kommunikator@{KOMMUN}")
    found = entries(waiting(client))
    today = clock.today().isoformat()  # the day in Sweden, as the page gives it
    assert ("Att rätta", f"/assessments/{sent_back}", title, f"Ändringar begärda {today} av Jo Jurist.") in found
    assert ("Utkast", f"/assessments/{mine}/steps/platform", "Mitt utkast",
            f"Ditt utkast, senast ändrat {today}.") in found
    assert len(found) == 2  # not legal's draft, nothing of the region's


def test_legal_sees_what_to_review_then_what_to_sign(app, client, auth, demo_orgs):
    with app.app_context():
        assessment_id = in_review()
        in_review("regionexempel")
        title = reload(assessment_id).title
    auth.login(f"jurist@{KOMMUN}")
    today = clock.today().isoformat()
    assert entries(waiting(client)) == [("Att granska", f"/assessments/{assessment_id}", title,
                                         f"Skickad för granskning {today} av Kim Kommunikatör.")]
    with app.app_context():  # legal reviews every section; nothing blocks approval in the demo
        assessment = reload(assessment_id)
        for section in catalog_of(assessment).sections:
            review.set_verdict(assessment, user(f"jurist@{KOMMUN}"), section.key, "acceptable", "")
        db.session.commit()
    assert entries(waiting(client)) == [("Att godkänna", f"/assessments/{assessment_id}", title,
                                         f"Inget hindrar längre ett godkännande; inskickad {today}.")]
    with app.app_context():  # an open comment blocks approval: then it waits for the author, not for legal
        review.add_comment(reload(assessment_id), user(f"dso@{KOMMUN}"), "Stämmer lagringstiden?")
        db.session.commit()
    assert entries(waiting(client)) == []


def test_the_author_is_not_asked_to_review_their_own(app, client, auth, demo_orgs):
    with app.app_context():
        make("exempelkommun", "Juristens egen", Status.IN_REVIEW, author="jurist")
        db.session.commit()
    auth.login(f"jurist@{KOMMUN}")
    assert "Juristens egen" not in waiting(client)


def test_the_dpo_sees_where_advice_is_requested(app, client, auth, demo_orgs):
    with app.app_context():
        asked = in_review(advice=False)
        in_review()  # advice already recorded
        in_review("regionexempel", advice=False)
        title = reload(asked).title
    auth.login(f"dso@{KOMMUN}")
    assert entries(waiting(client)) == [
        ("Dataskyddsombudets råd begärs", f"/assessments/{asked}/consultation", title,
         f"Under granskning sedan {clock.today().isoformat()}; dataskyddsombudets råd är inte registrerat "
         "(artikel 35.2).")]


def test_the_administrator_sees_stale_facts_and_review_dates(app, client, auth, demo_orgs):
    today = clock.today()
    with app.app_context():
        kommun = organisation("exempelkommun")
        admin = user(f"admin@{KOMMUN}")
        values = {"eu_entity": "Meta Platforms Ireland Ltd", "transfer_tool": "dpf", "transfer_basis": "",
                  "joint_controller_addendum": True, "addendum_name": None}
        for platform, verified in (("facebook", today - timedelta(days=400)), ("instagram", today)):
            db.session.add(PlatformFactOverride(organisation_id=kommun.id, platform=platform, values=values,
                                                source="Villkorssidan", verified_on=verified, updated_by_id=admin.id))
        overdue = make("exempelkommun", "Försenad", Status.APPROVED, review_due=today - timedelta(days=1))
        soon = make("exempelkommun", "Snart", Status.APPROVED, review_due=today + timedelta(days=30))
        make("exempelkommun", "Senare", Status.APPROVED, review_due=today + timedelta(days=31))
        make("regionexempel", "Regionens", Status.APPROVED, review_due=today - timedelta(days=1))
        db.session.commit()
    auth.login(f"admin@{KOMMUN}")
    found = entries(waiting(client))
    assert ("Uppföljning", f"/assessments/{overdue}", "Försenad",
            f"Uppföljningen skulle ha gjorts senast {(today - timedelta(days=1)).isoformat()} (artikel 35.11).") in found
    assert ("Uppföljning", f"/assessments/{soon}", "Snart",
            f"Ska följas upp senast {(today + timedelta(days=30)).isoformat()}, om 30 dagar (artikel 35.11).") in found
    facts = [e for e in found if e[0] == "Plattformsfakta att kontrollera"]
    assert ("Plattformsfakta att kontrollera", "/admin/platform-facts/facebook", "Facebook",
            f"Kontrollerade {(today - timedelta(days=400)).isoformat()}, för 12 månader sedan eller mer.") in facts
    assert not any(e[1] == "/admin/platform-facts/instagram" for e in facts)  # verified today
    titles = {e[2] for e in found}
    assert "Senare" not in titles and "Regionens" not in titles
    # Only the administrator keeps the platform facts.
    auth.logout()
    auth.login(f"jurist@{KOMMUN}")
    assert "/admin/platform-facts" not in waiting(client) and "Försenad" in waiting(client)


def test_a_viewer_waits_for_nothing(app, client, auth, demo_orgs):
    with app.app_context():
        in_review(advice=False)
        make("exempelkommun", "Försenad", Status.APPROVED, review_due=clock.today())
        db.session.commit()
    auth.login(f"lasare@{KOMMUN}")
    assert waiting(client) == ""
