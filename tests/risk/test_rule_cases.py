"""The risk rules of catalogue version 2 (assessments/catalog/data/risk-rules/social-media-2.yaml), case by case.

For every rule: one set of answers that triggers it and a close set that does not (the one answer that
matters changed), run through ``derive_risks`` on the real catalogue and the real rules file. Then the
risk pictures of the three demo assessments. No database, no Flask app.

Answers are written as in a demo file: a per-platform answer is ``{platform: value}``, a global answer is
the value itself; ``to_answers`` turns that into the engine's ``{(question, platform): value}``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from assessments.catalog import get_catalog
from assessments.demo import ORGANISATIONS, load_demo_assessment
from assessments.risk.matrix import is_high
from assessments.risk.rules import derive_risks, load_risk_rules

CATALOG = get_catalog("social-media", 2)
RULES = load_risk_rules("social-media", 2)
UNANSWERED = None  # in a ``change``: remove the answer


def to_answers(answers: dict[str, Any]) -> dict[tuple[str, str], Any]:
    result: dict[tuple[str, str], Any] = {}
    for key, value in answers.items():
        if CATALOG.question(key).per_platform:
            for platform, item in value.items():
                result[(key, platform)] = item
        else:
            result[(key, "")] = value
    return result


def derive(answers: dict[str, Any], platforms, *, public_body: bool):
    return derive_risks(CATALOG, RULES, to_answers(answers), list(platforms), public_body=public_body)


@dataclass(frozen=True)
class Case:
    rule: str
    answers: dict[str, Any]          # answers that trigger the rule
    change: dict[str, Any]           # the one answer that matters, changed: then the rule does not hold
    triggered_by: frozenset          # {(question, platform)} that must be named as the trigger
    platforms: tuple[str, ...] = ("facebook",)
    platform: str = ""               # where the risk is expected; "" for a global rule
    public_body: bool = True

    def changed_answers(self) -> dict[str, Any]:
        answers = dict(self.answers)
        for key, value in self.change.items():
            if value is UNANSWERED:
                answers.pop(key, None)
            else:
                answers[key] = value
        return answers


def by(*pairs: tuple[str, str]) -> frozenset:
    return frozenset(pairs)


CASES = [
    # --- third-country transfers ---------------------------------------------------------------
    Case(rule="third_country_authority_access", platforms=("linkedin",), platform="linkedin",
         answers={"transfer_tool": {"linkedin": "scc"},
                  "supplementary_measure_kinds": {"linkedin": ["contractual", "organisational"]},
                  "third_country_law": {"linkedin": "USA: FISA 702 ger myndigheter åtkomst; se Schrems II."}},
         change={"transfer_tool": {"linkedin": "dpf_adequacy"}},
         triggered_by=by(("transfer_tool", "linkedin"), ("supplementary_measure_kinds", "linkedin"))),
    Case(rule="dpf_invalidation", platform="facebook",
         answers={"transfer_tool": {"facebook": "dpf_adequacy"},
                  "dpf_checked_on": {"facebook": "2026-11-03"},
                  "dpf_fallback": {"facebook": "Pausa sidstatistik och annonser, gör om bedömningen inom en månad."}},
         change={"transfer_tool": {"facebook": "scc"}},
         triggered_by=by(("transfer_tool", "facebook"))),
    Case(rule="remote_access_third_country", platforms=("tiktok",), platform="tiktok",
         answers={"transfer_tool": {"tiktok": "scc"},
                  "third_country_access": {"tiktok": "yes"},
                  "third_country_access_details": {"tiktok": "Åtkomst på distans från Kina enligt policyn."}},
         change={"third_country_access": {"tiktok": "no"}},
         triggered_by=by(("third_country_access", "tiktok"))),
    # --- tracking and profiling ----------------------------------------------------------------
    Case(rule="visitor_profiling", platforms=("instagram",), platform="instagram",
         answers={"monitoring_profiling": "yes", "platform_features": {"instagram": ["page_insights"]}},
         change={"platform_features": {"instagram": []}},
         triggered_by=by(("platform_features", "instagram"))),
    Case(rule="website_pixel_tracking", public_body=False,
         answers={"related_tools": ["scheduling", "pixel"], "pixel_review": "yes"},
         change={"related_tools": ["scheduling"]},
         triggered_by=by(("related_tools", ""))),
    Case(rule="systematic_monitoring_of_posts", public_body=False,
         answers={"systematic_monitoring": "yes", "related_tools": ["messaging"]},
         change={"systematic_monitoring": "no"},
         triggered_by=by(("systematic_monitoring", ""))),
    # --- joint controllership, information and rights ------------------------------------------
    Case(rule="joint_controllership_unclear", platforms=("facebook", "instagram"), platform="instagram",
         answers={"joint_controller_addendum": {"facebook": "yes", "instagram": "yes"},
                  "joint_controller_informed": {"facebook": "yes", "instagram": "no"}},
         change={"joint_controller_informed": {"facebook": "yes", "instagram": "yes"}},
         triggered_by=by(("joint_controller_informed", "instagram"))),
    Case(rule="visitors_not_informed",
         answers={"information_to_visitors": "no"},
         change={"information_to_visitors": "yes"},
         triggered_by=by(("information_to_visitors", ""))),
    Case(rule="rights_not_honoured",
         answers={"rights_requests": "Dataskyddsfunktionen svarar inom en månad.",
                  "objection_erasure_practice": "Vi döljer kommentaren och förklarar arkivreglerna.",
                  "rights_platform_forwarding": "no"},
         change={"rights_platform_forwarding": "yes"},
         triggered_by=by(("rights_platform_forwarding", ""))),
    Case(rule="platform_terms_change", platforms=("youtube",), platform="youtube",
         answers={"content_available_elsewhere": "yes", "prevents_rights_or_service": "no",
                  "transfer_tool": {"youtube": "dpf_adequacy"}, "dpf_checked_on": {"youtube": "2026-11-01"}},
         change={"dpf_fallback": {"youtube": "Vi avpublicerar kanalen och visar filmerna på webbplatsen."}},
         triggered_by=by(("transfer_tool", "youtube"), ("dpf_fallback", "youtube"))),
    # --- photos and film ----------------------------------------------------------------------
    Case(rule="children_or_protected_identity_in_images",
         answers={"image_subjects": ["staff", "children"], "image_legal_basis": "public_task_6_1_e",
                  "image_guardians_asked": "no", "image_protected_checked": "yes"},
         change={"image_guardians_asked": "yes"},
         triggered_by=by(("image_subjects", ""), ("image_guardians_asked", ""))),
    Case(rule="invalid_legal_basis",  # staff photos on employees' consent at a public body
         answers={"image_subjects": ["staff"], "image_legal_basis": "consent_6_1_a",
                  "legal_basis": "public_task_6_1_e"},
         change={"image_legal_basis": "public_task_6_1_e"},
         triggered_by=by(("image_legal_basis", ""))),
    Case(rule="images_reveal_sensitive_data",
         answers={"image_subjects": ["staff", "patients"], "image_legal_basis": "public_task_6_1_e",
                  "image_special_categories": "yes", "faces_needed_assessed": "no"},
         change={"faces_needed_assessed": "yes"},
         triggered_by=by(("image_special_categories", ""), ("faces_needed_assessed", ""))),
    Case(rule="livestream_exposure", platform="facebook",
         answers={"platform_features": {"facebook": ["page_insights", "livestream"]}},
         change={"platform_features": {"facebook": ["page_insights"]}},
         triggered_by=by(("platform_features", "facebook"))),
    # --- comments, messages and official documents ---------------------------------------------
    Case(rule="sensitive_data_in_comments",
         answers={"sensitive_data": "yes", "data_categories": ["comments", "health_or_sensitive"],
                  "moderation_routine": "Vardagar 8–17."},
         change={"sensitive_in_comments_routine": "Döljs samma dag; vi hänvisar till e-tjänsten."},
         triggered_by=by(("sensitive_data", ""), ("sensitive_in_comments_routine", ""))),
    Case(rule="sensitive_data_in_messages", platform="facebook", public_body=False,
         answers={"platform_features": {"facebook": ["messages"]}, "data_categories": ["messages", "financial"],
                  "sensitive_in_comments_routine": "Hänvisning till internetbanken."},
         change={"platform_features": {"facebook": []}},
         triggered_by=by(("platform_features", "facebook"), ("data_categories", ""))),
    Case(rule="unlawful_content_unsupervised",
         answers={"moderation_routine": "Vardagar 8–17.", "bbs_supervision": "no"},
         change={"bbs_supervision": "yes"},
         triggered_by=by(("bbs_supervision", ""))),
    Case(rule="official_documents_lost",
         answers={"official_documents_handling": "treated_as_official", "archiving_frequency": "none",
                  "disposal_decision": "decision_in_place", "registration": "registered"},
         change={"archiving_frequency": "twice_a_year"},
         triggered_by=by(("archiving_frequency", ""))),
    # --- security -----------------------------------------------------------------------------
    Case(rule="account_takeover",
         answers={"two_factor": "no"},
         change={"two_factor": "yes"},
         triggered_by=by(("two_factor", ""))),
    Case(rule="former_staff_access",
         answers={"access_list": "no", "offboarding": "Chefen tar bort behörigheten samma dag."},
         change={"access_list": "yes"},
         triggered_by=by(("access_list", ""))),
    # --- scale --------------------------------------------------------------------------------
    Case(rule="large_scale_amplification",
         answers={"large_scale": "yes"},
         change={"large_scale": "no"},
         triggered_by=by(("large_scale", ""))),
]


def risk_map(answers, platforms, public_body):
    return {(r.rule.key, r.platform): r for r in derive(answers, platforms, public_body=public_body)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.rule}-triggers")
def test_rule_triggers(case: Case):
    found = risk_map(case.answers, case.platforms, case.public_body)
    risk = found.get((case.rule, case.platform))
    assert risk is not None, f"{case.rule} not derived; got {sorted(found)}"
    named = set(risk.triggered_by)
    assert case.triggered_by <= named, named
    # Nothing else is named than answers the case gives or the expected unanswered questions.
    assert {k for k, _p in named} <= set(case.answers) | {k for k, _p in case.triggered_by}, named


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.rule}-does_not_trigger")
def test_rule_does_not_trigger(case: Case):
    found = risk_map(case.changed_answers(), case.platforms, case.public_body)
    assert (case.rule, case.platform) not in found


def test_every_rule_has_cases():
    rule_keys = {rule.key for rule in RULES}
    case_keys = [case.rule for case in CASES]
    assert rule_keys, "no rules loaded from risk-rules/social-media-2.yaml"
    assert sorted(rule_keys - set(case_keys)) == [], "rules without test cases"
    assert sorted(set(case_keys) - rule_keys) == [], "cases for rules that do not exist"
    assert len(case_keys) == len(set(case_keys)), "one case per rule"
    per_platform = {rule.key: rule.per_platform for rule in RULES}
    for case in CASES:
        assert bool(case.platform) is per_platform[case.rule], case.rule
        assert len(case.change) == 1, f"{case.rule}: change exactly one answer"


def test_ratings_and_measures_are_sensible():
    for rule in RULES:
        assert rule.residual.likelihood <= rule.inherent.likelihood, rule.key
        assert rule.residual.severity <= rule.inherent.severity, rule.key
        assert 1 <= len(rule.measures) <= 3, rule.key
        assert rule.refs, rule.key
    # A high proposed residual risk (the published policy, docs/risk-method.md) only where measures cannot
    # reduce it: the platform needs the content in clear (EDPB Rec. 01/2020, use cases 6 and 7), and a
    # protected identity revealed in a picture stays a maximal harm that remains possible.
    high = {r.key for r in RULES if is_high(r.residual.likelihood, r.residual.severity)}
    assert high == {"third_country_authority_access", "children_or_protected_identity_in_images"}


# --- details that one case per rule does not show ------------------------------------------------

def test_per_platform_rule_holds_only_for_the_platform_whose_answer_matters():
    case = next(c for c in CASES if c.rule == "joint_controllership_unclear")
    found = risk_map(case.answers, case.platforms, case.public_body)
    assert ("joint_controllership_unclear", "instagram") in found
    assert ("joint_controllership_unclear", "facebook") not in found


def test_legitimate_interest_for_images_is_a_risk_only_for_public_bodies():
    answers = {"image_subjects": ["staff", "members_of_public"], "image_legal_basis": "legitimate_interest_6_1_f",
               "legal_basis": "legitimate_interest_6_1_f"}
    assert ("invalid_legal_basis", "") in risk_map(answers, ["facebook"], True)
    assert ("invalid_legal_basis", "") not in risk_map(answers, ["facebook"], False)


def test_official_documents_risk_only_for_public_bodies():
    case = next(c for c in CASES if c.rule == "official_documents_lost")
    assert ("official_documents_lost", "") not in risk_map(case.answers, case.platforms, public_body=False)


def test_an_unknown_transfer_tool_is_not_rated_as_a_risk():
    """It is a gap in the documentation that blocks approval (risk.transfers), not a risk rating."""
    case = next(c for c in CASES if c.rule == "third_country_authority_access")
    answers = {**case.answers, "transfer_tool": {"linkedin": "unknown"}}
    assert ("third_country_authority_access", "linkedin") not in risk_map(answers, case.platforms, True)


def test_measures_that_ticked_technical_and_assessed_the_law_do_not_trigger_authority_access():
    case = next(c for c in CASES if c.rule == "third_country_authority_access")
    answers = {**case.answers, "supplementary_measure_kinds": {"linkedin": ["technical", "contractual"]}}
    assert ("third_country_authority_access", "linkedin") not in risk_map(answers, case.platforms, True)
    answers.pop("third_country_law")  # step 3 not done: the risk stands whatever the measures
    assert ("third_country_authority_access", "linkedin") in risk_map(answers, case.platforms, True)


def test_a_question_that_is_not_asked_counts_as_unanswered():
    # No children in the pictures: a stale "no" to the guardians question is not a trigger.
    answers = {"image_subjects": ["staff"], "image_legal_basis": "public_task_6_1_e",
               "image_guardians_asked": "no", "image_protected_checked": "yes"}
    assert ("children_or_protected_identity_in_images", "") not in risk_map(answers, ["facebook"], True)


# --- the demo assessments -----------------------------------------------------------------------

PUBLIC_BODY = {slug: public for slug, _name, _domain, public in ORGANISATIONS}


def demo_risks(name: str) -> dict[tuple[str, str], Any]:
    spec = load_demo_assessment(name)
    return risk_map(spec["answers"], spec["platforms"], PUBLIC_BODY[spec["organisation"]])


def test_exempelkommun_2fa_on_uninformed_instagram_visitors_and_care_pictures():
    risks = demo_risks("exempelkommun-2")
    # Two-factor authentication switched on (no account-takeover risk), but access_list "no": lingering access.
    assert ("account_takeover", "") not in risks
    assert ("former_staff_access", "") in risks
    # Visitors informed on Facebook but not on Instagram (Art. 26(2)).
    assert risks[("joint_controllership_unclear", "instagram")].triggered_by == (("joint_controller_informed",
                                                                                  "instagram"),)
    assert ("joint_controllership_unclear", "facebook") not in risks
    # Elderly-care pictures that may reveal health, faces not assessed.
    assert ("images_reveal_sensitive_data", "") in risks
    # Messages are not registered under a routine: an official-documents risk for a public body.
    assert ("registration", "") in risks[("official_documents_lost", "")].triggered_by
    # Does not know how to forward requests about the platform's own data.
    assert ("rights_not_honoured", "") in risks
    # DPF on both platforms; statistics and ads on both; messages (with health data) only on Facebook.
    for platform in ("facebook", "instagram"):
        assert ("dpf_invalidation", platform) in risks
        assert ("visitor_profiling", platform) in risks
    assert ("sensitive_data_in_messages", "facebook") in risks
    assert ("sensitive_data_in_messages", "instagram") not in risks
    # Fewer than 10,000 followers, DPF rather than SCCs, a routine for sensitive comments.
    for absent in ("large_scale_amplification", "sensitive_data_in_comments", "invalid_legal_basis"):
        assert (absent, "") not in risks
    assert not any(key == "third_country_authority_access" for key, _p in risks)


def test_regionexempel_large_scale_health_page_with_livestreams_and_sound_routines():
    risks = demo_risks("regionexempel-2")
    # 58,000 followers and health in comments and messages.
    assert ("large_scale_amplification", "") in risks
    assert ("data_categories", "") in risks[("sensitive_data_in_messages", "facebook")].triggered_by
    # Livestreamed press conferences.
    assert ("livestream_exposure", "facebook") in risks
    assert ("dpf_invalidation", "facebook") in risks
    # 2FA and access list in place, archived monthly, registered, visitors informed, routine for
    # sensitive comments, requests forwarded to Meta, no patients in pictures.
    for absent in ("account_takeover", "former_staff_access", "official_documents_lost",
                   "sensitive_data_in_comments", "rights_not_honoured", "images_reveal_sensitive_data",
                   "visitors_not_informed"):
        assert (absent, "") not in risks
    assert ("joint_controllership_unclear", "facebook") not in risks


def test_exempelbanken_company_with_financial_messages_and_social_listening_has_no_official_documents_risk():
    risks = demo_risks("exempelbanken-2")
    # Customers write about their finances in messages.
    messages = risks[("sensitive_data_in_messages", "facebook")]
    assert ("data_categories", "") in messages.triggered_by
    # Social listening and logged conversations; more than 100,000 followers.
    assert ("systematic_monitoring_of_posts", "") in risks
    assert ("large_scale_amplification", "") in risks
    # Not a public body: no official-documents risk, and legitimate interest is open to a company.
    assert ("official_documents_lost", "") not in risks
    assert ("invalid_legal_basis", "") not in risks
    # 2FA, access list, a livestream-free page.
    for absent in ("account_takeover", "former_staff_access"):
        assert (absent, "") not in risks
    assert ("livestream_exposure", "facebook") not in risks


def test_the_three_demo_risk_pictures_differ():
    pictures = {name: frozenset(demo_risks(name)) for name in ("exempelkommun-2", "regionexempel-2",
                                                               "exempelbanken-2")}
    assert all(pictures.values())
    assert len(set(pictures.values())) == 3, pictures
