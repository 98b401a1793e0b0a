"""The communicator's first steps in a real browser: log in, create, fill a step, submit."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from assessments.extensions import db
from assessments.models import Answer, Assessment, Status
from tests.answering import answer_all, latest_demo, step_data
from tests.conftest import DEMO_PASSWORD


def login(page, base, email):
    page.goto(f"{base}/login")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(f"{base}/")


def test_communicator_logs_in_fills_a_step_and_submits(app, live_server, page, demo_orgs):
    login(page, live_server, "kommunikator@exempelkommun.example")
    page.get_by_role("link", name="Påbörja en ny bedömning").click()
    page.get_by_label("Titel").fill("Vår närvaro på Facebook")
    page.get_by_label("Facebook").check()
    page.get_by_role("button", name="Starta").click()
    page.wait_for_url(re.compile(r".*/steps/screening$"))
    assessment_id = int(re.search(r"/assessments/(\d+)/", page.url).group(1))

    screening = step_data(latest_demo(), "screening", ["facebook"])
    for key, value in screening.items():
        if isinstance(value, str) and value in ("yes", "no"):
            page.locator(f"input[name='{key}'][value='{value}']").check()
        else:
            page.locator(f"[name='{key}']").fill(value)
    page.get_by_role("button", name="Spara och fortsätt", exact=True).click()
    page.wait_for_url(re.compile(r".*/steps/description$"))
    with app.app_context():
        stored = dict(db.session.execute(select(Answer.question_key, Answer.value)
                                         .where(Answer.assessment_id == assessment_id)).all())
    assert stored == screening

    # The remaining steps through the same forms (the test client), then submit in the browser.
    with app.test_client() as client:
        client.post("/login", data={"email": "kommunikator@exempelkommun.example", "password": DEMO_PASSWORD})
        answer_all(client, assessment_id, latest_demo(), ["facebook"])
    page.goto(f"{live_server}/assessments/{assessment_id}")
    page.get_by_role("button", name="Skicka för granskning").click()
    # The confirmation is announced to screen readers through the status region.
    expect(page.get_by_role("status")).to_contain_text("skickats för granskning")
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.IN_REVIEW
