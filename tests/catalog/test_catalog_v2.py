"""Format version 2: requirements, screening criteria and outcome, triggers, warnings, suggestions and the
platform facts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

import assessments.catalog.facts as facts_module
from assessments.catalog import (
    FACT_FIELDS,
    NOT_ASSESSED,
    SCREENING_LEVELS,
    Catalog,
    CatalogError,
    Condition,
    Criterion,
    PlatformFacts,
    Requirement,
    ScreeningOutcome,
    ShowIf,
    Text,
    Trigger,
    TriggeredCriterion,
    applies,
    available_catalogs,
    check_platform_facts,
    get_catalog,
    load_catalog_file,
    load_platform_facts,
    screening_dependent,
    screening_outcome,
)
from assessments.catalog import Warning as CatalogWarning

FIXTURES = Path(__file__).parent / "fixtures"
V2 = FIXTURES / "v2"
FACTS = FIXTURES / "facts"


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return load_catalog_file(V2 / "screening-demo-2.yaml")


@pytest.fixture(scope="module")
def facts() -> dict[str, PlatformFacts]:
    return load_platform_facts(FACTS / "platform-facts.yaml")


# --- loading errors: one fixture per kind ----------------------------------------------------------

ERROR_CASES = {
    "undeclared-tag": ("undeclared-tag-1.yaml", [
        "sections[0].questions[1] (key 'profiling')", "tag 'wp248_1' is not declared under requirements"]),
    "duplicate-requirement": ("duplicate-requirement-1.yaml", [
        "requirements[1] (key 'wp248_5')", "duplicate requirement key 'wp248_5'"]),
    "requirement-missing-ref": ("requirement-missing-ref-1.yaml", [
        "requirements[1] (key 'art35_7_a')", "missing required key 'ref'"]),
    "criterion-undeclared": ("criterion-undeclared-1.yaml", [
        "screening.criteria[1] (key 'wp248_4')", "criterion 'wp248_4' is not declared under requirements"]),
    "trigger-unknown-criterion": ("trigger-unknown-criterion-1.yaml", [
        "sections[0].questions[0] (key 'data_subjects').triggers[1]",
        "criterion 'wp248_4' is not declared under screening.criteria"]),
    "trigger-without-screening": ("trigger-without-screening-1.yaml", [
        "sections[0].questions[0] (key 'data_subjects')", "triggers need a screening block"]),
    "trigger-bad-condition": ("trigger-bad-condition-1.yaml", [
        "sections[0].questions[0] (key 'data_subjects').triggers[0]",
        "when.equals needs a single-valued question, but 'data_subjects' is multiple_choice (use includes)"]),
    "trigger-bad-value": ("trigger-bad-value-1.yaml", [
        "sections[0].questions[0] (key 'data_subjects').triggers[0]",
        "when.includes value 'patients' is not an option of question 'data_subjects'"]),
    "trigger-on-screening-dependent": ("trigger-on-screening-dependent-1.yaml", [
        "sections[0].questions[1] (key 'data_subjects')", "triggers criterion 'wp248_7'",
        "shown only for a screening outcome"]),
    "show-if-screening-level": ("show-if-screening-level-1.yaml", [
        "sections[0].questions[1] (key 'reason')", "show_if.screening level 'maybe' is unknown"]),
    "show-if-screening-without-block": ("show-if-screening-without-block-1.yaml", [
        "sections[0].questions[1] (key 'reason')", "show_if.screening needs a screening block"]),
    "show-if-screening-and-question": ("show-if-screening-and-question-1.yaml", [
        "sections[0].questions[1] (key 'reason')", "either question", "or screening, not both"]),
    "warning-public-body": ("warning-public-body-1.yaml", [
        "sections[0].questions[0] (key 'legal_basis').warnings[0]", "public_body must be true or false"]),
    "warning-before-approval": ("warning-before-approval-1.yaml", [
        "sections[0].questions[0] (key 'two_factor').warnings[0]", "before_approval must be true or false"]),
    "warning-bad-value": ("warning-bad-value-1.yaml", [
        "sections[0].questions[0] (key 'legal_basis').warnings[0]",
        "when.equals value 'consent' is not an option of question 'legal_basis'"]),
    "warning-missing-text": ("warning-missing-text-1.yaml", [
        "sections[0].questions[0] (key 'legal_basis').warnings[0]", "missing required key 'text'"]),
    "warning-on-text": ("warning-on-text-1.yaml", [
        "sections[0].questions[0] (key 'purposes')", "question 'purposes' is of type 'long_text'"]),
    "suggest-global": ("suggest-global-1.yaml", [
        "sections[0].questions[0] (key 'eu_entity')", "only allowed on per_platform questions"]),
    "suggest-unknown-field": ("suggest-unknown-field-1.yaml", [
        "sections[0].questions[0] (key 'dpo')", "suggest 'dpo_name' is not a platform fact"]),
    "suggest-wrong-type": ("suggest-wrong-type-1.yaml", [
        "sections[0].questions[0] (key 'tool')", "suggest 'transfer_tool' cannot fill a question of type 'text'"]),
}


@pytest.mark.parametrize("file_name, expected", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_v2_loading_error_names_file_and_place(file_name, expected):
    with pytest.raises(CatalogError) as caught:
        load_catalog_file(V2 / file_name)
    message = str(caught.value)
    assert message.startswith(f"{file_name}: "), message
    for part in expected:
        assert part in message, message
    assert caught.value.file == file_name
    assert caught.value.path and caught.value.path in message
    assert caught.value.line is not None


FACTS_ERROR_CASES = {
    "unknown-key": ("unknown-key.yaml", ["platforms.linkedin", "unknown key 'dpo'"]),
    "unknown-top-key": ("unknown-top-key.yaml", ["unknown key 'checked_by' (allowed: platforms)"]),
    "unknown-platform": ("unknown-platform.yaml", ["platforms.myspace", "unknown platform 'myspace'"]),
    "other-platform": ("other-platform.yaml", ["platforms.other", "has no facts"]),
    "missing-field": ("missing-field.yaml", ["platforms.linkedin", "missing required key 'addendum_name'"]),
    "bad-date": ("bad-date.yaml", ["platforms.linkedin", "verified_on must be a date (yyyy-mm-dd)"]),
    "unverified-unknown": ("unverified-unknown.yaml", [
        "platforms.linkedin", "unverified lists 'source', which is not a platform fact"]),
    "bad-addendum": ("bad-addendum.yaml", [
        "platforms.linkedin", "joint_controller_addendum must be true, false or null"]),
    "name-without-addendum": ("name-without-addendum.yaml", [
        "platforms.linkedin", "addendum_name", "joint_controller_addendum is false"]),
}


@pytest.mark.parametrize("file_name, expected", FACTS_ERROR_CASES.values(), ids=FACTS_ERROR_CASES.keys())
def test_facts_loading_error_names_file_and_key(file_name, expected):
    with pytest.raises(CatalogError) as caught:
        load_platform_facts(FACTS / file_name)
    message = str(caught.value)
    assert message.startswith(f"{file_name}: "), message
    for part in expected:
        assert part in message, message
    assert caught.value.file == file_name


def test_every_v2_and_facts_fixture_is_used():
    assert {f for f, _ in ERROR_CASES.values()} | {"screening-demo-2.yaml"} == {p.name for p in V2.glob("*.yaml")}
    assert {f for f, _ in FACTS_ERROR_CASES.values()} | {"platform-facts.yaml"} == {
        p.name for p in FACTS.glob("*.yaml")}


# --- further rules, written inline ---------------------------------------------------------------

HEADER = "id: inline\nversion: 2\ntitle: {sv: Test, en: Test}\n"
REQUIREMENTS = """requirements:
  - {key: wp248_5, label: {sv: Stor omfattning, en: Large scale}, ref: WP248 rev.01}
  - {key: wp248_7, label: {sv: Sårbara, en: Vulnerable}, ref: WP248 rev.01}
