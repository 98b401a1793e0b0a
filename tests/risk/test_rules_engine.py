"""The rule engine: conditions, per-platform evaluation, the answers behind a risk, and clear errors
for a malformed rules file. Inline rules against the real v2 catalogue; the shipped rules are tested in
test_rule_cases.py."""
import pytest

from assessments.catalog import get_catalog
from assessments.risk.rules import RiskRuleError, derive_risks, parse_rules

CATALOG = get_catalog("social-media", 2)
TEXT = {"sv": "x", "en": "x"}


def rule(key="r", when=None, per_platform=False, **extra):
    return {"key": key, "title": TEXT, "description": TEXT, "affected": TEXT, "source": TEXT,
            "per_platform": per_platform, "when": when or {"question": "two_factor", "equals": "no"},
            "inherent": {"likelihood": 3, "severity": 3}, "residual": {"likelihood": 2, "severity": 3}, **extra}


def rules(*items):
    return parse_rules({"catalogue": {"id": "social-media", "version": 2}, "rules": list(items)}, CATALOG,
                       "inline.yaml")


def keys(found):
    return {(d.rule.key, d.platform) for d in found}


def test_equals_triggers_and_names_the_answer():
    found = derive_risks(CATALOG, rules(rule()), {("two_factor", ""): "no"}, ["facebook"], public_body=True)
    assert keys(found) == {("r", "")}
    assert found[0].triggered_by == (("two_factor", ""),)
    assert derive_risks(CATALOG, rules(rule()), {("two_factor", ""): "yes"}, ["facebook"], public_body=True) == []


def test_unanswered_does_not_trigger_an_equals_rule_but_triggers_an_unanswered_one():
    assert derive_risks(CATALOG, rules(rule()), {}, [], public_body=True) == []
    unanswered = rule(when={"question": "two_factor", "unanswered": True})
    assert keys(derive_risks(CATALOG, rules(unanswered), {}, [], public_body=True)) == {("r", "")}


def test_per_platform_rule_yields_one_risk_per_platform_it_holds_for():
    r = rule(per_platform=True, when={"question": "transfer_tool", "any_of": ["scc", "unknown"]})
    answers = {("transfer_tool", "facebook"): "dpf_adequacy", ("transfer_tool", "tiktok"): "scc",
               ("transfer_tool", "x"): "unknown"}
    found = derive_risks(CATALOG, rules(r), answers, ["facebook", "tiktok", "x"], public_body=False)
    assert keys(found) == {("r", "tiktok"), ("r", "x")}
    assert dict((d.platform, d.triggered_by) for d in found)["tiktok"] == (("transfer_tool", "tiktok"),)


def test_all_any_not_and_public_body():
    r = rule(when={"all": [{"public_body": True},
                           {"any": [{"question": "two_factor", "equals": "no"},
                                    {"question": "data_subjects", "includes": "children"}]},
                           {"not": {"question": "data_subjects", "includes": "staff"}}]})
    parsed = rules(r)
    base = {("two_factor", ""): "no", ("data_subjects", ""): ["followers"]}
    assert keys(derive_risks(CATALOG, parsed, base, [], public_body=True)) == {("r", "")}
    assert derive_risks(CATALOG, parsed, base, [], public_body=False) == []
    with_staff = {**base, ("data_subjects", ""): ["followers", "staff"]}
    assert derive_risks(CATALOG, parsed, with_staff, [], public_body=True) == []
    children = {("two_factor", ""): "yes", ("data_subjects", ""): ["children"]}
    found = derive_risks(CATALOG, parsed, children, [], public_body=True)
    assert found and ("data_subjects", "") in found[0].triggered_by


def test_not_includes_needs_an_answer():
    r = rules(rule(when={"question": "data_subjects", "not_includes": "children"}))
    assert derive_risks(CATALOG, r, {}, [], public_body=True) == []
    assert derive_risks(CATALOG, r, {("data_subjects", ""): ["staff"]}, [], public_body=True)


@pytest.mark.parametrize("bad, fragment", [
    (rule(when={"question": "nope", "equals": "no"}), "unknown question 'nope'"),
    (rule(when={"question": "two_factor", "equals": "maybe"}), "options"),
    (rule(when={"question": "two_factor", "includes": "no"}), "multiple-choice"),
    (rule(when={"question": "transfer_tool", "equals": "scc"}), "per-platform question"),
    (rule(when={"question": "two_factor", "sometimes": "no"}), "unknown operator"),
    (rule(when={"all": []}), "non-empty list"),
    (rule(inherent={"likelihood": 5, "severity": 1}), "1–4"),
    (rule(title={"sv": "x"}), "sv and en"),
    (rule(colour="red"), "unknown keys"),
    (rule(key="bad key"), "key"),
])
def test_malformed_rules_are_refused_naming_the_file_and_rule(bad, fragment):
    with pytest.raises(RiskRuleError) as caught:
        rules(bad)
    assert "inline.yaml" in str(caught.value) and fragment in str(caught.value)


def test_duplicate_rule_keys_and_wrong_catalogue_are_refused():
    with pytest.raises(RiskRuleError, match="repeated"):
        rules(rule(), rule())
    with pytest.raises(RiskRuleError, match="written for"):
        parse_rules({"catalogue": {"id": "social-media", "version": 1}, "rules": []}, CATALOG, "inline.yaml")


def test_a_branch_that_fails_half_way_leaves_no_stray_reason():
    r = rules(rule(when={"any": [
        {"all": [{"question": "data_subjects", "includes": "staff"}, {"question": "two_factor", "equals": "yes"}]},
        {"question": "two_factor", "equals": "no"}]}))
    found = derive_risks(CATALOG, r, {("data_subjects", ""): ["staff"], ("two_factor", ""): "no"}, [],
                         public_body=True)
    assert found[0].triggered_by == (("two_factor", ""),)


def test_every_branch_that_holds_is_named():
    r = rules(rule(when={"any": [{"question": "two_factor", "equals": "no"},
                                 {"question": "data_subjects", "includes": "children"}]}))
    found = derive_risks(CATALOG, r, {("data_subjects", ""): ["children"], ("two_factor", ""): "no"}, [],
                         public_body=True)
    assert set(found[0].triggered_by) == {("two_factor", ""), ("data_subjects", "")}
