"""The whole journey across roles in the system Chromium, with axe-core on every page type on the way.

communicator: logs in, creates an assessment for Facebook and Instagram, answers every step in the
  browser (one step first sent empty, to see the error summary), adds a decided measure, adopts a
  proposed residual rating and decides a treatment in the risk register, records the data subjects'
  views, submits;
legal: comments on a question, sends the assessment back with a reason;
communicator: sees the comment next to its question in the wizard, replies, changes the answer, resubmits;
DPO: records advice on the Consultation page;
legal: looks at what changed and the audit trail, resolves the comment, reads what is signed on the sign
  page, approves with password and attestations, downloads the signed PDF and checks it on the
  verification page;
viewer: downloads the inquiry bundle (ZIP) with signed.pdf.

Any axe violation of impact "serious" or "critical" fails the test (all are listed at the end).
"""
from __future__ import annotations

import io
import re
import time
import zipfile

from playwright.sync_api import expect
from sqlalchemy import select

from assessments.answers import RECORDED_SECTIONS
from assessments.catalog import latest_catalog
from assessments.extensions import db
from assessments.models import Assessment, ReviewComment, Status
from tests.answering import latest_demo, step_data
from tests.browser.a11y import DESKTOP, AxeAudit
from tests.browser.helpers import login, logout
from tests.conftest import DEMO_PASSWORD
from tests.mailserver import SmtpServer

DOMAIN = "exempelkommun.example"
COMMUNICATOR, LEGAL, DPO, VIEWER = (f"{who}@{DOMAIN}" for who in ("kommunikator", "jurist", "dso", "lasare"))
PLATFORMS = ["facebook", "instagram"]

PAGE_TYPES = {"accessibility statement", "login", "dashboard", "change password with errors", "new assessment",
              "step with error summary",
              "overview", "risk register", "risk register (with decisions)", "consultation", "approve", "changes",
              "trail", "verify",
              "step with review comments", "overview (changes requested)", "portfolio"} | {f"step {s.key}" for s in latest_catalog().sections}


def fill_step(page, data: dict) -> None:
    """Answer like a user: check radios and checkboxes by name and value, type text and dates."""
    for name, value in data.items():
        if isinstance(value, list):
            for box in page.locator(f"input[type=checkbox][name='{name}']").all():
                box.set_checked(box.get_attribute("value") in value)
        elif page.locator(f"input[type=radio][name='{name}']").count():
            page.locator(f"input[type=radio][name='{name}'][value='{value}']").check()
        else:
            page.locator(f"[name='{name}']").fill(value)


