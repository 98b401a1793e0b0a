"""Keyboard only (WCAG 2.1.1, 2.4.1, 2.4.3, 2.4.7): from the skip link, log in, reach the first wizard step
and complete it with Tab, the arrow keys (inside a radio group), Space, Enter and typing; no mouse, no element is clicked or filled
by the test. The step is saved when the browser lands on the next step and the answers are in the DB."""
from __future__ import annotations

import re

from sqlalchemy import select

from assessments.catalog import latest_catalog
from assessments.extensions import db
from assessments.models import Answer
from tests.answering import latest_demo, step_data
from tests.browser.helpers import create_assessment
from tests.conftest import DEMO_PASSWORD

EMAIL = "kommunikator@exempelkommun.example"


def focused_matches(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


def press_until_focused(page, selector: str, key: str = "Tab", limit: int = 80) -> None:
    """Press ``key`` until the focus is on ``selector``; the focus must be visible all along."""
    for _ in range(limit):
        page.keyboard.press(key)
        if focused_matches(page, selector):
            assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none", \
                f"no visible focus on {selector}"
            return
    raise AssertionError(f"{selector} was not reached with {key} in {limit} presses")


def start_from_skip_link(page) -> None:
    page.keyboard.press("Tab")
    assert focused_matches(page, "a.skip-link"), "the first Tab stop is not the skip link"
    page.keyboard.press("Enter")
    assert focused_matches(page, "main#main"), "the skip link did not move the focus to the main content"


def test_a_wizard_step_with_the_keyboard_only(app, live_server, page, demo_orgs):
    base = live_server
    first = latest_catalog().sections[0]
    assessment_id = create_assessment(app, EMAIL, "Tangentbordet", ["facebook"])

    page.goto(f"{base}/login")
    start_from_skip_link(page)
    press_until_focused(page, "input[name='email']")
    page.keyboard.type(EMAIL)
    press_until_focused(page, "input[name='password']")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    # A redirect keeps the fragment the skip link added (#main), so compare without it.
    page.wait_for_url(re.compile(rf"{re.escape(base)}/(#main)?$"))

    # The redirect kept #main, so the browser already starts the Tab order in the main content.
    press_until_focused(page, f"main a[href='/assessments/{assessment_id}']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/assessments/{assessment_id}(#main)?$"))
    start_from_skip_link(page)
    press_until_focused(page, f"main a[href='/assessments/{assessment_id}/steps/{first.key}']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/steps/{first.key}(#main)?$"))

    start_from_skip_link(page)
    answers = step_data(latest_demo(), first.key, ["facebook"])
    for index, (name, value) in enumerate(answers.items()):
        group = f"#{name}-group"
        if index == 0:  # the help text unfolds in place with Enter on its summary
            press_until_focused(page, f"{group} details.help > summary")
            page.keyboard.press("Enter")
            assert page.locator(f"{group} details.help").get_attribute("open") is not None
        values = page.locator(f"input[type=radio][name='{name}']").evaluate_all("els => els.map(e => e.value)")
        assert value in values, (name, value, values)
        # Tab enters a group with nothing chosen on its first option; the arrow keys move within it
        # (the standard radio-group pattern), Space chooses.
        press_until_focused(page, f"input[name='{name}'][value='{values[0]}']")
        if value != values[0]:
            press_until_focused(page, f"input[name='{name}'][value='{value}']", key="ArrowDown",
                                limit=len(values))
        page.keyboard.press("Space")
        assert page.locator(f"input[name='{name}'][value='{value}']").is_checked()

    press_until_focused(page, "#step-form button[value='next']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/steps/{latest_catalog().sections[1].key}(#main)?$"))
    with app.app_context():
        stored = dict(db.session.execute(select(Answer.question_key, Answer.value)
                                         .where(Answer.assessment_id == assessment_id)).all())
    assert stored == answers
