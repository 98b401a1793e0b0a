"""app.js only enhances: conditional questions hide and show, leaving a changed step warns, a second
submit is swallowed and the buttons come back; with JavaScript off every question shows and the step
still saves."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.helpers import create_assessment, login

EMAIL = "kommunikator@exempelkommun.example"


def test_show_if_unsaved_warning_and_single_submit(app, live_server, page, demo_orgs):
    base = live_server
    assessment_id = create_assessment(app, EMAIL, "Förbättringar", ["facebook"])
    step_url = f"{base}/assessments/{assessment_id}/steps/platform"
    login(page, base, EMAIL)
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", on_dialog)
    page.goto(step_url)

    # (c) Questions follow the answer they depend on; with no answer they stay hidden.
    dpf = page.locator("#q-dpf_checked_on__facebook")
    mapping = page.locator("#q-transfer_mapping__facebook")
    no_addendum = page.locator("#q-joint_controller_no_addendum__facebook")
    expect(no_addendum).to_be_hidden()
    page.locator("input[name='transfer_tool__facebook'][value='scc']").check()
    expect(dpf).to_be_hidden()
    expect(mapping).to_be_visible()
    page.locator("input[name='transfer_tool__facebook'][value='dpf_adequacy']").check()
    expect(dpf).to_be_visible()
    expect(mapping).to_be_hidden()
    page.locator("input[name='joint_controller_addendum__facebook'][value='no']").check()
    expect(no_addendum).to_be_visible()

    # (a) Leaving with unsaved changes asks first.
    page.goto(f"{base}/assessments/{assessment_id}")
    assert dialogs == ["beforeunload"]
    page.goto(step_url)
    page.goto(f"{base}/assessments/{assessment_id}")  # nothing changed: no question
    assert dialogs == ["beforeunload"]

    # (b) A second submit while the first is under way is swallowed, the pressed button's value still goes
    # with the first, and the buttons come back when the page is shown again (back button, failed
    # request). The page's own listener, last in line, holds the navigation so the state can be seen.
    page.goto(step_url)
    page.evaluate("""() => {
        window.sent = [];
        window.addEventListener("submit", event => {
            if (!window.holdSubmits) return;
            if (!event.defaultPrevented) window.sent.push([...new FormData(event.target, event.submitter)]
                .filter(([name]) => name === "action").map(([, value]) => value).join());
            event.preventDefault();
        });
        window.holdSubmits = true;
    }""")
    page.locator("input[name='eu_entity__facebook']").fill("Meta Platforms Ireland Ltd")
    buttons = page.locator("#step-form .actions button")
    page.get_by_role("button", name="Spara och fortsätt senare").click()
    expect(buttons.nth(0)).to_be_disabled()
    expect(buttons.nth(1)).to_be_disabled()
    page.evaluate("() => document.querySelector('#step-form').requestSubmit()")
    assert page.evaluate("() => window.sent") == ["later"]
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    expect(buttons.nth(0)).to_be_enabled()
    expect(buttons.nth(1)).to_be_enabled()

    # For real now: "Save and continue later" still says "later" to the server, and leaving by saving
    # does not ask.
    page.evaluate("() => { window.holdSubmits = false; }")
    page.get_by_role("button", name="Spara och fortsätt senare").click()
    page.wait_for_url(f"{base}/assessments/{assessment_id}")
    expect(page.get_by_role("status")).to_contain_text("Sparat")
    assert dialogs == ["beforeunload"]


def test_without_javascript_every_question_shows_and_the_step_saves(app, live_server, page, demo_orgs):
    base = live_server
    assessment_id = create_assessment(app, EMAIL, "Utan skript", ["facebook"])
    context = page.context.browser.new_context(java_script_enabled=False, locale="sv-SE")
    try:
        nojs = context.new_page()
        login(nojs, base, EMAIL)
        nojs.goto(f"{base}/assessments/{assessment_id}/steps/platform")
        for field in ("dpf_checked_on__facebook", "transfer_mapping__facebook",
                      "joint_controller_no_addendum__facebook"):
            expect(nojs.locator(f"#q-{field}")).to_be_visible()
        help_box = nojs.locator("#eu_entity__facebook-group details.help")
        help_box.locator("summary").click()
        expect(help_box.locator(".help-text")).to_be_visible()
        nojs.locator("input[name='eu_entity__facebook']").fill("Meta Platforms Ireland Ltd")
        nojs.get_by_role("button", name="Spara och fortsätt senare").click()
        nojs.wait_for_url(f"{base}/assessments/{assessment_id}")
        expect(nojs.get_by_role("status")).to_be_visible()
    finally:
        context.close()
