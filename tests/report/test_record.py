"""The record's published schema (docs/record-format.md): one file, and it refuses what the format is not."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assessments.report.record import SCHEMA_PATH, RecordInvalid, check_embedded, validate

DOCS_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "record.schema.json"


def test_the_published_schema_is_the_one_the_application_validates_with():
    assert DOCS_SCHEMA.read_bytes() == SCHEMA_PATH.read_bytes()
    assert json.loads(DOCS_SCHEMA.read_text())["properties"]["format"] == {"const": "konsekvens.record/1"}


def minimal() -> dict:
    return {"format": "konsekvens.record/1", "document": {"id": "KB-1-2-r1", "language": "sv"},
            "assessment": {"id": 2, "revision": 1, "title": "T",
                           "organisation": {"id": 1, "name": "O", "public_body": True},
                           "platforms": [{"key": "facebook", "name": "Facebook"}],
                           "catalogue": {"id": "social-media", "version": 3}, "author": {"name": "A"}},
            "screening": {"outcome": "required", "criteria": []}, "answers": [], "risks": [], "measures": [],
            "conclusion": {"overall_residual_level": "none", "overall_residual_label": "Inga risker",
                           "prior_consultation_required": False, "high_risks": [], "transfers": [],
                           "review_due": "2027-05-29", "depends_on_dpf": False, "residual_accepted": None},
            "prior_consultation": None, "consultation": {"dpo_advice": None, "data_subject_views": None},
            "review": {"verdicts": []}, "approval": None}


def test_a_minimal_record_follows_the_schema():
    validate(minimal())


@pytest.mark.parametrize("breaks, where", [
    (lambda r: r.update(format="konsekvens.answers/1"), "format"),
    (lambda r: r["document"].update(id="assessment 2"), "document/id"),
    (lambda r: r.update(extra=1), "(the document)"),
    (lambda r: r["conclusion"].update(overall_residual_level="severe"), "conclusion/overall_residual_level"),
    (lambda r: r.update(risks=[{"number": "R1"}]), "risks/0"),
    (lambda r: r.update(approval={"meaning": "x"}), "approval"),
])
def test_the_schema_refuses_what_the_format_is_not(breaks, where):
    record = minimal()
    breaks(record)
    with pytest.raises(RecordInvalid) as refused:
        validate(record)
    assert str(refused.value).startswith(where)


def test_check_embedded_names_the_problem_for_each_file_name():
    assert check_embedded("record.json", json.dumps(minimal()).encode()) is None
    assert "is not JSON" in check_embedded("record.json", b"{")
    assert "does not follow the schema" in check_embedded("record.json", b"{}")
    assert check_embedded("answers.json", b'{"format": "konsekvens.answers/1", "answers": []}') is None
    assert "does not say format" in check_embedded("answers.json", b'{"answers": []}')
