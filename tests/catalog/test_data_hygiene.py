"""Data files cite sources by name, never a machine path or an internal file; platform facts are sourced
and dated, and a fact nobody checked is listed (and so shown) as unverified."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from assessments.catalog import FACT_FIELDS, CatalogError, load_platform_facts
from assessments.catalog.facts import FACTS_FILE
from assessments.catalog.loader import DATA_DIR
from assessments.demo import DEMO_DIR

DATA_FILES = sorted([*DATA_DIR.rglob("*.yaml"), *Path(DEMO_DIR).glob("*.yaml")])

# What must never appear in a data file (values or comments).
FORBIDDEN = {
    # an absolute path: "/work/…", "/tmp/…", "/home/…" (not the slashes of a URL, "och/eller" or "24/7")
    "absolute path": re.compile(r"(?<![\w:/.\"'])/(?:[\w.-]+/)+[\w.-]*"),
    "home path": re.compile(r"~/[\w.-]"),
    "Windows path": re.compile(r"\b[A-Za-z]:\\"),
    # a file of the team: notes, code, configuration
    "file reference": re.compile(r"\b[\w./-]+\.(?:md|py|txt|cfg|toml|ini|sh)\b"),
    "internal reference": re.compile(r"(?i)domain reference|shared/reference|\bissue\s+#?\d+|(?<![\w&])#\d+\b"),
}


def problems(text: str) -> list[tuple[int, str, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in FORBIDDEN.items():
            match = pattern.search(line)
            if match:
                found.append((number, what, match.group(0)))
    return found


@pytest.mark.parametrize("bad", [
    "# Sources as in /work/shared/reference/domain.md (checked 2026-11-21)",
    "source: /tmp/facts.yaml",
    "# see ~/notes/facts",
    "# Engine notes (assessments/risk/rules.py): a leaf",
    "# format: RISK_RULES.md",
    "# CNIL scales (domain.md §3)",
    "# Test cases: tests/risk/test_rule_cases.py",
    "# as summarised in the Konsekvens domain reference §5",
    "# fixed in issue 12",
    "# see #14",
    r"source: C:\Users\me\facts.yaml",
])
def test_the_check_finds_paths_and_internal_references(bad):
    assert problems(bad), bad


@pytest.mark.parametrize("good", [
    "source: Data Privacy Framework List (dataprivacyframework.gov), entry Meta Platforms, Inc.",
    "see https://www.dataprivacyframework.gov/list and https://www.facebook.com/terms",
    'refs: ["GDPR art. 5.1 c", "(EU) 2023/1795", "EDPB Rec. 01/2020 v2.0"]',
    'text: "(ej verifierat)"/"(unverified)"; vardagar 8–17; dygnet runt 24/7; och/eller',
    "OVG Lüneburg, 19 januari 2021, 11 LA 16/20; VG Köln, 13 K 1419/23",
    "transfer_tool: dpf_adequacy | adequacy_other | scc",
    "  - {question: transfer_tool, any_of: [scc, bcr]}",
])
def test_the_check_leaves_legal_citations_and_urls_alone(good):
    assert problems(good) == [], good


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_no_data_file_contains_a_path_or_an_internal_reference(path):
    assert DATA_FILES, "no data files found"
    assert problems(path.read_text(encoding="utf-8")) == [], path.name


def test_the_data_files_checked_include_catalogues_rules_facts_and_demos():
    names = {p.name for p in DATA_FILES}
    assert {"social-media-2.yaml", "social-media-3.yaml", "platform-facts.yaml",
            "exempelkommun-3.yaml"} <= names
    assert any(p.parent.name == "risk-rules" and p.name == "social-media-3.yaml" for p in DATA_FILES)


# --- platform facts: a source and a date for every fact ----------------------------------------------

def test_every_shipped_platform_fact_names_its_primary_source_and_is_dated_or_unverified():
    facts = load_platform_facts()
    assert facts
    for platform, item in facts.items():
        assert item.source.strip() and isinstance(item.verified_on, dt.date), platform
        for field in FACT_FIELDS:
            source = item.source_of(field)
            assert source is not None, f"{platform}.{field}: no primary source named"
            assert source.source.strip(), f"{platform}.{field}"
            if source.checked_on is None:
                assert item.is_unverified(field), f"{platform}.{field}: not checked, yet not listed as unverified"
            else:
                assert source.checked_on <= dt.clock.today(), f"{platform}.{field}: checked in the future"


def test_known_uncertain_facts_are_listed_as_unverified():
    facts = load_platform_facts()
    # Whether Meta's Page Insights addendum covers Instagram professional accounts is not established.
    assert facts["instagram"].is_unverified("joint_controller_addendum")
    assert facts["instagram"].joint_controller_addendum is not True
    for platform in ("youtube", "tiktok", "x"):
        assert facts[platform].is_unverified("joint_controller_addendum"), platform
    assert facts["x"].is_unverified("transfer_tool")


def test_platform_fact_texts_carry_the_corrections_of_the_legal_review():
    facts = load_platform_facts()
    # The EUR 1.2 billion decision concerned Facebook: it is not Instagram's history.
    assert "1,2 miljarder" in facts["facebook"].transfer_basis.sv
    assert "1,2 miljarder" not in facts["instagram"].transfer_basis.sv
    assert "1.2 billion" not in facts["instagram"].transfer_basis.en
    tiktok = facts["tiktok"].transfer_basis
    assert "30 april 2025" in tiktok.sv and "30 April 2025" in tiktok.en
    assert "andrahandskällor" in tiktok.sv and "secondary sources" in tiktok.en  # the High Court judgment
    assert "3 juni 2026" in tiktok.sv
    for item in facts.values():
        for text in (item.transfer_basis.sv, item.source):
            assert "bötfäll" not in text.lower()
            assert "domain" not in text.lower()


def write_facts(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "facts.yaml"
    path.write_text(
        "platforms:\n  linkedin:\n    eu_entity: LinkedIn Ireland Unlimited Company\n    transfer_tool: dpf_adequacy\n"
        "    transfer_basis: {sv: DPF, en: DPF}\n    joint_controller_addendum: true\n"
        "    addendum_name: Page Insights Joint Controller Addendum\n    source: LinkedIn\n"
        "    verified_on: 2026-11-29\n" + body, encoding="utf-8")
    return path


def test_a_checked_fact_and_an_unverified_fact_load(tmp_path):
    facts = load_platform_facts(write_facts(tmp_path, (
        "    unverified: [addendum_name]\n"
        "    sources:\n"
        "      eu_entity: {source: LinkedIn User Agreement, checked_on: 2026-11-28}\n"
        "      addendum_name: {source: LinkedIn addendum, checked_on: null}\n")))
    linkedin = facts["linkedin"]
    assert linkedin.source_of("eu_entity").checked_on == dt.date(2026, 11, 28)
    assert linkedin.source_of("addendum_name").checked_on is None
    assert linkedin.source_of("transfer_tool") is None
    with pytest.raises(KeyError):
        linkedin.source_of("verified_on")


@pytest.mark.parametrize("body, expected", [
    ("    sources:\n      eu_entity: {source: LinkedIn User Agreement, checked_on: null}\n",
     "platforms.linkedin.sources.eu_entity: eu_entity has no checked_on date, so it must be listed under unverified"),
    ("    sources:\n      dpo: {source: x, checked_on: 2026-11-28}\n", "sources names 'dpo', which is not a platform fact"),
    ("    sources:\n      eu_entity: {source: x}\n", "missing required key 'checked_on'"),
    ("    sources:\n      eu_entity: {checked_on: 2026-11-28}\n", "missing required key 'source'"),
    ("    sources:\n      eu_entity: {source: '', checked_on: 2026-11-28}\n", "source must be a non-empty string"),
    ("    sources:\n      eu_entity: {source: x, checked_on: yesterday}\n", "checked_on must be a date"),
    ("    sources:\n      eu_entity: {source: x, checked_on: 2026-11-28, by: me}\n", "unknown key 'by'"),
    ("    sources: [eu_entity]\n", "sources must be a mapping"),
])
def test_fact_sources_are_checked_when_loading(tmp_path, body, expected):
    with pytest.raises(CatalogError) as caught:
        load_platform_facts(write_facts(tmp_path, body))
    assert expected in str(caught.value)
    assert str(caught.value).startswith("facts.yaml: ")


def test_the_shipped_facts_file_is_the_one_checked():
    assert FACTS_FILE.name == "platform-facts.yaml" and FACTS_FILE.is_file()