"""
SCREENING = """screening:
  criteria:
    - {key: wp248_5, label: {sv: Stor omfattning, en: Large scale}}
    - {key: wp248_7, label: {sv: Sårbara, en: Vulnerable}}
"""
SECTION = "sections:\n  - key: first\n    title: {sv: A, en: A}\n    questions:\n"
LARGE = "      - {key: large, type: yes_no, text: {sv: A, en: A}, tags: [wp248_5]}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inline-2.yaml"
    path.write_text(HEADER + text, encoding="utf-8")
    return path


@pytest.mark.parametrize("blocks, expected", [
    ("requirements: []\n", "requirements must be a non-empty list"),
    ("requirements: {wp248_5: x}\n", "requirements must be a non-empty list"),
    ("requirements:\n  - {key: Wp, label: {sv: A, en: A}, ref: x}\n", "must match [a-z0-9_]+"),
    ("requirements:\n  - {key: wp248_5, label: {sv: A}, ref: x}\n", "label: 'en' text is missing"),
    ("requirements:\n  - {key: wp248_5, label: {sv: A, en: A}, ref: ''}\n", "ref must be a non-empty string"),
    ("requirements:\n  - {key: wp248_5, label: {sv: A, en: A}, ref: x, note: y}\n", "unknown key 'note'"),
    (REQUIREMENTS + "screening: {}\n", "missing required key 'criteria'"),
    (REQUIREMENTS + "screening: {criteria: []}\n", "screening.criteria must be a non-empty list"),
    (REQUIREMENTS + "screening: {criteria: [], levels: 3}\n", "unknown key 'levels'"),
    (REQUIREMENTS + "screening:\n  criteria:\n    - {key: wp248_5, label: {sv: A, en: A}}\n"
     "    - {key: wp248_5, label: {sv: B, en: B}}\n", "duplicate criterion key 'wp248_5'"),
    ("screening:\n  criteria:\n    - {key: wp248_5, label: {sv: A, en: A}}\n",
     "criterion 'wp248_5' is not declared under requirements (the file has no requirements block)"),
])
def test_requirement_and_screening_block_rules(tmp_path, blocks, expected):
    with pytest.raises(CatalogError, match="^inline-2.yaml: ") as caught:
        load_catalog_file(write(tmp_path, blocks + SECTION + LARGE))
    assert expected in str(caught.value)


@pytest.mark.parametrize("extra, expected", [
    ("        show_if: {screening: []}\n", "show_if.screening must not be empty"),
    ("        show_if: {screening: not_required}\n", "show_if.screening must be a list"),
    ("        show_if: {screening: [not_assessed]}\n", "level 'not_assessed' is unknown"),
    ("        show_if: {screening: [required, required]}\n", "lists 'required' twice"),
    ("        show_if: {screening: [required], equals: 'yes'}\n", "unknown key 'equals'"),
    ("        triggers: {criterion: wp248_7}\n", "triggers must be a list"),
    ("        triggers:\n          - {criterion: wp248_7}\n", "missing required key 'when'"),
    ("        triggers:\n          - {criterion: wp248_7, when: {equals: 'yes'}, why: x}\n", "unknown key 'why'"),
    ("        triggers:\n          - {criterion: wp248_7, when: {equals: 'yes', any_of: ['no']}}\n",
     "when needs exactly one of equals, any_of, includes; got equals, any_of"),
    ("        triggers:\n          - {criterion: wp248_7, when: {}}\n", "when needs exactly one of"),
    ("        triggers:\n          - {criterion: wp248_7, when: {includes: 'yes'}}\n",
     "when.includes needs a multiple_choice question, but 'later' is 'yes_no'"),
    ("        triggers:\n          - {criterion: wp248_7, when: {equals: maybe}}\n",
     "when.equals value 'maybe' is not an option of question 'later' (options: yes, no)"),
    ("        triggers:\n          - {criterion: wp248_7, when: {is: 'yes'}}\n", "unknown key 'is'"),
    ("        triggers:\n          - {criterion: wp248_7, when: 'yes'}\n", "when must be a mapping"),
    ("        warnings:\n          - {when: {equals: 'yes'}, text: {sv: A}}\n", "text: 'en' text is missing"),
    ("        warnings:\n          - {when: {equals: 'yes'}, public_body: null, text: {sv: A, en: A}}\n",
     "public_body must be true or false"),
    ("        suggest: joint_controller_addendum\n",
     "suggest ('joint_controller_addendum') is only allowed on per_platform questions"),
    ("        per_platform: true\n        suggest: eu_entity\n",
     "suggest 'eu_entity' cannot fill a question of type 'yes_no' (allowed: text, long_text)"),
    ("        per_platform: true\n        suggest: ''\n", "suggest must be a non-empty string"),
])
def test_further_v2_question_rules(tmp_path, extra, expected):
    body = REQUIREMENTS + SCREENING + SECTION + LARGE + \
        "      - key: later\n        type: yes_no\n        text: {sv: B, en: B}\n" + extra
    with pytest.raises(CatalogError) as caught:
        load_catalog_file(write(tmp_path, body))
    assert str(caught.value).startswith("inline-2.yaml: sections[0].questions[1] (key 'later')"), caught.value
    assert expected in str(caught.value)


def test_a_criterion_tag_below_a_screening_condition_is_refused_through_the_chain(tmp_path):
    # 'again' depends on 'asked', which is shown only for an outcome: a "yes" could change that outcome.
    body = REQUIREMENTS + SCREENING + SECTION + LARGE + (
        "      - {key: asked, type: yes_no, text: {sv: B, en: B}, show_if: {screening: [recommended]}}\n"
        "      - {key: again, type: yes_no, text: {sv: C, en: C}, tags: [wp248_7],"
        " show_if: {question: asked, equals: 'yes'}}\n")
    with pytest.raises(CatalogError) as caught:
        load_catalog_file(write(tmp_path, body))
    assert "sections[0].questions[2] (key 'again')" in str(caught.value)
    assert "is a yes_no question tagged with criterion 'wp248_7'" in str(caught.value)


def test_suggest_joint_controller_addendum_on_a_choice_needs_yes_and_no(tmp_path):
    question = ("      - key: addendum\n        type: single_choice\n        per_platform: true\n"
                "        text: {sv: B, en: B}\n        suggest: joint_controller_addendum\n        options:\n"
                "          - {value: 'yes', label: {sv: Ja, en: Yes}}\n")
    good = question + "          - {value: 'no', label: {sv: Nej, en: No}}\n" \
        "          - {value: unknown, label: {sv: Vet ej, en: Unknown}}\n"
    assert load_catalog_file(write(tmp_path, SECTION + good)).question("addendum").suggest == \
        "joint_controller_addendum"
    bad = question + "          - {value: unknown, label: {sv: Vet ej, en: Unknown}}\n"
    with pytest.raises(CatalogError, match="needs the options 'yes' and 'no'"):
        load_catalog_file(write(tmp_path, SECTION + bad))


def test_without_requirements_any_tag_is_accepted_and_show_if_form_is_unchanged(tmp_path):
    body = SECTION + "      - {key: a, type: yes_no, text: {sv: A, en: A}, tags: [anything_goes]}\n"
    catalog = load_catalog_file(write(tmp_path, body))
    assert catalog.requirements == () and catalog.screening_criteria == ()
    assert catalog.question("a").tags == ("anything_goes",)


def test_triggers_and_warnings_work_on_yes_no_and_single_choice(tmp_path):
    body = REQUIREMENTS + SCREENING + SECTION + (
        "      - key: a\n        type: yes_no\n        text: {sv: A, en: A}\n"
        "        triggers: [{criterion: wp248_5, when: {equals: 'no'}}]\n"
        "        warnings: [{when: {any_of: ['yes', 'no']}, text: {sv: V, en: W}}]\n")
    question = load_catalog_file(write(tmp_path, body)).question("a")
    assert question.triggers == (Trigger("wp248_5", Condition(equals="no")),)
    assert question.warnings == (CatalogWarning(Condition(any_of=("yes", "no")), None, Text("V", "W")),)


# --- the v2 model ---------------------------------------------------------------------------------

def test_demo_loads_requirements_and_criteria(demo):
    assert demo.version == 2
    assert [r.key for r in demo.requirements][:2] == ["art35_7_a", "art35_2"]
    assert demo.requirement("art35_7_a") == Requirement(
        "art35_7_a", Text("Beskrivning", "Description"), "GDPR art. 35.7 a")
    assert [c.key for c in demo.screening_criteria] == ["wp248_3", "wp248_4", "wp248_5", "wp248_7"]
    assert demo.criterion("wp248_5") == Criterion("wp248_5", Text("Stor omfattning", "Large scale"))
    assert demo.has_screening
    with pytest.raises(KeyError):
        demo.requirement("nope")
    with pytest.raises(KeyError):
        demo.criterion("art35_7_a")  # a requirement, but not a criterion
    # Every tag of every question is a declared requirement.
    declared = {r.key for r in demo.requirements}
    assert {t for q in demo.questions() for t in q.tags} <= declared


def test_demo_questions_carry_triggers_warnings_suggestions_and_screening_conditions(demo):
    assert demo.question("data_subjects").triggers == (
        Trigger("wp248_7", Condition(includes="children")), Trigger("wp248_7", Condition(includes="staff")))
    assert demo.question("tracking").triggers == (Trigger("wp248_3", Condition(any_of=("pixel", "insights"))),)
    assert demo.question("not_required_reason").show_if == ShowIf(screening=("not_required",))
    assert demo.question("why_assess").show_if == ShowIf(screening=("required", "recommended"))
    assert demo.question("not_required_reason").show_if.is_screening
    assert not demo.question("dpo_view").show_if.is_screening
    assert demo.question("transfer_tool").suggest == "transfer_tool"
    assert demo.question("addendum").suggest == "joint_controller_addendum"
    assert demo.question("large_scale").suggest is None
    assert demo.question("large_scale").triggers == () and demo.question("large_scale").warnings == ()
    first = demo.question("legal_basis").warnings[0]
    assert first.when == Condition(equals="legitimate_interest") and first.public_body is True


def test_starter_still_loads_without_v2_blocks():
    starter = get_catalog("social-media", 1)
    assert starter.requirements == () and starter.screening_criteria == ()
    assert not starter.has_screening
    assert all(not q.triggers and not q.warnings and q.suggest is None for q in starter.questions())
    assert screening_outcome(starter, {("large_scale", ""): "yes", ("sensitive_data", ""): "yes"}, []) == \
        ScreeningOutcome(level=NOT_ASSESSED, triggered=())


@pytest.mark.parametrize("catalog_id, version", available_catalogs())
def test_every_shipped_catalogue_loads(catalog_id, version):
    catalog = get_catalog(catalog_id, version)
    if catalog.has_screening:
        assert screening_outcome(catalog, {}, []).level == "not_required"


@pytest.mark.parametrize("show_if, level, met", [
    (ShowIf(screening=("not_required",)), "not_required", True),
    (ShowIf(screening=("not_required",)), "required", False),
    (ShowIf(screening=("required", "recommended")), "recommended", True),
    (ShowIf(screening=("required", "recommended")), NOT_ASSESSED, False),
    (ShowIf(screening=("not_required",)), None, False),
    (ShowIf("q", equals="yes"), "not_required", False),
])
def test_show_if_is_met_screening(show_if, level, met):
    assert show_if.is_met_screening(level) is met


def test_screening_show_if_is_never_met_by_an_answer():
    assert ShowIf(screening=("not_required",)).is_met("not_required") is False


def test_screening_levels():
    assert SCREENING_LEVELS == ("required", "recommended", "not_required")
    assert FACT_FIELDS == ("eu_entity", "transfer_tool", "transfer_basis", "joint_controller_addendum",
                           "addendum_name")


# --- warnings_for --------------------------------------------------------------------------------

PUBLIC = "Public bodies cannot rely on legitimate interest."
DOCUMENT = "Document the assessment."
REVOCABLE = "Consent must be revocable."


@pytest.mark.parametrize("value, public_body, expected", [
    ("legitimate_interest", True, [PUBLIC, DOCUMENT]),   # public_body: true applies to a public body
    ("legitimate_interest", False, [DOCUMENT]),          # ... and not to a company
    ("legitimate_interest", None, [DOCUMENT]),           # unknown: only the warnings for everyone
    ("consent", True, [DOCUMENT]),                       # public_body: false does not apply to a public body
    ("consent", False, [DOCUMENT, REVOCABLE]),           # ... but to a company
    ("consent", None, [DOCUMENT]),
    ("public_task", True, []),
    (None, True, []),
    (["consent"], False, []),
])
def test_warnings_for(demo, value, public_body, expected):
    texts = demo.question("legal_basis").warnings_for(value, public_body=public_body)
    assert [t.en for t in texts] == expected
    assert all(isinstance(t, Text) for t in texts)


def test_warnings_for_without_warnings_is_empty(demo):
    assert demo.question("large_scale").warnings_for("yes", public_body=True) == []


# --- the screening outcome ------------------------------------------------------------------------

def criteria_of(outcome: ScreeningOutcome) -> dict[str, tuple[str, ...]]:
    return {t.criterion.key: t.questions for t in outcome.triggered}


def test_no_answers_is_not_required(demo):
    outcome = screening_outcome(demo, {}, ["facebook"])
    assert outcome == ScreeningOutcome(level="not_required", triggered=())
    assert outcome.count == 0


def test_one_criterion_is_recommended(demo):
    outcome = screening_outcome(demo, {("large_scale", ""): "yes"}, [])
    assert outcome.level == "recommended"
    assert outcome.count == 1
    assert outcome.triggered == (TriggeredCriterion(demo.criterion("wp248_5"), ("large_scale",)),)


def test_no_answers_trigger_nothing(demo):
    answers = {("large_scale", ""): "no", ("photos_of_children", ""): "no", ("data_subjects", ""): ["citizens"]}
    assert screening_outcome(demo, answers, []).level == "not_required"


def test_two_criteria_are_required_in_criteria_order(demo):
    answers = {("data_subjects", ""): ["citizens", "children"], ("large_scale", ""): "yes"}
    outcome = screening_outcome(demo, answers, [])
    assert outcome.level == "required"
    assert outcome.count == 2
    assert [t.criterion.key for t in outcome.triggered] == ["wp248_5", "wp248_7"]


def test_a_criterion_counts_once_and_names_every_question_in_catalogue_order(demo):
    answers = {("data_subjects", ""): ["staff", "children"], ("photos_of_children", ""): "yes"}
    outcome = screening_outcome(demo, answers, [])
    assert outcome.level == "recommended"
    assert criteria_of(outcome) == {"wp248_7": ("photos_of_children", "data_subjects")}


@pytest.mark.parametrize("subjects, triggered", [
    (["children"], True),
    (["staff"], True),
    (["citizens"], False),
    ([], False),
    ("children", False),  # not a multiple_choice value
])
def test_includes_trigger_on_multiple_choice(demo, subjects, triggered):
    outcome = screening_outcome(demo, {("data_subjects", ""): subjects}, [])
    assert ("wp248_7" in criteria_of(outcome)) is triggered


def test_a_hidden_question_does_not_count(demo):
    # sensitive_comments is asked only when uses_comments is "yes"; its stale "yes" must not count.
    stale = {("uses_comments", ""): "no", ("sensitive_comments", ""): "yes"}
    assert screening_outcome(demo, stale, []).level == "not_required"
    assert screening_outcome(demo, {("sensitive_comments", ""): "yes"}, []).level == "not_required"
    shown = {("uses_comments", ""): "yes", ("sensitive_comments", ""): "yes"}
    assert criteria_of(screening_outcome(demo, shown, [])) == {"wp248_4": ("sensitive_comments",)}


def test_a_per_platform_trigger_on_any_chosen_platform(demo):
    answers = {("tracking", "facebook"): "none", ("tracking", "linkedin"): "insights"}
    outcome = screening_outcome(demo, answers, ["facebook", "linkedin"])
    assert criteria_of(outcome) == {"wp248_3": ("tracking",)}
    assert screening_outcome(demo, answers, ["facebook"]).level == "not_required"  # linkedin not chosen
    both = {("tracking", "facebook"): "pixel", ("tracking", "linkedin"): "insights"}
    assert criteria_of(screening_outcome(demo, both, ["facebook", "linkedin"])) == {"wp248_3": ("tracking",)}
    # A global answer key ("tracking", "") is not a platform's answer.
    assert screening_outcome(demo, {("tracking", ""): "pixel"}, ["facebook"]).level == "not_required"


def test_screening_conditioned_questions(demo):
    assert screening_dependent(demo) == {"not_required_reason", "dpo_consulted", "dpo_view", "why_assess"}
    reason, dpo_view, why = (demo.question(k) for k in ("not_required_reason", "dpo_view", "why_assess"))

    nothing = {("dpo_consulted", ""): "yes"}
    assert applies(demo, reason, "", nothing)
    assert applies(demo, dpo_view, "", nothing)
    assert not applies(demo, why, "", nothing)

    one = {("large_scale", ""): "yes", ("dpo_consulted", ""): "yes"}
    assert not applies(demo, reason, "", one)
    assert not applies(demo, dpo_view, "", one)  # stale answer to a question that is no longer asked
    assert applies(demo, why, "", one)
    # The answers to the screening-conditioned questions do not change the outcome.
    assert screening_outcome(demo, one, []) == screening_outcome(demo, {("large_scale", ""): "yes"}, [])


def test_applies_with_a_given_outcome_level_or_platforms(demo):
    reason = demo.question("not_required_reason")
    assert applies(demo, reason, "", {}, outcome_level="not_required")
    assert not applies(demo, reason, "", {}, outcome_level="recommended")
    assert not applies(demo, reason, "", {}, outcome_level=NOT_ASSESSED)
    # The outcome computed from the answers, for the given platforms (or those the answers mention).
    answers = {("tracking", "facebook"): "pixel"}
    assert not applies(demo, reason, "", answers)
    assert applies(demo, reason, "", answers, platforms=["linkedin"])
    assert not applies(demo, "not_required_reason", "", answers, platforms=["facebook"])


def test_applies_follows_the_question_chain(demo):
    sensitive = demo.question("sensitive_comments")
    assert not applies(demo, sensitive, "", {})
    assert not applies(demo, sensitive, "", {("uses_comments", ""): "no"})
    assert applies(demo, sensitive, "", {("uses_comments", ""): "yes"})
    assert applies(demo, sensitive, "facebook", {("uses_comments", ""): "yes"})  # global: platform ignored
    assert applies(demo, demo.question("tracking"), "facebook", {})


def test_applies_per_platform_chain(tmp_path):
    body = SECTION + (
        "      - {key: global_q, type: yes_no, text: {sv: A, en: A}}\n"
        "      - {key: platform_q, type: yes_no, per_platform: true, text: {sv: B, en: B},"
        " show_if: {question: global_q, equals: 'yes'}}\n"
        "      - {key: platform_r, type: text, per_platform: true, text: {sv: C, en: C},"
        " show_if: {question: platform_q, equals: 'no'}}\n")
    catalog = load_catalog_file(write(tmp_path, body))
    r = catalog.question("platform_r")
    answers = {("global_q", ""): "yes", ("platform_q", "facebook"): "no", ("platform_q", "x"): "yes"}
    assert applies(catalog, r, "facebook", answers)
    assert not applies(catalog, r, "x", answers)
    assert not applies(catalog, r, "facebook", {**answers, ("global_q", ""): "no"})  # the chain breaks


def test_screening_outcome_is_immutable(demo):
    outcome = screening_outcome(demo, {}, [])
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.level = "required"  # type: ignore[misc]


# --- platform facts --------------------------------------------------------------------------------

def test_facts_load_in_platform_order(facts):
    assert list(facts) == ["facebook", "linkedin", "tiktok"]
    meta = facts["facebook"]
    assert meta.platform == "facebook"
    assert meta.eu_entity == "Meta Platforms Ireland Ltd"
    assert meta.transfer_tool == "dpf_adequacy"
    assert meta.transfer_basis == Text("Adekvansbeslut (DPF)", "Adequacy decision (DPF)")
    assert meta.joint_controller_addendum is True
    assert meta.addendum_name == "Page Insights Controller Addendum"
    assert meta.unverified == ("joint_controller_addendum", "addendum_name")
    assert meta.source == "Test source"
    assert meta.verified_on == dt.date(2026, 11, 21)


def test_facts_unknown_values_and_quoted_date(facts):
    tiktok = facts["tiktok"]
    assert tiktok.transfer_tool is None
    assert tiktok.joint_controller_addendum is None
    assert tiktok.addendum_name is None
    assert tiktok.unverified == ()
    assert tiktok.verified_on == dt.date(2024, 2, 29)  # quoted in the file


def test_facts_value_and_unverified(facts):
    meta = facts["facebook"]
    assert [meta.value(f) for f in FACT_FIELDS] == [
        "Meta Platforms Ireland Ltd", "dpf_adequacy", Text("Adekvansbeslut (DPF)", "Adequacy decision (DPF)"),
        True, "Page Insights Controller Addendum"]
    assert meta.is_unverified("joint_controller_addendum")
    assert not meta.is_unverified("eu_entity")
    with pytest.raises(KeyError):
        meta.value("source")
    with pytest.raises(KeyError):
        meta.is_unverified("verified_on")


@pytest.mark.parametrize("verified_on, today, stale", [
    (dt.date(2025, 11, 22), dt.date(2026, 11, 21), False),
    (dt.date(2025, 11, 22), dt.date(2026, 11, 22), True),   # 12 calendar months to the day
    (dt.date(2025, 11, 22), dt.date(2027, 1, 1), True),
    (dt.date(2026, 11, 21), dt.date(2026, 11, 21), False),
    (dt.date(2024, 2, 29), dt.date(2025, 2, 27), False),
    (dt.date(2024, 2, 29), dt.date(2025, 2, 28), True),     # no 29 February: the last day of the month
    (dt.date(2025, 1, 31), dt.date(2026, 1, 30), False),
    (dt.date(2025, 1, 31), dt.date(2026, 1, 31), True),
])
def test_facts_staleness(facts, verified_on, today, stale):
    item = dataclasses.replace(facts["linkedin"], verified_on=verified_on)
    assert item.is_stale(today) is stale


def test_facts_suggestion(demo, facts):
    tool, addendum, entity, basis = (demo.question(k) for k in ("transfer_tool", "addendum", "eu_entity",
                                                                "transfer_basis"))
    assert facts["facebook"].suggestion(tool, "sv") == "dpf_adequacy"
    assert facts["linkedin"].suggestion(tool, "sv") == "scc"
    assert facts["tiktok"].suggestion(tool, "sv") is None
    assert facts["facebook"].suggestion(addendum, "sv") == "yes"
    assert facts["tiktok"].suggestion(addendum, "sv") is None
    assert facts["facebook"].suggestion(entity, "en") == "Meta Platforms Ireland Ltd"
    assert facts["facebook"].suggestion(basis, "en") == "Adequacy decision (DPF)"
    assert facts["facebook"].suggestion(basis, "sv") == "Adekvansbeslut (DPF)"
    assert facts["facebook"].suggestion(demo.question("large_scale"), "sv") is None  # suggests nothing
    odd = dataclasses.replace(facts["facebook"], transfer_tool="bcr")  # not an option of the question
    assert odd.suggestion(tool, "sv") is None
    no_addendum = dataclasses.replace(facts["facebook"], joint_controller_addendum=False)
    assert no_addendum.suggestion(addendum, "en") == "no"


def test_check_platform_facts_against_a_catalogue(demo, facts, tmp_path):
    check_platform_facts(demo, facts)  # every suggested choice is an option
    odd = {**facts, "facebook": dataclasses.replace(facts["facebook"], transfer_tool="bcr")}
    with pytest.raises(CatalogError) as caught:
        check_platform_facts(demo, odd, file="platform-facts.yaml")
    message = str(caught.value)
    assert message.startswith("platform-facts.yaml: platforms.facebook: transfer_tool 'bcr'")
    assert "question 'transfer_tool' in screening-demo-2.yaml" in message


def test_facts_default_file_is_cached(monkeypatch):
    monkeypatch.setattr(facts_module, "FACTS_FILE", FACTS / "platform-facts.yaml")
    load_platform_facts.cache_clear()
    try:
        first, second = load_platform_facts(), load_platform_facts()
        assert first == second and first is not second  # a new dict each time ...
        assert first["facebook"] is second["facebook"]   # ... of the same cached objects
        first.pop("facebook")
        assert "facebook" in load_platform_facts()
    finally:
        load_platform_facts.cache_clear()


def test_facts_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="^nothing.yaml: cannot read file"):
        load_platform_facts(tmp_path / "nothing.yaml")


def test_facts_are_immutable(facts):
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts["facebook"].eu_entity = "Someone else"  # type: ignore[misc]


def test_shipped_platform_facts():
    if not facts_module.FACTS_FILE.is_file():
        pytest.skip("data/platform-facts.yaml is not there yet")
    shipped = load_platform_facts()
    assert shipped, "the shipped facts name at least one platform"
    for catalog_id, version in available_catalogs():
        check_platform_facts(get_catalog(catalog_id, version), shipped)