def mail_to(smtp: SmtpServer, address: str, subject_start: str, timeout: float = 15.0):
    """The message to ``address`` whose subject starts so: sent after the response (call_on_close), so it
    may arrive a moment after the page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in smtp.received:
            if address in received.to and received.subject.startswith(subject_start):
                return received
        time.sleep(0.1)
    raise AssertionError(f"no message to {address} starting {subject_start!r}: "
                         f"{[(r.to, r.subject) for r in smtp.received]}")


def question(page, field_name: str):
    return page.locator(f"#q-{field_name}")


def decide_remaining_risks(app, assessment_id: int) -> None:
    """The communicator's decisions on the other risks, through the same services the register calls: each
    takes the proposed residual rating with the measure the browser added, and is reduced."""
    from assessments.risk import service
    from tests.factories import user

    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        author = user(COMMUNICATOR)
        for risk in service.risks_of(assessment):
            if risk.active and risk.treatment is None:
                if service.proposal_of(risk, service.rule_of(risk, assessment)):
                    service.adopt_proposal(risk, assessment, author)
                service.set_treatment(risk, assessment, author, "reduce", "")
        db.session.commit()


def test_roles_journey_with_axe_on_every_page_type(app, live_server, page, demo_orgs):
    with SmtpServer() as smtp:
        app.config.update(SMTP_URL=smtp.url(), MAIL_FROM="konsekvens@exempelkommun.example", BASE_URL=live_server)
        journey(app, live_server, page, smtp)


def journey(app, base, page, smtp):
    audit = AxeAudit()
    page.set_viewport_size(DESKTOP)
    # A beforeunload prompt (app.js, unsaved changes) must never block the journey's navigation.
    page.on("dialog", lambda dialog: dialog.accept())
    catalog = latest_catalog()
    demo = latest_demo()

    # --- Public pages ----------------------------------------------------------------------------
    page.goto(f"{base}/login")
    audit.check(page, "login")
    page.get_by_role("link", name=re.compile("Accessibility statement|Tillgänglighetsredogörelse")).click()
    page.wait_for_url(f"{base}/accessibility")
    expect(page.get_by_role("link", name=re.compile("tdosanmalan"))).to_have_attribute(
        "href", "https://www.digg.se/tdosanmalan")
    audit.check(page, "accessibility statement")

    # --- Communicator: create and answer every step --------------------------------------------
    login(page, base, COMMUNICATOR)
    audit.check(page, "dashboard")
    # The account page from the header; a wrong current password and a short new one: the error summary.
    page.get_by_role("link", name="Byt lösenord").click()
    page.wait_for_url(f"{base}/account/password")
    page.get_by_label("Nuvarande lösenord").fill("inte-mitt-lösenord")
    page.get_by_label("Nytt lösenord").fill("kort")
    page.get_by_role("button", name="Byt lösenord").click()
    expect(page.locator("#error-summary")).to_be_visible()
    audit.check(page, "change password with errors")
    # The account page: e-mail notifications on or off (docs/notifications.md).
    page.get_by_role("link", name="Ditt konto").click()
    page.wait_for_url(f"{base}/account")
    audit.check(page, "account")
    page.get_by_label("Nej, listan på min startsida räcker").check()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text("Ditt val är sparat.")).to_be_visible()
    expect(page.get_by_label("Nej, listan på min startsida räcker")).to_be_checked()
    # … and on again: the messages this journey sends to the communicator are checked below.
    page.get_by_label("Ja", exact=True).check()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_label("Ja", exact=True)).to_be_checked()
    page.goto(f"{base}/")
    page.get_by_role("link", name="Påbörja en ny bedömning").click()
    audit.check(page, "new assessment")
    page.get_by_label("Titel").fill("Kommunens närvaro på Facebook och Instagram")
    page.get_by_label("Facebook").check()
    page.get_by_label("Instagram").check()
    page.get_by_role("button", name="Starta").click()
    first = catalog.sections[0].key
    page.wait_for_url(re.compile(rf".*/steps/{first}$"))
    assessment_id = int(re.search(r"/assessments/(\d+)/", page.url).group(1))
    overview_url = f"{base}/assessments/{assessment_id}"

    # Sent empty: the step answers with an error summary whose links lead to the questions.
    page.get_by_role("button", name="Spara och fortsätt", exact=True).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link").first).to_have_attribute("href", re.compile(r"^#\w+"))
    audit.check(page, "step with error summary")

    for index, section in enumerate(catalog.sections):
        page.wait_for_url(re.compile(rf".*/steps/{section.key}$"))
        audit.check(page, f"step {section.key}")
        last = index + 1 == len(catalog.sections)
        if section.key in RECORDED_SECTIONS:
            # The consultation is kept on its own page: the step shows the record and leads on, no form.
            expect(page.get_by_role("heading", name="Registreras på sidan Råd och synpunkter")).to_be_visible()
            expect(page.locator("form[method=post] textarea, form[method=post] input[type=radio]")).to_have_count(0)
            assert last, "the journey expects the recorded section to be the last step"
            page.get_by_role("link", name="Fortsätt till riskerna").click()
            continue
        fill_step(page, step_data(demo, section.key, PLATFORMS))
        page.get_by_role("button", name="Spara" if last else "Spara och fortsätt", exact=True).click()
    page.wait_for_url(f"{overview_url}/risks")
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.DRAFT
    audit.check(page, "risk register")
    # A decided measure (owner and due date) for every risk; then the first risk's proposed residual rating
    # is adopted with it and its treatment decided, in the browser.
    page.locator("#m-title").fill("Rutiner för behörigheter, meddelanden och arkivering")
    page.locator("#m-owner").fill("Kommunikationschef")
    page.locator("#m-due").fill("2027-03-31")
    for box in page.locator("#add-measure input[type=checkbox][name='risks']").all():
        box.check()
    page.get_by_role("button", name="Lägg till åtgärden").click()
    expect(page.get_by_role("status")).to_be_visible()
    first_risk = page.locator("section.risk").first
    risk_id = int(first_risk.get_attribute("id").removeprefix("risk-"))
    first_risk.get_by_role("button", name="Anta med de kopplade åtgärderna").click()
    expect(page.get_by_role("status")).to_contain_text("antagen")
    first_risk = page.locator(f"#risk-{risk_id}")
    first_risk.get_by_text("Besluta om hanteringen").click()
    first_risk.get_by_label(re.compile("^Minska med åtgärder")).check()
    first_risk.get_by_role("button", name="Spara beslutet").click()
    expect(page.get_by_role("status")).to_contain_text("hanteras")
    expect(page.locator(f"#risk-{risk_id}")).to_contain_text("Minska med åtgärder")
    audit.check(page, "risk register (with decisions)")
    decide_remaining_risks(app, assessment_id)

    page.goto(overview_url)
    page.locator(".actions").get_by_role("link", name="Råd och synpunkter", exact=True).click()
    page.wait_for_url(f"{overview_url}/consultation")
    audit.check(page, "consultation")
    page.locator("input[name=sought][value=no]").check()
    page.get_by_label("Om nej: varför inte").fill(
        "Följarna är en bred och anonym grupp; kommunen frågar om kanalerna i medborgarenkäten i stället.")
    page.get_by_role("button", name="Spara synpunkterna").click()
    expect(page.get_by_role("status")).to_be_visible()

    page.goto(overview_url)
    audit.check(page, "overview")
    page.get_by_role("button", name="Skicka för granskning").click()
    expect(page.get_by_role("status")).to_contain_text("skickats för granskning")
    # The legal reviewer and the DPO are told, each with a link to where they act.
    assert overview_url in mail_to(smtp, LEGAL, "Att granska").body
    assert f"{overview_url}/consultation" in mail_to(smtp, DPO, "Dataskyddsombudets råd").body
    logout(page, base)

    # --- Legal: comment on a question and send it back -----------------------------------------
    login(page, base, LEGAL)
    audit.check(page, "dashboard (legal, with an assessment to review)")
    page.get_by_role("link", name="Kommunens närvaro på Facebook och Instagram").first.click()
    page.wait_for_url(overview_url)
    audit.check(page, "overview (legal reviewing)")
    # The demo switched two-factor authentication on in November 2026, with codes that can be phished.
    two_factor = page.locator("#q-two_factor_method")
    two_factor.get_by_text("Kommentera frågan").click()
    two_factor.get_by_label("Kommentar").fill("Varför används inte säkerhetsnycklar för administratörerna?")
    two_factor.get_by_role("button", name="Spara kommentaren").click()
    page.wait_for_url(f"{overview_url}#q-two_factor_method")
    page.get_by_label("Vad behöver ändras").fill("Se kommentaren om tvåstegsverifiering.")
    page.get_by_role("button", name="Begär ändringar").click()
    expect(page.get_by_role("status")).to_be_visible()
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.CHANGES_REQUESTED
    sent_back = mail_to(smtp, COMMUNICATOR, "Ändringar begärs")
    assert overview_url in sent_back.body and "Se kommentaren om tvåstegsverifiering." in sent_back.body
    logout(page, base)

    # --- Communicator: the reason and the open comment on the overview, then next to its question -------
    login(page, base, COMMUNICATOR)
    page.goto(overview_url)
    fix = page.locator(".fix-box")
    expect(fix).to_contain_text("Se kommentaren om tvåstegsverifiering.")
    expect(fix).to_contain_text("Varför används inte säkerhetsnycklar för administratörerna?")
    expect(fix.get_by_role("link").first).to_have_attribute(
        "href", re.compile(r"/steps/security#q-two_factor_method$"))
    audit.check(page, "overview (changes requested)")
    security = catalog.section("security")
    page.get_by_role("navigation", name="Steg").get_by_role(
        "link", name=security.title.get("sv"), exact=True).click()
    page.wait_for_url(f"{overview_url}/steps/security")
    comments = question(page, "two_factor_method").locator(".question-comments")
    expect(comments).to_contain_text("Varför används inte säkerhetsnycklar för administratörerna?")
    audit.check(page, "step with review comments")
    comments.get_by_text("Svara", exact=True).click()
    comments.get_by_label("Ditt svar").fill("Vi delar ut säkerhetsnycklar i december.")
    comments.get_by_role("button", name="Skicka svaret").click()
    page.wait_for_url(f"{overview_url}/steps/security")
    expect(question(page, "two_factor_method").locator(".reply")).to_contain_text("i december")
    with app.app_context():
        reply = db.session.scalars(select(ReviewComment).where(ReviewComment.parent_id.is_not(None))).one()
        assert reply.body == "Vi delar ut säkerhetsnycklar i december."
        assert reply.question_key == "two_factor_method"
    page.locator("input[name='two_factor_method'][value='phishing_resistant']").check()
    page.get_by_role("button", name="Spara och fortsätt", exact=True).click()
    page.wait_for_url(re.compile(r".*/steps/(?!security)\w+$"))
    page.goto(overview_url)
    page.get_by_role("button", name="Skicka för granskning").click()
    expect(page.get_by_role("status")).to_contain_text("skickats för granskning")
    logout(page, base)

    # --- DPO: advice on the Consultation page -------------------------------------------------
    login(page, base, DPO)
    page.goto(overview_url)
    page.locator(".actions").get_by_role("link", name="Råd och synpunkter", exact=True).click()
    page.wait_for_url(f"{overview_url}/consultation")
    audit.check(page, "consultation (DPO)")
    page.locator("#advice").fill(
        "Använd säkerhetsnycklar för alla administratörer och informera besökarna på Instagram.")
    page.get_by_role("button", name="Spara rådet").click()
    expect(page.get_by_role("status")).to_be_visible()
    logout(page, base)

    # --- Communicator: the organisation decides whether it follows the advice --------------------
    login(page, base, COMMUNICATOR)
    page.goto(f"{overview_url}/consultation")
    page.get_by_role("group", name="Följer organisationen rådet?").get_by_label("Ja").check()
    page.get_by_role("button", name="Spara beslutet").click()
    expect(page.get_by_role("status")).to_be_visible()
    audit.check(page, "consultation (communicator)")
    logout(page, base)

    # --- Legal: changes, trail, approve, PDF, verification -------------------------------------
    login(page, base, LEGAL)
    page.goto(overview_url)
    # The answer the comment was about, as it is now, next to the comment.
    expect(question(page, "two_factor_method").locator(".changed-since")).to_contain_text(
        "Ändrat sedan kommentaren")
    page.get_by_role("link", name="Vad som ändrats", exact=True).click()
    page.wait_for_url(f"{overview_url}/changes")
    expect(page.locator("table")).to_contain_text("Säkerhetsnyckel eller passkey för alla administratörer")
    audit.check(page, "changes")
    page.goto(overview_url)
    page.get_by_role("link", name="Händelselogg").click()
    page.wait_for_url(f"{overview_url}/trail")
    audit.check(page, "trail")
    # The organisation's assessments by platform, transfer basis, residual level and review date.
    page.get_by_role("navigation", name="Verktyg").get_by_role("link", name="Översikt", exact=True).click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/portfolio"))
    expect(page.locator("main")).to_contain_text("Kommunens närvaro på Facebook och Instagram")
    audit.check(page, "portfolio")
    page.goto(overview_url)
    # The open comment blocks approval until it is resolved.
    expect(page.locator("#blockers-title")).to_be_visible()
    question(page, "two_factor_method").get_by_role("button", name="Markera som löst").click()
    page.wait_for_url(re.compile(re.escape(overview_url)))
    expect(page.locator("#blockers-title")).to_have_count(0)
    page.get_by_role("link", name="Godkänn och signera").click()
    page.wait_for_url(f"{overview_url}/approve")
    # What is signed stands above the password field: the screening, the conclusion with its heat map and
    # transfers, the accepted risks, the measures not yet done and the DPO's advice.
    summary = page.locator(".sign-summary")
    expect(summary.get_by_role("heading", name="Det här skriver du under")).to_be_visible()
    for part in ("Krävs en konsekvensbedömning?", "Samlad restrisk", "Överföringar till tredjeland",
                 "Förhandssamråd med IMY", "Åtgärder som ännu inte är genomförda", "Dataskyddsombudets råd"):
        expect(summary).to_contain_text(part)
    expect(summary.locator("svg[role=img]")).to_have_count(1)
    audit.check(page, "approve")
    for box in page.locator("form fieldset input[type=checkbox]").all():
        box.check()
    page.get_by_label("Ditt lösenord, för att signera").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Godkänn och signera").click()
    page.wait_for_url(overview_url, timeout=60_000)
    expect(page.get_by_role("status")).to_contain_text("signerad")
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.APPROVED
    assert overview_url in mail_to(smtp, COMMUNICATOR, "Godkänd").body
    audit.check(page, "overview (approved)")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Ladda ner den signerade pdf-filen").click()
    pdf_path = download_info.value.path()
    with open(pdf_path, "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    page.get_by_role("link", name="Kontrollera ett signerat dokument").click()
    page.wait_for_url(f"{base}/verify")
    audit.check(page, "verify")
    page.get_by_label("Signerat pdf-dokument").set_input_files(pdf_path)
    page.get_by_role("button", name="Kontrollera").click()
    expect(page.locator("#result-title")).to_be_visible()
    expect(page.get_by_text("Signaturen är giltig för din organisation.")).to_be_visible()
    audit.check(page, "verify (result)")
    logout(page, base)

    # --- Viewer: the inquiry bundle --------------------------------------------------------------
    login(page, base, VIEWER)
    page.goto(overview_url)
    audit.check(page, "overview (viewer)")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Underlag för tillsyn (ZIP)").click()
    with open(download_info.value.path(), "rb") as fh:
        names = zipfile.ZipFile(io.BytesIO(fh.read())).namelist()
    assert "signed.pdf" in names, names

    audit.assert_clean(PAGE_TYPES)
