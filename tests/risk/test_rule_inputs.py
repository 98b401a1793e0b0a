"""A save derives the risks again only when an answer a rule can read changed (``rules.rule_inputs``):
changing any other answer, to anything, in any demo assessment, must leave what the rules propose as it
is, and changing an input must be seen as one."""
from __future__ import annotations

from typing import Any

import pytest

from assessments.catalog import available_catalogs, get_catalog
from assessments.demo import DEMO_DIR, load_demo_assessment
from assessments.risk.rules import derive_risks, load_risk_rules, rule_inputs

VERSIONS = sorted({version for catalog_id, version in available_catalogs() if load_risk_rules(catalog_id, version)})


def _answers(catalog, spec: dict) -> dict[tuple[str, str], Any]:
    answers: dict[tuple[str, str], Any] = {}
    for key, value in spec["answers"].items():
        if catalog.question(key).per_platform:
            for platform, item in value.items():
                answers[(key, platform)] = item
        else:
            answers[(key, "")] = value
    return answers


def _alternatives(question) -> list[Any]:
    """Every kind of answer the question can have: none, each choice (all of them, for several), a text."""
    if question.type in ("single_choice", "yes_no"):
        return [None, *(value for value, _label in question.choices("sv"))]
    if question.type == "multiple_choice":
        values = [value for value, _label in question.choices("sv")]
        return [None, [], values, *([v] for v in values)]
    if question.type == "date":
        return [None, "2026-01-01"]
    return [None, "", "ett svar"]


def _variations(questions, answers: dict, platforms: list[str]):
    """``answers`` with one answer of one of ``questions`` changed to each alternative (or removed), in turn:
    (question key, platform, value, the changed answers)."""
    for question in questions:
        for platform in platforms if question.per_platform else [""]:
            for value in _alternatives(question):
                changed = dict(answers)
                if value is None:
                    changed.pop((question.key, platform), None)
                else:
                    changed[(question.key, platform)] = value
                yield question.key, platform, value, changed


def _picture(catalog, rules, answers, platforms, public_body):
    return sorted((d.rule.key, d.platform, tuple(map(tuple, d.triggered_by)))
                  for d in derive_risks(catalog, rules, answers, platforms, public_body=public_body))


@pytest.mark.parametrize("version", VERSIONS)
def test_an_answer_no_rule_reads_never_changes_the_risks(version):
    catalog = get_catalog("social-media", version)
    rules = load_risk_rules("social-media", version)
    inputs = rule_inputs(catalog, rules)
    others = [q for q in catalog.questions() if q.key not in inputs]
    assert inputs and others  # both kinds exist, so both halves of the check mean something
    demos = [load_demo_assessment(p.stem) for p in sorted(DEMO_DIR.glob(f"*-{version}.yaml"))]
    assert demos
    checked = 0
    for spec in demos:
        answers = _answers(catalog, spec)
        platforms = list(spec["platforms"])
        for public_body in (True, False):
            before = _picture(catalog, rules, answers, platforms, public_body)
            for key, platform, value, changed in _variations(others, answers, platforms):
                assert _picture(catalog, rules, changed, platforms, public_body) == before, \
                    (version, spec["title"], key, platform, value)
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("version", VERSIONS)
def test_every_question_a_rule_names_is_an_input(version):
    catalog = get_catalog("social-media", version)
    rules = load_risk_rules("social-media", version)
    inputs = rule_inputs(catalog, rules)
    demos = [load_demo_assessment(p.stem) for p in sorted(DEMO_DIR.glob(f"*-{version}.yaml"))]
    # Whatever triggered a proposed risk in a demo is an input.
    for spec in demos:
        answers = _answers(catalog, spec)
        for derived in derive_risks(catalog, rules, answers, list(spec["platforms"]), public_body=True):
            for key, _platform in derived.triggered_by:
                assert key in inputs, (derived.rule.key, key)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_rule_alone_reads_the_chain_of_its_questions(version):
    """Each rule whose questions are asked only under a condition, alone: its inputs must include the
    questions the condition reads (answering one of them differently hides the question)."""
    from assessments.risk.rules import _leaf_questions

    catalog = get_catalog("social-media", version)
    rules = load_risk_rules("social-media", version)
    demos = [load_demo_assessment(p.stem) for p in sorted(DEMO_DIR.glob(f"*-{version}.yaml"))]
    chained = [rule for rule in rules
               if any(catalog.question(key).show_if is not None for key in _leaf_questions(rule.when))]
    assert chained
    for rule in chained:
        inputs = rule_inputs(catalog, [rule])
        for spec in demos:
            answers = _answers(catalog, spec)
            platforms = list(spec["platforms"])
            before = _picture(catalog, [rule], answers, platforms, True)
            others = [q for q in catalog.questions() if q.key not in inputs]
            for key, platform, value, changed in _variations(others, answers, platforms):
                assert _picture(catalog, [rule], changed, platforms, True) == before, \
                    (version, rule.key, key, platform, value)
