"""The question catalogue: the shipped starter catalogue, every loading error, and the small API."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from assessments.catalog import (
    PLATFORMS,
    QUESTION_TYPES,
    Catalog,
    CatalogError,
    Question,
    ShowIf,
    Text,
    available_catalogs,
    get_catalog,
    latest_catalog,
    load_catalog_file,
    platform_label,
)

FIXTURES = Path(__file__).parent / "fixtures"
PACKAGE = Path(__file__).resolve().parents[2] / "assessments" / "catalog"


@pytest.fixture(scope="module")
def starter() -> Catalog:
    return get_catalog("social-media", 1)


# --- the starter catalogue -------------------------------------------------------------------------

def test_starter_loads_with_the_four_sections_in_order(starter):
    assert starter.id == "social-media"
    assert starter.version == 1
    assert [s.key for s in starter.sections] == ["screening", "description", "platform", "necessity"]
    assert starter.title.sv and starter.title.en
    assert starter.source.endswith("social-media-1.yaml")


def test_starter_texts_are_bilingual_with_help_refs_and_tags(starter):
    for section in starter.sections:
        assert section.title.sv.strip() and section.title.en.strip()
    for q in starter.questions():
        assert q.text.sv.strip() and q.text.en.strip(), q.key
        # Plain-language help, a legal hook and a requirement tag on every question of the starter.
        assert q.help is not None and q.help.sv.strip() and q.help.en.strip(), q.key
        assert q.refs, q.key
        assert q.tags, q.key
        assert q.type in QUESTION_TYPES
        for option in q.options:
            assert option.label.sv.strip() and option.label.en.strip(), (q.key, option.value)


def test_starter_question_keys_are_unique(starter):
    keys = [q.key for q in starter.questions()]
    assert len(keys) == len(set(keys))


def test_starter_show_if_refer_to_earlier_questions_and_valid_values(starter):
    seen: dict[str, Question] = {}
    for q in starter.questions():
        if q.show_if is not None:
            target = seen.get(q.show_if.question)
            assert target is not None, f"{q.key} depends on a question that is not earlier"
            valid = {"yes", "no"} if target.type == "yes_no" else {o.value for o in target.options}
            values = ([q.show_if.equals] if q.show_if.equals is not None else []) + \
                list(q.show_if.any_of or ()) + ([q.show_if.includes] if q.show_if.includes is not None else [])
            assert values and set(values) <= valid, q.key
            assert q.per_platform or not target.per_platform, q.key
        seen[q.key] = q


def test_starter_content_matches_the_design(starter):
    # Screening: WP248 rev.01 criteria as yes/no questions.
    screening = starter.section("screening")
    assert all(q.type == "yes_no" for q in screening.questions)
    screening_tags = {t for q in screening.questions for t in q.tags}
    assert {"wp248_1", "wp248_3", "wp248_4", "wp248_5", "wp248_7"} <= screening_tags
    # Per-platform questions live in the platform section, and all of it is per platform.
    assert all(q.per_platform for q in starter.section("platform").questions)
    assert not any(q.per_platform for s in starter.sections if s.key != "platform" for q in s.questions)
    # The Schrems II chain: transfer tool -> DPF date and fallback, or supplementary measures.
    assert [o.value for o in starter.question("transfer_tool").options] == [
        "dpf_adequacy", "scc", "bcr", "derogation", "unknown"]
    assert starter.question("dpf_checked_on").type == "date"
    assert starter.question("dpf_checked_on").show_if == ShowIf("transfer_tool", equals="dpf_adequacy")
    assert starter.question("dpf_fallback").show_if == ShowIf("transfer_tool", equals="dpf_adequacy")
    measures = starter.question("supplementary_measures")
    assert measures.show_if == ShowIf("transfer_tool", any_of=("scc", "bcr", "derogation"))
    assert "edpb_step_4" in measures.tags
    assert "6" in measures.help.en and "7" in measures.help.en
    # Art. 6(1) last subparagraph warning on the legal basis.
    legal_basis = starter.question("legal_basis")
    assert [o.value for o in legal_basis.options] == [
        "public_task_6_1_e", "legitimate_interest_6_1_f", "consent_6_1_a", "contract_6_1_b"]
    assert "6.1 sista stycket" in legal_basis.help.sv
    # Art. 35(2): DPO advice, optional, shown only when the DPO was consulted.
    advice = starter.question("dpo_advice")
    assert advice.required is False and advice.show_if == ShowIf("dpo_consulted", equals="yes")
    assert "art35_7_a" in starter.question("purposes").tags
    assert "art35_7_b" in starter.question("minimisation").tags


def test_starter_marks_unverified_facts_in_both_languages(starter):
    addendum = starter.question("joint_controller_addendum").help
    assert "(ej verifierat)" in addendum.sv
    assert "(unverified)" in addendum.en


# --- looking catalogues up -----------------------------------------------------------------------

def test_get_catalog_is_cached(starter):
    assert get_catalog("social-media", 1) is starter
    assert get_catalog(catalog_id="social-media", version=1) is starter


def test_latest_catalog_is_the_highest_version(starter):
    # Version 1 stays loadable when version 2 (or later) is added next to it.
    newest = max(version for cid, version in available_catalogs() if cid == "social-media")
    assert latest_catalog() is get_catalog("social-media", newest)
    assert latest_catalog("social-media").version == newest
    if newest == 1:
        assert latest_catalog() is starter


def test_available_catalogs():
    assert ("social-media", 1) in available_catalogs()


@pytest.mark.parametrize("catalog_id, version", [
    ("social-media", 99),
    ("no-such-catalogue", 1),
    ("../social-media", 1),
    ("social-media", 0),
    ("social-media", True),
    ("social-media", "1"),
])
def test_unknown_catalogue_or_version(catalog_id, version):
    with pytest.raises(CatalogError, match="unknown catalogue"):
        get_catalog(catalog_id, version)


def test_latest_of_unknown_catalogue():
    with pytest.raises(CatalogError, match="unknown catalogue 'no-such-catalogue'"):
        latest_catalog("no-such-catalogue")


# --- loading errors: one fixture per kind ----------------------------------------------------------

ERROR_CASES = {
    "yaml-syntax": ("syntax-error-1.yaml", ["YAML syntax error", "line 10"]),
    "unknown-key": ("unknown-key-1.yaml",
                    ["sections[0].questions[1] (key 'b')", "unknown key 'hint'"]),
    "missing-sv-text": ("missing-sv-1.yaml",
                        ["sections[0].questions[0] (key 'a')", "help: 'sv' text is missing"]),
    "unknown-type": ("unknown-type-1.yaml",
                     ["sections[0].questions[0] (key 'amount')", "unknown type 'number'"]),
    "duplicate-key": ("duplicate-key-1.yaml",
                      ["sections[1].questions[0] (key 'purposes')", "duplicate question key 'purposes'"]),
    "options-on-yes-no": ("options-on-yes-no-1.yaml",
                          ["sections[0].questions[0] (key 'consulted')",
                           "options are not allowed for type 'yes_no'"]),
    "missing-options": ("missing-options-1.yaml",
                        ["sections[0].questions[0] (key 'legal_basis')", "type 'single_choice' needs options"]),
    "show-if-unknown": ("show-if-unknown-1.yaml",
                        ["sections[1].questions[1] (key 'transfer_tool')",
                         "show_if refers to unknown question 'nope'"]),
    "show-if-later": ("show-if-later-1.yaml",
                      ["sections[0].questions[0] (key 'advice')",
                       "show_if refers to question 'consulted', which comes later"]),
    "show-if-bad-value": ("show-if-bad-value-1.yaml",
                          ["sections[0].questions[1] (key 'measures')", "'privacy_shield'",
                           "not an option of question 'transfer_tool'"]),
    "global-on-per-platform": ("global-on-per-platform-1.yaml",
                               ["sections[1].questions[0] (key 'ads_reason')",
                                "global question cannot depend on the per-platform question 'uses_ads'"]),
    "file-name-mismatch": ("name-mismatch-2.yaml", ["file name must be 'name-mismatch-1.yaml'"]),
}


@pytest.mark.parametrize("file_name, expected", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_loading_error_names_file_and_place(file_name, expected):
    with pytest.raises(CatalogError) as caught:
        load_catalog_file(FIXTURES / file_name)
    message = str(caught.value)
    assert message.startswith(f"{file_name}: "), message
    for part in expected:
        assert part in message, message
    assert caught.value.file == file_name


def test_error_message_format_from_the_design():
    with pytest.raises(CatalogError) as caught:
        load_catalog_file(FIXTURES / "show-if-unknown-1.yaml")
    assert str(caught.value).startswith(
        "show-if-unknown-1.yaml: sections[1].questions[1] (key 'transfer_tool'): "
        "show_if refers to unknown question 'nope'")
    assert caught.value.path == "sections[1].questions[1] (key 'transfer_tool')"
    assert caught.value.line == 20  # the show_if line


def test_every_fixture_is_used():
    used = {file_name for file_name, _ in ERROR_CASES.values()}
    assert used == {p.name for p in FIXTURES.glob("*.yaml")}


# --- further rules, written inline ---------------------------------------------------------------

HEADER = "id: inline\nversion: 1\ntitle: {sv: Test, en: Test}\nsections:\n"
CHOICE = """\
  - key: first
    title: {sv: Första, en: First}
    questions:
      - key: kinds
        type: multiple_choice
        text: {sv: "Vilka?", en: "Which?"}
        options:
          - {value: children, label: {sv: Barn, en: Children}}
          - {value: staff, label: {sv: Personal, en: Staff}}
      - key: tool
        type: single_choice
        text: {sv: Verktyg, en: Tool}
        options:
          - {value: scc, label: {sv: SCC, en: SCC}}
          - {value: dpf, label: {sv: DPF, en: DPF}}
      - key: note
        type: text
        text: {sv: Anteckning, en: Note}
