"""What people read: counts in Swedish plural forms (ngettext, never "(s)" or "(er)"), and the audit trail's
event kinds and details named in words, in the trail page and in the signed report."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, ngettext
from sqlalchemy import select

from assessments.events import EVENT_LABELS, detail_value, details_of, event_label
from assessments.extensions import db
from assessments.models import Assessment, AuditEvent
from tests.answering import latest_demo, step_data, version_of
from tests.conftest import require_tool
from tests.factories import KOMMUN, answered_assessment

SV_PO = Path(__file__).parent.parent / "assessments" / "translations" / "sv" / "LC_MESSAGES" / "messages.po"
ASSESSMENTS = Path(__file__).parent.parent / "assessments"


@pytest.mark.parametrize("singular, plural, one, many", [
    ("%(num)s assessment", "%(num)s assessments", "1 bedömning", "2 bedömningar"),
    ("%(num)s answer, unchanged since the previous review", "%(num)s answers, unchanged since the previous review",
     "1 svar, oförändrat sedan förra granskningen", "7 svar, oförändrade sedan förra granskningen"),
    ("…and %(num)s more problem.", "…and %(num)s more problems.", "…och 1 fel till.", "…och 7 fel till."),
    ("%(num)d risk without a decision", "%(num)d risks without a decision", "1 risk utan beslut",
     "7 risker utan beslut"),
])
def test_counts_take_the_swedish_singular_and_plural(app, singular, plural, one, many):
    with app.test_request_context(), force_locale("sv"):
        assert ngettext(singular, plural, 1) == one
        assert ngettext(singular, plural, 2 if "2" in many else 7) == many


def test_no_message_writes_a_plural_in_parentheses():
    """"1 bedömningar", "restrisk(er)": a count is written with ngettext, never as "(s)" or "(er)"."""
    with open(SV_PO, "rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        texts = [*(message.id if isinstance(message.id, tuple) else [message.id]),
                 *(message.string if isinstance(message.string, tuple) else [message.string])]
        found += [t for t in texts if t and re.search(r"\w\((s|er|ar|or|na)\)", t)]
    assert found == []


def test_the_dashboard_counts_one_assessment_in_the_singular(app, client, auth, demo_orgs):
    with app.app_context():
        answered_assessment()
    auth.login(f"kommunikator@{KOMMUN}")
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"<caption[^>]*>\s*1 bedömning\b(?!ar)", page)
    with app.app_context():
        answered_assessment()
    assert re.search(r"<caption[^>]*>\s*2 bedömningar", client.get("/").get_data(as_text=True))


def test_every_event_the_code_records_has_a_label():
    recorded = set()
    for path in ASSESSMENTS.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        recorded |= set(re.findall(r'record\(\s*[^,()]+(?:\([^)]*\))?[^,()]*,\s*"([a-z_]+)"', text))
    recorded |= {"submit_for_review", "request_changes", "approve"}  # workflow's transitions, by name
    assert len(recorded) > 30
    assert sorted(recorded - set(EVENT_LABELS)) == []


def test_details_are_words_and_nothing_is_a_dash(app):
    with app.test_request_context(), force_locale("sv"):
        assert detail_value("old", None) == "–" and detail_value("before", []) == "–"
        assert detail_value("to", "in_review") == "Under granskning"
        assert detail_value("status", "cancelled") == "Avbruten"
        assert detail_value("enabled", False) == "Nej"
        assert event_label("answer_changed") == "Svar ändrat"
        assert event_label("something_new") == "Annan händelse"
        assert details_of({"field": "residual_likelihood", "old": 3, "new": 2}) == [
            ("bedömning", "kvarstående sannolikhet"), ("tidigare", "3"), ("nytt", "2")]


def change_purposes(client, assessment_id: int, platforms: list[str], text: str) -> None:
    url = f"/assessments/{assessment_id}/steps/description"
    data = {**step_data(latest_demo(), "description", platforms), "purposes": text}
    response = client.post(url, data={**data, "version": version_of(client.get(url).get_data(as_text=True)),
                                      "action": "later"})
    assert response.status_code == 302


def test_the_trail_page_names_events_and_details_in_swedish(app, client, auth, demo_orgs):
    with app.app_context():
        assessment = answered_assessment()
        assessment_id, platforms = assessment.id, list(assessment.platforms)
    auth.login(f"kommunikator@{KOMMUN}")
    change_purposes(client, assessment_id, platforms, "Svara invånarna.")
    client.post(f"/assessments/{assessment_id}/submit")
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.assessment_id == assessment_id)))
    assert {"answer_changed", "submit_for_review"} <= actions
    page = client.get(f"/assessments/{assessment_id}/trail").get_data(as_text=True)
    cells = re.findall(r"<td>([^<]*)</td><td class=\"details\">(.*?)</td>", page, re.S)
    assert cells, "no events on the trail page"
    shown = " ".join(kind + " " + details for kind, details in cells)
    for raw in actions:
        assert raw not in shown, raw
    assert "Svar ändrat" in shown and "Skickad för granskning" in shown
    assert "Vad är syftet med er närvaro i sociala medier?" in shown and "nytt: Svara invånarna." in shown
    assert "None" not in shown and "old:" not in shown and "question:" not in shown
    assert "från: Utkast" in shown and "till: Under granskning" in shown


def test_the_signed_report_names_the_trail_events_in_swedish(app, signed_demo, tmp_path):
    text = subprocess.run([require_tool("pdftotext"), "-enc", "UTF-8", str(signed_demo.pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.assessment_id == signed_demo.assessment_id)))
        assessment = db.session.get(Assessment, signed_demo.assessment_id)
        assert assessment.language == "sv"
    assert "Bedömningen skapades" in flat and "Skickad för granskning" in flat
    assert "Annan händelse" not in flat
    for raw in actions:
        assert raw not in flat, raw
