"""Evidence in the system Chromium (docs/evidence.md): the communicator attaches the joint-controller addendum as a
PDF next to its question in the wizard, and a hostile PDF on the evidence page, which is refused with a message;
legal approves and signs in the browser; the signed PDF downloaded from the overview carries the file (pdfdetach)
and its report lists it with what it supports (pdftotext). axe runs on the pages with evidence on them."""
from __future__ import annotations

import re
import subprocess

from playwright.sync_api import expect
from sqlalchemy import select

from assessments.evidence.model import EvidenceFile
from assessments.extensions import db
from assessments.models import Assessment, Status
from tests import evidence_files as files
from tests.browser.a11y import DESKTOP, AxeAudit
from tests.browser.helpers import login, logout
from tests.conftest import DEMO_PASSWORD, require_tool
from tests.factories import answered_assessment

DOMAIN = "exempelkommun.example"
COMMUNICATOR, LEGAL = (f"{who}@{DOMAIN}" for who in ("kommunikator", "jurist"))
ADDENDUM = files.pdf_document(text="Tillagg om gemensamt personuppgiftsansvar")
NAME = "Tillägg gemensamt ansvar.pdf"


def test_a_pdf_attached_to_a_question_is_found_in_the_signed_report(app, live_server, page, demo_orgs, tmp_path):
    base = live_server
    audit = AxeAudit()
    page.set_viewport_size(DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    with app.app_context():
        assessment_id = answered_assessment().id
    overview_url = f"{base}/assessments/{assessment_id}"
    addendum = tmp_path / NAME
    addendum.write_bytes(ADDENDUM)
    hostile = tmp_path / "avtal.pdf"
    hostile.write_bytes(files.JAVASCRIPT_PDF)

    # --- Communicator: attach next to the question in the wizard --------------------------------
    login(page, base, COMMUNICATOR)
    page.goto(f"{overview_url}/steps/platform")
    question = page.locator("#q-joint_controller_addendum__facebook")
    question.locator("summary", has_text="Bifoga en bilaga").click()
    question.get_by_label("Fil (pdf, PNG, JPEG eller vanlig text)").set_input_files(str(addendum))
    question.get_by_label("Beskrivning (frivillig)").fill("Tillägget som godkänts")
    question.get_by_role("button", name="Bifoga filen").click()
    page.wait_for_url(re.compile(rf"{re.escape(overview_url)}/steps/platform(#.*)?$"))
    expect(page.get_by_role("status")).to_contain_text(f"Bilagan har bifogats: {NAME}")
    question = page.locator("#q-joint_controller_addendum__facebook")
    expect(question.get_by_role("link", name=NAME)).to_be_visible()
    audit.check(page, "step with evidence")

    # A PDF with JavaScript, on the evidence page: refused with a message, nothing stored.
    page.goto(f"{overview_url}/evidence")
    page.get_by_label("Fil (pdf, PNG, JPEG eller vanlig text)").set_input_files(str(hostile))
    page.locator("#evidence-target").select_option("q:purposes:")
    page.get_by_role("button", name="Bifoga filen").click()
    page.wait_for_url(f"{overview_url}/evidence")
    expect(page.get_by_role("status")).to_contain_text("JavaScript")
    expect(page.locator("main")).to_contain_text(NAME)
    expect(page.locator("main")).not_to_contain_text("avtal.pdf")
    audit.check(page, "evidence page with a refusal")
    with app.app_context():
        assert db.session.scalars(select(EvidenceFile.filename)
                                  .where(EvidenceFile.assessment_id == assessment_id)).all() == [NAME]

    page.goto(overview_url)
    page.get_by_role("button", name="Skicka för granskning").click()
    expect(page.get_by_role("status")).to_contain_text("skickats för granskning")
    logout(page, base)

    # --- Legal: approve and sign, then download the signed PDF --------------------------------
    login(page, base, LEGAL)
    page.goto(f"{overview_url}/approve")
    for box in page.locator("form fieldset input[type=checkbox]").all():
        box.check()
    page.get_by_label("Ditt lösenord, för att signera").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Godkänn och signera").click()
    page.wait_for_url(overview_url, timeout=60_000)
    expect(page.get_by_role("status")).to_contain_text("signerad")
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.APPROVED
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Ladda ner den signerade pdf-filen").click()
    signed = tmp_path / "signed.pdf"
    download_info.value.save_as(signed)

    # The evidence page now says the files are sealed, and offers no upload.
    page.goto(f"{overview_url}/evidence")
    expect(page.locator("main")).to_contain_text("förseglade i den signerade pdf-filen")
    expect(page.get_by_role("button", name="Bifoga filen")).to_have_count(0)
    audit.check(page, "evidence page (approved)")

    listed = subprocess.run([require_tool("pdfdetach"), "-list", str(signed)], capture_output=True, text=True,
                            check=True).stdout
    assert f"E1-{NAME}" in listed, listed
    out = tmp_path / "detached"
    out.mkdir()
    subprocess.run([require_tool("pdfdetach"), "-saveall", "-o", str(out), str(signed)], check=True)
    assert (out / f"E1-{NAME}").read_bytes() == ADDENDUM
    text = " ".join(subprocess.run([require_tool("pdftotext"), str(signed), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    squeezed = re.sub(r"[\s\u00ad\u200b-]", "", text)
    assert "Bilagor" in text and "Bilagor: E1" in text
    assert re.sub(r"[\s-]", "", f"E1-{NAME}") in squeezed
    assert "Tilläggetsomgodkänts" in squeezed

    audit.assert_clean({"step with evidence", "evidence page with a refusal", "evidence page (approved)"})
