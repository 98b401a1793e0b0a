"""The administrator creates a user in the system Chromium, and that user logs in with the one-time password
and is made to choose a password of their own before anything else; axe-core on every page on the way."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from assessments.extensions import db
from tests.browser.a11y import AxeAudit
from tests.browser.helpers import login, logout
from tests.factories import KOMMUN, user

ADMIN = f"admin@{KOMMUN}"
NEWCOMER = f"nora.nyberg@{KOMMUN}"
OWN_PASSWORD = "sju sorters blommor under kudden"
PAGE_TYPES = {"users", "new user", "new user with errors", "one-time password", "user",
              "forced password change", "forced password change with errors"}


def test_an_administrator_creates_a_user_who_must_choose_a_password_at_first_login(app, live_server, page,
                                                                                   demo_orgs):
    base = live_server
    audit = AxeAudit()
    login(page, base, ADMIN)
    page.get_by_role("link", name="Användare", exact=True).click()
    page.wait_for_url(f"{base}/admin/users")
    expect(page.get_by_role("cell", name=f"jurist@{KOMMUN}")).to_be_visible()
    audit.check(page, "users")

    page.get_by_role("link", name="Ny användare").click()
    audit.check(page, "new user")
    page.get_by_role("button", name="Skapa kontot").click()  # nothing filled in
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link", name=re.compile("^E-postadress"))).to_have_attribute("href", "#email")
    audit.check(page, "new user with errors")

    page.get_by_label("E-postadress").fill(NEWCOMER)
    page.get_by_label(re.compile("^Namn")).fill("Nora Nyberg")
    page.get_by_role("group", name=re.compile("^Roll")).get_by_label("Kommunikatör").check()
    page.get_by_role("button", name="Skapa kontot").click()
    expect(page.get_by_role("heading", name="Engångslösenord för Nora Nyberg")).to_be_visible()
    one_time = page.locator(".one-time-password code").inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", one_time), one_time
    audit.check(page, "one-time password")

    page.get_by_role("link", name="Tillbaka till Nora Nyberg").click()
    expect(page.get_by_role("heading", name="Nora Nyberg", level=1)).to_be_visible()
    assert one_time not in page.content()
    audit.check(page, "user")
    logout(page, base)

    page.goto(f"{base}/login")
    page.get_by_label("E-postadress").fill(NEWCOMER)
    page.get_by_label("Lösenord").fill(one_time)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(f"{base}/account/password")
    expect(page.locator("#must-change")).to_contain_text("valts av en administratör")
    page.goto(f"{base}/")  # anywhere else: back to the password
    page.wait_for_url(f"{base}/account/password")
    page.get_by_label("Nuvarande lösenord").fill(one_time)
    page.get_by_label("Nytt lösenord").fill(one_time)
    page.get_by_label("Upprepa det nya lösenordet").fill(one_time)
    page.get_by_role("button", name="Byt lösenord").click()
    expect(page.locator("#new_password-error")).to_contain_text("inte det du fick")
    audit.check(page, "forced password change with errors")
    page.get_by_label("Nuvarande lösenord").fill(one_time)
    page.get_by_label("Nytt lösenord").fill(OWN_PASSWORD)
    page.get_by_label("Upprepa det nya lösenordet").fill(OWN_PASSWORD)
    audit.check(page, "forced password change")
    page.get_by_role("button", name="Byt lösenord").click()
    page.wait_for_url(f"{base}/")
    expect(page.get_by_text("Ditt lösenord är bytt")).to_be_visible()

    with app.app_context():
        newcomer = user(NEWCOMER)
        assert not newcomer.must_change_password and newcomer.check_password(OWN_PASSWORD)
        db.session.rollback()
    audit.assert_clean(PAGE_TYPES)
