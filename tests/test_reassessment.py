"""Re-assessment triggers (docs/reassessment.md): a changed platform fact, a new catalogue version and the
EU–US Data Privacy Framework no longer applying flag exactly the approved assessments that relied on them (not
the others, not another organisation's); the waiting list and the e-mail; a new revision leaves behind and
lists what must be answered again, and its approval resolves the flag; the portfolio page and its CSV."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from assessments import clock, csvfile, workflow
from assessments.answers import load_answers
from assessments.audit import verify_chain
from assessments.extensions import db
from assessments.models import Assessment, AuditEvent, Status, utcnow
from assessments.outbox import Notification
from assessments.platform_facts import save_override
from assessments.reassessment.flags import open_flags
from assessments.reassessment.model import ReassessmentFlag
from assessments.reassessment.triggers import flag_catalogue_changes
from assessments.risk.service import conclusion
from tests.answering import latest_demo
from tests.factories import KOMMUN, REGION, answered_assessment, organisation, reload, user
from tests.mailserver import SmtpServer
from tests.test_notifications import configure

FACTS_SCC = {"eu_entity": "Meta Platforms Ireland Ltd", "transfer_tool": "scc",
             "transfer_basis": "Standardavtalsklausuler", "joint_controller_addendum": True,
             "addendum_name": "Page Insights Controller Addendum"}


def approved(name: str, title: str | None = None) -> int:
    """A fully answered demo assessment, marked approved (signing is tested elsewhere)."""
    assessment = answered_assessment(name)
    assessment.status, assessment.approved_at = Status.APPROVED, utcnow()
    if title:
        assessment.title = title
    db.session.commit()
    return assessment.id


def bare(slug: str, status: Status, platforms: list[str], title: str) -> int:
    domain = {"exempelkommun": KOMMUN, "regionexempel": REGION}[slug]
    a = Assessment(organisation_id=organisation(slug).id, title=title, language="sv", catalog_id="social-media",
                   catalog_version=3, platforms=platforms, status=status,
                   author_id=user(f"kommunikator@{domain}").id)
    db.session.add(a)
    db.session.commit()
    return a.id


def flags_of(assessment_id: int) -> list[ReassessmentFlag]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReassessmentFlag).where(ReassessmentFlag.assessment_id == assessment_id)))


def world(app) -> dict[str, int]:
    """Kommun: an approved assessment using Facebook's and Instagram's facts, an approved one on YouTube only
    (nothing answered) and a draft with the same answers as the first; Region: an approved one on Facebook."""
    with app.app_context():
        ids = {"used": approved(latest_demo()), "youtube": bare("exempelkommun", Status.APPROVED, ["youtube"], "YT"),
               "draft": answered_assessment(latest_demo()).id, "region": approved(latest_demo("regionexempel"))}
        return ids


def test_a_fact_change_flags_exactly_the_approved_assessments_that_used_it(app, demo_orgs):
    ids = world(app)
    with app.app_context():
        admin = user(f"admin@{KOMMUN}")
        flagged = save_override(organisation("exempelkommun").id, "facebook", FACTS_SCC, source="Metas villkor",
                                verified_on=clock.today(), actor=admin)
        db.session.commit()
        assert flagged == [ids["used"]]
        [flag] = flags_of(ids["used"])
        assert flag.kind == "platform_fact" and flag.changes["platform"] == "facebook"
        assert "transfer_tool" in flag.changes["fields"]
        slots = {tuple(s) for s in flag.changes["questions"]}
        assert ("transfer_tool", "facebook") in slots and ("dpf_checked_on", "facebook") in slots  # its dependent
        assert not any(p == "instagram" for _k, p in slots)  # Instagram's facts did not change
        for other in ("youtube", "draft", "region"):
            assert flags_of(ids[other]) == [], other
        # Saving the same facts again changes nothing, so flags nothing.
        assert save_override(organisation("exempelkommun").id, "facebook", FACTS_SCC, source="Metas villkor",
                             verified_on=clock.today(), actor=admin) == []
        db.session.commit()
        assert len(flags_of(ids["used"])) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "reassessment_flagged")) == 1
        assert verify_chain(organisation("exempelkommun").id) == []


def test_the_admin_page_says_how_many_were_flagged(app, demo_orgs, client, auth):
    ids = world(app)
    auth.login(f"admin@{KOMMUN}")
    page = client.get("/admin/platform-facts/facebook").get_data(as_text=True)
    from tests.conftest import extract_csrf
    response = client.post("/admin/platform-facts/facebook", data={
        "csrf_token": extract_csrf(page), "eu_entity": "Meta Platforms Ireland Ltd", "transfer_tool": "scc",
        "transfer_basis": "SCC", "joint_controller_addendum": "yes", "addendum_name": "Addendum",
        "source": "Metas villkor", "verified_on": clock.today().isoformat()}, follow_redirects=True)
    assert response.status_code == 200
    assert "1 godkänd konsekvensbedömning" in response.get_data(as_text=True)
    with app.app_context():
        assert len(flags_of(ids["used"])) == 1


def test_a_new_catalogue_version_flags_those_whose_answered_questions_changed(app, demo_orgs):
    with app.app_context():
        old = approved("exempelkommun-2")
        current = approved(latest_demo())
        results = flag_catalogue_changes()
        db.session.commit()
        flagged = {i for r in results for i in r.flagged}
        assert old in flagged and current not in flagged
        [flag] = flags_of(old)
        assert flag.kind == "catalogue" and flag.changes["from"] == 2 and flag.changes["to"] == 3
        answered = set(load_answers(db.session.get(Assessment, old)))
        assert flag.changes["questions"] and all(tuple(s) in answered for s in flag.changes["questions"])
        # Idempotent: a second run flags nothing and records nothing.
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        assert not any(r.flagged for r in flag_catalogue_changes())
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_dpf_invalid_flags_every_organisation_re_outcomes_is_audited_and_idempotent(app, demo_orgs, runner,
                                                                                     client, auth):
    ids = world(app)
    result = runner.invoke(args=["facts", "dpf-invalid", "--date", "2026-01-15"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert [f.kind for f in flags_of(ids["used"])] == ["dpf_invalid"]
        assert [f.kind for f in flags_of(ids["region"])] == ["dpf_invalid"]
        assert flags_of(ids["youtube"]) == [] and flags_of(ids["draft"]) == []
        assert flags_of(ids["used"])[0].changes["platforms"] == ["facebook", "instagram"]
        outcome = conclusion(db.session.get(Assessment, ids["used"])).transfers
        assert {(t.platform, t.status, t.reason) for t in outcome} == {
            ("facebook", "not_allowed", "dpf_invalid"), ("instagram", "not_allowed", "dpf_invalid")}
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dpf_invalid_applied")).all()
        assert {e.organisation_id for e in events} == {o for (o,) in db.session.execute(
            select(Assessment.organisation_id).distinct())} | {e.organisation_id for e in events}
        assert len(events) == 3  # one per organisation, also where nothing was flagged
        for event in events:
            assert verify_chain(event.organisation_id) == []
        count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    again = runner.invoke(args=["facts", "dpf-invalid", "--date", "2026-01-15"])
    assert again.exit_code == 0, again.output
    other = runner.invoke(args=["facts", "dpf-invalid", "--date", "2026-02-01"])
    assert other.exit_code == 1 and "2026-01-15" in other.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == count
        assert len(flags_of(ids["used"])) == 1
    auth.login(f"jurist@{KOMMUN}")
    overview = client.get(f"/assessments/{ids['used']}").get_data(as_text=True)
    assert "får inte ske" in overview.split("<h2 id=\"reassess-title\"")[1].split("</section>")[0]
    dashboard = client.get("/").get_data(as_text=True)
    assert "EU–USA-ramverket för dataskydd gäller inte längre" in dashboard
    register = client.get(f"/assessments/{ids['used']}/risks").get_data(as_text=True)
    assert "överföringen får inte ske" in register


def test_a_future_date_flags_now_and_stops_the_transfer_only_from_that_date(app, demo_orgs, runner):
    ids = world(app)
    future = (clock.today() + timedelta(days=30)).isoformat()
    assert runner.invoke(args=["facts", "dpf-invalid", "--date", future]).exit_code == 0
    with app.app_context():
        assert len(flags_of(ids["used"])) == 1
        assert {t.status for t in conclusion(db.session.get(Assessment, ids["used"])).transfers} == {"lawful"}


def test_waiting_list_and_e_mail_for_a_flag(app, demo_orgs, client, auth):
    ids = world(app)
    with SmtpServer() as server:
        configure(app, server.url())
        with app.app_context():
            save_override(organisation("exempelkommun").id, "facebook", FACTS_SCC, source="Metas villkor",
                          verified_on=clock.today(), actor=user(f"admin@{KOMMUN}"))
            db.session.commit()
            queued = db.session.scalars(select(Notification).where(Notification.kind == "reassessment_needed")).all()
            assert {n.email for n in queued} == {f"kommunikator@{KOMMUN}", f"jurist@{KOMMUN}"}
            from assessments import mail
            mail.send_pending()
        got = {m.to[0]: m for m in server.received}
        assert set(got) == {f"kommunikator@{KOMMUN}", f"jurist@{KOMMUN}"}
        message = got[f"kommunikator@{KOMMUN}"]
        assert message.subject.startswith("Behöver bedömas på nytt: ")
        assert "Facebook" in message.body and f"/assessments/{ids['used']}" in message.body
    for email, sees in ((f"kommunikator@{KOMMUN}", True), (f"jurist@{KOMMUN}", True), (f"dso@{KOMMUN}", False),
                        (f"jurist@{REGION}", False)):
        auth.login(email)
        page = client.get("/").get_data(as_text=True)
        section = page.split('id="my-actions-title"')[1].split("</section>")[0] if "my-actions-title" in page else ""
        assert (f"/assessments/{ids['used']}\"" in section and "Behöver bedömas på nytt" in section) is sees, email
        auth.logout()


def test_a_new_revision_lists_what_must_be_answered_again_and_its_approval_resolves_the_flag(app, demo_orgs,
                                                                                               client, auth):
    ids = world(app)
    with app.app_context():
        save_override(organisation("exempelkommun").id, "facebook", FACTS_SCC, source="Metas villkor",
                      verified_on=clock.today(), actor=user(f"admin@{KOMMUN}"))
        db.session.commit()
    auth.login(f"kommunikator@{KOMMUN}")
    page = client.get(f"/assessments/{ids['used']}").get_data(as_text=True)
    from tests.conftest import extract_csrf
    response = client.post(f"/assessments/{ids['used']}/revisions", data={"csrf_token": extract_csrf(page)})
    assert response.status_code == 302
    with app.app_context():
        revision = db.session.scalars(select(Assessment).where(Assessment.previous_revision_id == ids["used"])).one()
        answers = load_answers(revision)
        assert ("transfer_tool", "facebook") not in answers and ("dpf_checked_on", "facebook") not in answers
        assert answers[("transfer_tool", "instagram")] == "dpf_adequacy"  # what still holds is kept
        assert answers[("eu_entity", "facebook")] == "Meta Platforms Ireland Ltd"
        revision_id = revision.id
    overview = client.get(f"/assessments/{revision_id}").get_data(as_text=True)
    listed = overview.split('id="answer-again-title"')[1].split("</section>")[0]
    assert "(Facebook)" in listed and "inte besvarad" in listed and "Instagram" not in listed
    with app.app_context():
        revision, legal = reload(revision_id), user(f"jurist@{KOMMUN}")
        workflow.supersede_previous(revision, legal)  # what approving the revision does (workflow.mark_approved)
        db.session.commit()
        [flag] = flags_of(ids["used"])
        assert flag.resolved_at is not None and flag.resolved_by_assessment_id == revision_id
        assert open_flags([ids["used"]]) == {}


def test_portfolio_respects_role_and_organisation_and_exports_safe_csv(app, demo_orgs, client, auth, runner):
    ids = world(app)
    with app.app_context():
        bare("exempelkommun", Status.DRAFT, ["tiktok"], "=HYPERLINK(\"https://evil.example\")")
        bare("regionexempel", Status.DRAFT, ["tiktok"], "Regionens hemliga")
        reload(ids["youtube"]).review_due = date(2020, 1, 1)
        db.session.commit()
    runner.invoke(args=["facts", "dpf-invalid", "--date", "2026-01-15"])
    for email, status in ((f"kommunikator@{KOMMUN}", 403), (f"lasare@{KOMMUN}", 403), (f"dso@{KOMMUN}", 200),
                          (f"jurist@{KOMMUN}", 200), (f"admin@{KOMMUN}", 200)):
        auth.login(email)
        assert client.get("/portfolio").status_code == status, email
        assert client.get("/portfolio.csv").status_code == status, email
        auth.logout()
    auth.login(f"dso@{KOMMUN}")
    page = client.get("/portfolio").get_data(as_text=True)
    assert "Regionens hemliga" not in page
    assert f"/assessments/{ids['used']}\"" in page and f"/assessments/{ids['youtube']}\"" in page
    flagged = client.get("/portfolio?flagged=1").get_data(as_text=True)
    assert f"/assessments/{ids['used']}\"" in flagged and f"/assessments/{ids['youtube']}\"" not in flagged
    overdue = client.get("/portfolio?overdue=1").get_data(as_text=True)
    assert f"/assessments/{ids['youtube']}\"" in overdue and f"/assessments/{ids['used']}\"" not in overdue
    by_tool = client.get("/portfolio?tool=dpf_adequacy&platform=instagram").get_data(as_text=True)
    assert f"/assessments/{ids['used']}\"" in by_tool and f"/assessments/{ids['youtube']}\"" not in by_tool
    response = client.get("/portfolio.csv")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    rows = csvfile.read_rows(text)
    raw = text.lstrip(csvfile.BOM).splitlines()
    assert any(line.startswith("'=HYPERLINK") or line.startswith("\"'=HYPERLINK") for line in raw)
    assert "Regionens hemliga" not in text
    titles = {row[0]: row for row in rows[1:]}
    assert "=HYPERLINK(\"https://evil.example\")" in titles
    used = next(row for row in rows[1:] if "får inte ske" in row[4])
    assert "Behöver bedömas på nytt" not in used[8] and "EU–USA-ramverket" in used[8]


def _checked(html: str, name: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf'<input[^>]*name="{name}"[^>]*value="([^"]+)"[^>]*checked', html)] + \
        [m.group(1) for m in re.finditer(rf'<input[^>]*checked[^>]*name="{name}"[^>]*value="([^"]+)"', html)]


def test_once_the_dpf_no_longer_applies_it_is_not_suggested_as_the_transfer_tool(app, demo_orgs, client, auth,
                                                                                  runner):
    """The platform facts still name the DPF for Meta; from the recorded day the wizard must not pre-fill it."""
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.post("/assessments/new", data={"title": "Facebook", "platforms": ["facebook"],
                                                      "language": "sv"})
    step = re.search(r"/assessments/\d+/", response.headers["Location"]).group(0) + "steps/platform"
    before = client.get(step).get_data(as_text=True)
    assert _checked(before, "transfer_tool__facebook") == ["dpf_adequacy"]
    assert 'id="transfer_tool__facebook-suggestion"' in before

    assert runner.invoke(args=["facts", "dpf-invalid", "--date", clock.today().isoformat()]).exit_code == 0
    after = client.get(step).get_data(as_text=True)
    assert _checked(after, "transfer_tool__facebook") == []
    assert 'id="transfer_tool__facebook-suggestion"' not in after
    assert 'id="eu_entity__facebook-suggestion"' in after  # the other facts are still suggested
