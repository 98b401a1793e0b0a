"""In the system Chromium, with axe on every page type: a suggested measure added in one click (and without
JavaScript, through the measure page), the review page folding the sections that are answered and unchanged
since the previous review, and the header at common widths with the language switch among the controls.

Page heights of the review page are printed (``-s``) for docs/benchmarks.md; they are measured, not asserted.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from assessments import workflow
from assessments.extensions import db
from assessments.models import Assessment
from tests.answering import latest_demo, step_data, version_of
from tests.browser.a11y import AxeAudit
from tests.browser.helpers import login
from tests.conftest import DEMO_PASSWORD
from tests.factories import KOMMUN, answered_assessment, user

COMMUNICATOR, LEGAL, ADMIN = f"kommunikator@{KOMMUN}", f"jurist@{KOMMUN}", f"admin@{KOMMUN}"
WIDTHS = (1280, 1024, 768, 390)


def shots() -> Path | None:
    where = os.environ.get("KONSEKVENS_SCREENSHOTS")
    return Path(where) if where else None


def test_a_suggested_measure_is_added_in_one_click_and_without_javascript(app, live_server, page, demo_orgs,
                                                                          chromium_path):
    base = live_server
    audit = AxeAudit()
    with app.app_context():
        assessment_id = answered_assessment().id
    login(page, base, COMMUNICATOR)
    page.goto(f"{base}/assessments/{assessment_id}/risks")
    audit.check(page, "risk register")
    link = page.locator("a[data-prefill-measure]").first
    suggestion, risk_id = link.get_attribute("data-title"), link.get_attribute("data-risk")
    link.click()
    form = page.locator("#add-measure form")
    expect(form.get_by_label(re.compile("^Åtgärd"))).to_have_value(suggestion)
    expect(form.get_by_label(re.compile("^Åtgärd"))).to_be_focused()
    expect(form.locator(f"input[name=risks][value='{risk_id}']")).to_be_checked()
    assert page.url.endswith("/risks"), "the click stayed on the register"
    form.get_by_label("Beskrivning").fill("Gäller alla konton.")
    form.get_by_label(re.compile("^Ansvarig")).fill("Kommunikationschefen")
    form.get_by_label(re.compile("^Klart senast")).fill("2027-03-31")
    form.get_by_role("button", name="Lägg till åtgärden").click()
    expect(page.get_by_role("link", name=suggestion).first).to_be_visible()
    audit.check(page, "risk register after adding a measure")

    # Without JavaScript the same link opens the measure page, pre-filled (axe needs JavaScript, so the
    # pages are checked with it afterwards, at the same addresses).
    context = page.context.browser.new_context(locale="sv-SE", java_script_enabled=False)
    plain = context.new_page()
    login(plain, base, COMMUNICATOR)
    plain.goto(f"{base}/assessments/{assessment_id}/risks")
    second = plain.locator(f"a[data-prefill-measure][data-risk='{risk_id}']").first
    title, href = second.get_attribute("data-title"), second.get_attribute("href")
    second.click()
    plain.wait_for_url(re.compile(r"/measures/new\?suggestion=\d+$"))
    expect(plain.get_by_label(re.compile("^Åtgärd"))).to_have_value(title)
    expect(plain.locator(f"#risks-{risk_id}")).to_be_checked()
    plain.get_by_role("button", name="Spara åtgärden").click()  # no owner, no date
    expect(plain.locator("#error-summary")).to_be_visible()
    expect(plain.get_by_label(re.compile("^Åtgärd"))).to_have_value(title)
    context.close()

    page.goto(base + href)
    expect(page.get_by_label(re.compile("^Åtgärd"))).to_have_value(title)
    audit.check(page, "new measure (pre-filled)")
    page.get_by_role("button", name="Spara åtgärden").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary").get_by_role("link", name=re.compile("^Ansvarig"))).to_have_attribute(
        "href", "#owner")
    audit.check(page, "new measure with errors")
    page.get_by_label(re.compile("^Ansvarig")).fill("IT-chefen")
    page.get_by_label(re.compile("^Klart senast")).fill("2027-04-30")
    page.get_by_label("Status").select_option(label="Pågår")
    page.get_by_role("button", name="Spara åtgärden").click()
    page.wait_for_url(re.compile(r"/risks#action-plan$"))
    page.locator("#action-plan ~ div table").get_by_role("link", name=title).first.click()
    expect(page.get_by_label("Status")).to_have_value("in_progress")
    audit.check(page, "measure")
    audit.assert_clean({"risk register", "new measure (pre-filled)", "new measure with errors", "measure"})


def resubmitted_with_one_change(app) -> tuple[int, str]:
    """An assessment sent back once and resubmitted with one answer changed (the description step's
    purposes): returns its id and the changed section's key."""
    with app.app_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(COMMUNICATOR))
        workflow.request_changes(assessment, user(LEGAL), "Beskriv syftet tydligare.")
        db.session.commit()
        assessment_id, platforms = assessment.id, list(assessment.platforms)
    client = app.test_client()
    client.post("/login", data={"email": COMMUNICATOR, "password": DEMO_PASSWORD})
    url = f"/assessments/{assessment_id}/steps/description"
    data = step_data(latest_demo(), "description", platforms)
    data["purposes"] = "Informera invånarna om kommunens service och svara på frågor, även om krisinformation."
    response = client.post(url, data={**data, "version": version_of(client.get(url).get_data(as_text=True)),
                                      "action": "later"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        workflow.submit_for_review(db.session.get(Assessment, assessment_id), user(COMMUNICATOR))
        db.session.commit()
    return assessment_id, "description"


def test_the_review_page_folds_sections_answered_and_unchanged_since_the_previous_review(app, live_server, page,
                                                                                         demo_orgs):
    base = live_server
    audit = AxeAudit()
    assessment_id, changed = resubmitted_with_one_change(app)
    login(page, base, LEGAL)
    page.goto(f"{base}/assessments/{assessment_id}")
    sections = page.locator("section.answers")
    count = sections.count()
    assert count > 3
    expect(page.locator(f"section.answers:has(#s-{changed}) details.section-answers")).to_have_attribute("open", "")
    folded = page.locator("details.section-answers:not([open])")
    assert folded.count() >= count // 2, "the unchanged sections are folded"
    expect(folded.first.locator(":scope > summary")).to_contain_text("oförändrade sedan förra granskningen")
    audit.check(page, "review page (folded)")
    heights = {}
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        after = page.evaluate("document.documentElement.scrollHeight")
        page.evaluate("document.querySelectorAll('details.section-answers').forEach(d => d.open = true)")
        before = page.evaluate("document.documentElement.scrollHeight")
        page.reload()
        heights[width] = (before, after)
        if shots():
            shots().mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots() / f"review-folded-{width}.png"), full_page=True)
    print("review page height (px), every section unfolded → unchanged ones folded:",
          {w: f"{b} → {a}" for w, (b, a) in heights.items()})
    # The summary opens a folded section with the keyboard.
    page.set_viewport_size({"width": 1280, "height": 900})
    folded_one = page.locator("details.section-answers:not([open])").first.element_handle()
    folded_one.query_selector(":scope > summary").focus()
    page.keyboard.press("Enter")
    assert folded_one.get_attribute("open") is not None
    audit.assert_clean({"review page (folded)"})


