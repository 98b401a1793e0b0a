"""Format: a warning may say that something must be done before the assessment is approved
(``before_approval: true``); code that gates approval reads the flag."""
from __future__ import annotations

from pathlib import Path

import pytest

from assessments.catalog import CatalogError, Condition, Text, load_catalog_file
from assessments.catalog import Warning as CatalogWarning

HEADER = "id: inline\nversion: 3\ntitle: {sv: Test, en: Test}\n"
SECTION = "sections:\n  - key: first\n    title: {sv: A, en: A}\n    questions:\n"
QUESTION = "      - key: two_factor\n        type: yes_no\n        text: {sv: A, en: A}\n        warnings:\n"


def load(tmp_path: Path, warning: str):
    path = tmp_path / "inline-3.yaml"
    path.write_text(HEADER + SECTION + QUESTION + warning, encoding="utf-8")
    return load_catalog_file(path)



def test_before_approval_defaults_to_false_and_true_is_read(tmp_path):
    catalog = load(tmp_path, "          - {when: {equals: 'no'}, text: {sv: A, en: B}}\n"
                             "          - {when: {equals: 'no'}, before_approval: true, text: {sv: C, en: D}}\n")
    first, second = catalog.question("two_factor").warnings
    assert first.before_approval is False
    assert second.before_approval is True
    assert second == CatalogWarning(Condition(equals="no"), None, Text("C", "D"), before_approval=True)
    # warnings_for is unchanged: it returns the texts whatever the flag.
    assert [t.en for t in catalog.question("two_factor").warnings_for("no", public_body=True)] == ["B", "D"]


@pytest.mark.parametrize("value", ["'yes'", "yes", "1", "null", "'true'", "[true]"])
def test_before_approval_must_be_a_boolean(tmp_path, value):
    with pytest.raises(CatalogError) as caught:
        load(tmp_path, f"          - {{when: {{equals: 'no'}}, before_approval: {value}, text: {{sv: A, en: B}}}}\n")
    message = str(caught.value)
    assert message.startswith("inline-3.yaml: sections[0].questions[0] (key 'two_factor').warnings[0]: "), message
    assert "before_approval must be true or false" in message
    assert caught.value.line is not None
