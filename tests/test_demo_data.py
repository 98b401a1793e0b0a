"""Demo assessments answer only questions that exist, with values the forms would accept."""
from pathlib import Path

import pytest

from assessments.catalog import PLATFORMS, get_catalog
from assessments.demo import DEMO_DIR, load_demo_assessment

DEMOS = sorted(p.stem for p in Path(DEMO_DIR).glob("*.yaml"))


@pytest.mark.parametrize("name", DEMOS)
def test_demo_answers_fit_the_catalogue(name):
    spec = load_demo_assessment(name)
    catalog = get_catalog(spec["catalogue"]["id"], spec["catalogue"]["version"])
    assert set(spec["platforms"]) <= set(PLATFORMS)
    for key, value in spec["answers"].items():
        question = catalog.question(key)
        per_platform_values = value if question.per_platform else {"": value}
        if question.per_platform:
            assert isinstance(value, dict) and set(value) <= set(spec["platforms"]), key
        for item in per_platform_values.values():
            if question.type in ("single_choice", "yes_no"):
                assert item in {v for v, _ in question.choices("sv")}, (key, item)
            elif question.type == "multiple_choice":
                assert set(item) <= {v for v, _ in question.choices("sv")}, (key, item)
            else:
                assert isinstance(item, str) and item, key


@pytest.mark.parametrize("name", DEMOS)
def test_demo_assessment_is_complete(app, demo_orgs, name):
    from assessments.answers import progress
    from tests.factories import answered_assessment

    with app.app_context():
        assessment = answered_assessment(name)
        incomplete = [(p.section.key, [s.key for s in p.missing]) for p in progress(assessment) if not p.complete]
    assert incomplete == []


@pytest.mark.parametrize("name", DEMOS)
def test_demo_measures_address_risks_the_demo_actually_has(app, demo_orgs, name):
    from assessments.risk.service import measures_of
    from tests.factories import answered_assessment

    spec = load_demo_assessment(name)
    with app.app_context():
        assessment = answered_assessment(name)
        measures = measures_of(assessment)
        assert len(measures) == len(spec.get("measures", []))
        for measure, wanted in zip(sorted(measures, key=lambda m: m.id), spec.get("measures", []), strict=True):
            assert {r.rule_key for r in measure.risks} == set(wanted["risks"]), measure.title