"""


def write(tmp_path: Path, body: str, name: str = "inline-1.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def question_after_choices(extra: str) -> str:
    return CHOICE + "      - key: later\n        type: long_text\n        text: {sv: Sen, en: Later}\n" + extra


@pytest.mark.parametrize("extra, expected", [
    ("        show_if: {question: kinds, equals: children}\n", "use includes"),
    ("        show_if: {question: tool, includes: scc}\n", "needs a multiple_choice question"),
    ("        show_if: {question: note, equals: x}\n", "only single_choice, multiple_choice and yes_no"),
    ("        show_if: {question: tool, equals: scc, any_of: [dpf]}\n", "exactly one of"),
    ("        show_if: {question: tool}\n", "exactly one of"),
    ("        show_if: {question: later, equals: x}\n", "refers to the question itself"),
    ("        show_if: {question: tool, any_of: []}\n", "must not be empty"),
    ("        show_if: {question: tool, equals: scc, when: now}\n", "unknown key 'when'"),
    ("        required: maybe\n", "required must be true or false"),
    ("        tags: [Art35]\n", "must match [a-z0-9_]+"),
    ("        refs: GDPR art. 35\n", "refs must be a list"),
])
def test_further_question_rules(tmp_path, extra, expected):
    with pytest.raises(CatalogError) as caught:
        load_catalog_file(write(tmp_path, question_after_choices(extra)))
    assert "inline-1.yaml: sections[0].questions[3] (key 'later')" in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize("body, expected", [
    ("  - key: first\n    title: {sv: Första, en: First}\n    questions: []\n", "questions must be a non-empty list"),
    ("  - key: First\n    title: {sv: A, en: A}\n    questions: [{key: a, type: text, text: {sv: A, en: A}}]\n",
     "must match [a-z][a-z0-9_]*"),
    ("  - key: first\n    title: {sv: A, en: ''}\n    questions: [{key: a, type: text, text: {sv: A, en: A}}]\n",
     "title: 'en' text is empty"),
    ("  - key: first\n    title: {sv: A, en: A, de: A}\n    questions: [{key: a, type: text, text: {sv: A, en: A}}]\n",
     "unknown language 'de'"),
    ("  - key: first\n    title: {sv: A, en: A}\n    questions: [{key: a, type: text, text: {sv: A, en: A}}]\n"
     "  - key: first\n    title: {sv: B, en: B}\n    questions: [{key: b, type: text, text: {sv: B, en: B}}]\n",
     "duplicate section key 'first'"),
    ("  - key: first\n    title: {sv: A, en: A}\n    questions:\n      - key: a\n        type: single_choice\n"
     "        text: {sv: A, en: A}\n        options:\n          - {value: x, label: {sv: X, en: X}}\n"
     "          - {value: x, label: {sv: Y, en: Y}}\n", "duplicate option value 'x'"),
    ("  - key: first\n    title: {sv: A, en: A}\n    questions:\n      - key: a\n        type: single_choice\n"
     "        text: {sv: A, en: A}\n        options:\n          - {value: x, label: {sv: X, en: X}}\n",
     "at least two options"),
])
def test_further_structure_rules(tmp_path, body, expected):
    with pytest.raises(CatalogError, match="^inline-1.yaml: ") as caught:
        load_catalog_file(write(tmp_path, body))
    assert expected in str(caught.value)


def test_duplicate_yaml_mapping_key_is_a_syntax_error(tmp_path):
    body = "  - key: first\n    key: second\n    title: {sv: A, en: A}\n    questions: []\n"
    with pytest.raises(CatalogError) as caught:
        load_catalog_file(write(tmp_path, body))
    assert "duplicate key 'key'" in str(caught.value)
    assert caught.value.line == 6


def test_catalogue_id_must_agree_with_file_name(tmp_path):
    with pytest.raises(CatalogError, match="file name must be 'inline-1.yaml'"):
        load_catalog_file(write(tmp_path, CHOICE, name="other-1.yaml"))


@pytest.mark.parametrize("header, expected", [
    ("id: Inline\nversion: 1\n", "must match [a-z][a-z0-9-]*"),
    ("id: inline\nversion: 0\n", "version must be a positive integer"),
    ("id: inline\nversion: '1'\n", "version must be a positive integer"),
    ("id: inline\n", "missing required key 'version'"),
    ("id: inline\nversion: 1\nauthor: me\n", "unknown key 'author'"),
])
def test_catalogue_header_rules(tmp_path, header, expected):
    path = tmp_path / "inline-1.yaml"
    path.write_text(header + "title: {sv: T, en: T}\nsections:\n" + CHOICE, encoding="utf-8")
    with pytest.raises(CatalogError, match="^inline-1.yaml: ") as caught:
        load_catalog_file(path)
    assert expected in str(caught.value)


def test_unquoted_yes_stays_a_string(tmp_path):
    # YAML 1.1 would turn `equals: yes` into True; the catalogue reader keeps it "yes".
    body = ("  - key: first\n    title: {sv: A, en: A}\n    questions:\n"
            "      - {key: asked, type: yes_no, text: {sv: A, en: A}}\n"
            "      - {key: advice, type: text, required: false, text: {sv: B, en: B},"
            " show_if: {question: asked, equals: yes}}\n")
    catalog = load_catalog_file(write(tmp_path, body))
    assert catalog.question("advice").show_if == ShowIf("asked", equals="yes")
    assert catalog.question("advice").required is False


def test_per_platform_question_may_depend_on_global_or_per_platform(tmp_path):
    body = ("  - key: first\n    title: {sv: A, en: A}\n    questions:\n"
            "      - {key: global_q, type: yes_no, text: {sv: A, en: A}}\n"
            "      - {key: platform_q, type: yes_no, per_platform: true, text: {sv: B, en: B},"
            " show_if: {question: global_q, equals: 'yes'}}\n"
            "      - {key: platform_r, type: text, per_platform: true, text: {sv: C, en: C},"
            " show_if: {question: platform_q, equals: 'no'}}\n")
    catalog = load_catalog_file(write(tmp_path, body))
    assert catalog.question("platform_r").per_platform


# --- ShowIf ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("condition, value, met", [
    (ShowIf("q", equals="yes"), "yes", True),
    (ShowIf("q", equals="yes"), "no", False),
    (ShowIf("q", equals="yes"), None, False),
    (ShowIf("q", equals="yes"), ["yes"], False),
    (ShowIf("q", any_of=("scc", "bcr")), "bcr", True),
    (ShowIf("q", any_of=("scc", "bcr")), "dpf_adequacy", False),
    (ShowIf("q", any_of=("scc", "bcr")), None, False),
    (ShowIf("q", includes="children"), ["staff", "children"], True),
    (ShowIf("q", includes="children"), ("children",), True),
    (ShowIf("q", includes="children"), ["staff"], False),
    (ShowIf("q", includes="children"), [], False),
    (ShowIf("q", includes="children"), None, False),
    (ShowIf("q", includes="children"), "children", False),
])
def test_show_if_is_met(condition, value, met):
    assert condition.is_met(value) is met


# --- small API --------------------------------------------------------------------------------------

def test_text_get():
    text = Text(sv="Ja", en="Yes")
    assert text.get("sv") == "Ja"
    assert text.get("en") == "Yes"
    assert text.get("en_GB") == "Yes"
    assert text.get("de") == "Ja"
    assert text.get(None) == "Ja"


def test_question_labels_and_choices(starter):
    consulted = starter.question("dpo_consulted")
    assert consulted.choices("sv") == [("yes", "Ja"), ("no", "Nej")]
    assert consulted.choices("en") == [("yes", "Yes"), ("no", "No")]
    assert consulted.option_label("no", "sv") == "Nej"
    assert consulted.option_label("yes", "en") == "Yes"
    tool = starter.question("transfer_tool")
    assert tool.choices("en")[1] == ("scc", "Standard contractual clauses")
    assert tool.option_label("scc", "sv") == "Standardavtalsklausuler"
    with pytest.raises(KeyError):
        tool.option_label("privacy_shield", "sv")
    assert starter.question("purposes").choices("sv") == []
    assert starter.question("data_subjects").is_multi
    assert not tool.is_multi


def test_catalog_lookups(starter):
    assert starter.section_index("platform") == 2
    assert starter.section("necessity").questions[-1].key == "dpo_advice"
    assert starter.question("transfer_tool").section_key == "platform"
    assert [q.key for q in starter.questions()][0] == "large_scale"
    with pytest.raises(KeyError):
        starter.question("nope")
    with pytest.raises(KeyError):
        starter.section("nope")
    with pytest.raises(KeyError):
        starter.section_index("nope")


def test_catalog_is_immutable(starter):
    with pytest.raises(AttributeError):
        starter.version = 2  # type: ignore[misc]


def test_platforms():
    assert list(PLATFORMS) == ["facebook", "instagram", "linkedin", "youtube", "tiktok", "x", "other"]
    assert [platform_label(k, "sv") for k in PLATFORMS] == [
        "Facebook", "Instagram", "LinkedIn", "YouTube", "TikTok", "X", "Annan plattform"]
    assert platform_label("linkedin", "en") == "LinkedIn"
    assert platform_label("other", "en") == "Other platform"
    with pytest.raises(KeyError):
        platform_label("myspace", "sv")


def test_question_types():
    assert QUESTION_TYPES == ("text", "long_text", "single_choice", "multiple_choice", "yes_no", "date")


def test_catalog_package_imports_only_stdlib_and_yaml():
    allowed = set(sys.stdlib_module_names) | {"yaml"}
    for source in PACKAGE.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{source.name} imports outside the catalog package"
                names = [node.module] if node.level == 0 and node.module else []
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{source.name} imports {name}"
