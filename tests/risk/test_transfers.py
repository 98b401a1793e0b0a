"""May the transfer take place? One outcome per platform (GDPR Chapter V; C-311/18 Schrems II).

An unlawful transfer is "may not take place", never a rating routed to prior consultation; an unknown
transfer tool is a documentation gap (docs/risk-method.md).
"""
from pathlib import Path

import pytest

from assessments.catalog import get_catalog
from assessments.catalog.loader import load_catalog_file
from assessments.risk.transfers import LAWFUL, NOT_ALLOWED, UNKNOWN, transfer_outcome, transfer_outcomes

V2 = get_catalog("social-media", 2)
V3_SHAPE = load_catalog_file(Path(__file__).parent / "fixtures" / "transfers-3.yaml")
P = "tiktok"


def answers(**values) -> dict:
    return {(key, P): value for key, value in values.items()}


@pytest.mark.parametrize("given, status, reason", [
    (dict(transfer_tool="dpf_adequacy", dpf_checked_on="2026-11-03"), LAWFUL, "dpf"),
    (dict(transfer_tool="adequacy_other"), LAWFUL, "adequacy"),
    # SCCs with technical supplementary measures and a written assessment of the destination's law.
    (dict(transfer_tool="scc", supplementary_measure_kinds=["technical", "organisational"],
          third_country_law="Lagen ger myndigheter åtkomst; nyckeln finns bara hos oss."), LAWFUL,
     "effective_measures"),
    # SCCs without supplementary measures: the platform reads the content in clear.
    (dict(transfer_tool="scc", supplementary_measure_kinds=["none"], third_country_law="Ja."), NOT_ALLOWED,
     "no_measures"),
    # SCCs with contractual and organisational measures only: they do not bind the third country's authorities.
    (dict(transfer_tool="bcr", supplementary_measure_kinds=["contractual", "organisational"],
          third_country_law="Ja."), NOT_ALLOWED, "measures_not_effective"),
    (dict(transfer_tool="scc", third_country_law="Ja."), UNKNOWN, "measures_not_assessed"),
    (dict(transfer_tool="scc", supplementary_measure_kinds=["technical"]), UNKNOWN, "law_not_assessed"),
    (dict(transfer_tool="derogation"), NOT_ALLOWED, "derogation"),
    (dict(transfer_tool="unknown"), UNKNOWN, "tool_unknown"),
    (dict(), UNKNOWN, "tool_unknown"),
])
def test_catalogue_2_transfer_outcomes(given, status, reason):
    outcome = transfer_outcome(V2, answers(**given), P)
    assert (outcome.status, outcome.reason) == (status, reason)
    assert outcome.platform == P and outcome.tool == given.get("transfer_tool")


@pytest.mark.parametrize("given, status, reason", [
    (dict(transfer_tool="dpf_adequacy"), LAWFUL, "dpf"),
    # EDPB step 3 finds nothing that impinges: the SCCs suffice without supplementary measures.
    (dict(transfer_tool="scc", transfer_law_impinges="no"), LAWFUL, "law_does_not_impinge"),
    (dict(transfer_tool="scc", transfer_law_impinges="yes", transfer_measures_effective="yes"), LAWFUL,
     "effective_measures"),
    (dict(transfer_tool="scc", transfer_law_impinges="yes", transfer_measures_effective="no"), NOT_ALLOWED,
     "measures_not_effective"),
    # Not knowing whether the law impinges counts as impinging: the exporter must show the protection.
    (dict(transfer_tool="bcr", transfer_law_impinges="unknown", transfer_measures_effective="unknown"),
     NOT_ALLOWED, "measures_not_effective"),
    (dict(transfer_tool="scc", transfer_law_impinges="yes"), UNKNOWN, "measures_not_assessed"),
    (dict(transfer_tool="scc"), UNKNOWN, "law_not_assessed"),
    # An answer left over from an earlier choice does not count once the question is no longer asked.
    (dict(transfer_tool="scc", transfer_law_impinges="no", transfer_measures_effective="no"), LAWFUL,
     "law_does_not_impinge"),
])
def test_structured_transfer_outcomes(given, status, reason):
    outcome = transfer_outcome(V3_SHAPE, answers(**given), P)
    assert (outcome.status, outcome.reason) == (status, reason)


def test_one_outcome_per_platform_in_the_assessments_order():
    given = {("transfer_tool", "facebook"): "dpf_adequacy", ("transfer_tool", "tiktok"): "scc",
             ("supplementary_measure_kinds", "tiktok"): ["none"], ("third_country_law", "tiktok"): "Kina."}
    outcomes = transfer_outcomes(V2, given, ["facebook", "tiktok", "x"])
    assert [(o.platform, o.status) for o in outcomes] == [("facebook", LAWFUL), ("tiktok", NOT_ALLOWED),
                                                          ("x", UNKNOWN)]


def test_a_catalogue_without_transfer_questions_gives_no_outcomes():
    catalog = load_catalog_file(Path(__file__).parent / "fixtures" / "no-transfers-1.yaml")
    assert transfer_outcomes(catalog, {}, ["facebook"]) == ()