def test_the_header_keeps_the_language_switch_with_the_controls_at_common_widths(app, live_server, page, demo_orgs):
    base = live_server
    audit = AxeAudit()
    login(page, base, ADMIN)  # the administrator has the most header links
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{base}/")
        header = page.locator("header.site-header")
        language = header.get_by_role("link", name="English")
        logout = header.get_by_role("button", name="Logga ut")
        brand = header.get_by_role("link", name="Konsekvens")
        lang_box, logout_box, brand_box = language.bounding_box(), logout.bounding_box(), brand.bounding_box()
        # The language switch sits on the same line as "log out", right after it.
        assert abs(lang_box["y"] - logout_box["y"]) < 8, (width, lang_box, logout_box)
        assert lang_box["x"] > logout_box["x"], (width, lang_box, logout_box)
        # Nothing in the header overlaps the brand, and the header stays within the page's width.
        for box in (lang_box, logout_box):
            assert box["y"] >= brand_box["y"] + brand_box["height"] or box["x"] >= brand_box["x"] + brand_box["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # No control is split over two lines (a link's height is one line of text).
        for link in header.get_by_role("link").all():
            assert link.bounding_box()["height"] < 40, (width, link.inner_text())
        if shots():
            shots().mkdir(parents=True, exist_ok=True)
            header.screenshot(path=str(shots() / f"header-{width}.png"))
        print(f"header at {width} px: {header.bounding_box()['height']:.0f} px high")
    audit.check(page, "dashboard (header at 390 px)")
    audit.assert_clean({"dashboard (header at 390 px)"})
