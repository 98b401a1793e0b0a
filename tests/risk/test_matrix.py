"""Matrix placement and the conclusion logic (docs/risk-method.md; GDPR Art. 36)."""
from dataclasses import dataclass
from datetime import date

import pytest

from assessments.risk.matrix import HIGH_CELLS, add_months, cells, conclude, is_high, level
from assessments.risk.transfers import TransferOutcome


@dataclass
class R:
    inherent_likelihood: int
    inherent_severity: int
    residual_likelihood: int
    residual_severity: int
    active: bool = True
    platform: str = ""
    treatment: str | None = None


# Every cell of the matrix, with the boundary cells of the policy spelled out: high when likelihood and
# severity are both at least 3, or when severity is maximal (4) and likelihood at least 2.
@pytest.mark.parametrize("likelihood, severity, expected", [
    (3, 3, "high"), (4, 4, "high"), (3, 4, "high"), (4, 3, "high"),
    (2, 4, "high"),  # maximal severity: high from "seems difficult" on (CNIL; WP248's irreversible harm)
    (1, 4, "medium"),  # maximal severity that does not seem possible: not high
    (2, 3, "medium"), (3, 2, "medium"), (4, 2, "medium"), (4, 1, "medium"), (3, 1, "medium"), (1, 3, "medium"),
    (2, 2, "low"), (1, 1, "low"), (1, 2, "low"), (2, 1, "low"),
])
def test_levels_follow_the_published_policy(likelihood, severity, expected):
    assert level(likelihood, severity) == expected
    assert is_high(likelihood, severity) is (expected == "high")


def test_the_high_cells_are_exactly_those_the_policy_names():
    assert HIGH_CELLS == {(3, 3), (3, 4), (4, 3), (4, 4), (2, 4)}


def test_risks_are_placed_in_the_cell_of_their_stage():
    a, b = R(4, 3, 2, 2), R(4, 3, 1, 4)
    inherent, residual = cells([a, b], "inherent"), cells([a, b], "residual")
    assert inherent[(4, 3)] == [a, b] and sum(map(len, inherent.values())) == 2
    assert residual[(2, 2)] == [a] and residual[(1, 4)] == [b]
    assert len(residual) == 16


START = date(2026, 11, 21)


@pytest.mark.parametrize("residual, required", [((3, 3), True), ((2, 4), True), ((1, 4), False), ((4, 2), False),
                                                ((2, 3), False), ((2, 2), False)])
def test_prior_consultation_boundary(residual, required):
    result = conclude([R(4, 4, *residual), R(2, 2, 1, 1)], depends_on_dpf=False, start=START)
    assert result.prior_consultation_required is required
    assert result.overall_level == level(*residual)


def test_an_inactive_risk_does_not_count():
    result = conclude([R(4, 4, 4, 4, active=False), R(2, 2, 1, 2)], depends_on_dpf=False, start=START)
    assert not result.prior_consultation_required and result.overall_level == "low"


def test_no_risks_gives_no_level_and_no_consultation():
    result = conclude([], depends_on_dpf=False, start=START)
    assert result.overall_level == "none" and not result.prior_consultation_required


def test_review_in_twelve_months_or_six_when_the_dpf_is_relied_on():
    assert conclude([], depends_on_dpf=False, start=START).review_due == date(2027, 11, 21)
    assert conclude([], depends_on_dpf=True, start=START).review_due == date(2027, 5, 21)
    assert conclude([], depends_on_dpf=True, start=START, review_due=date(2027, 1, 1)).review_due == date(2027, 1, 1)


def test_add_months_clamps_to_month_end():
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_an_avoided_risk_does_not_remain_and_needs_no_prior_consultation():
    result = conclude([R(4, 4, 4, 4, treatment="avoid"), R(2, 2, 1, 2)], depends_on_dpf=False, start=START)
    assert not result.prior_consultation_required and result.overall_level == "low"
    accepted = conclude([R(4, 4, 4, 4, treatment="accept")], depends_on_dpf=False, start=START)
    assert accepted.prior_consultation_required and accepted.overall_level == "high"


def test_a_platform_whose_transfer_may_not_take_place_is_stopped_not_consulted_on():
    stopped = TransferOutcome("tiktok", "not_allowed", "scc", "no_measures")
    lawful = TransferOutcome("facebook", "lawful", "dpf_adequacy", "dpf")
    risks = [R(3, 3, 3, 3, platform="tiktok"), R(3, 2, 2, 2, platform="facebook")]
    result = conclude(risks, depends_on_dpf=True, start=START, transfers=(stopped, lawful))
    assert not result.prior_consultation_required and result.high_risks == ()
    assert result.transfers_not_allowed == (stopped,) and result.transfers_unknown == ()
    assert result.overall_level == "low"
    # The same high risk on a platform whose transfer is lawful is what Art. 36 is for.
    result = conclude([R(3, 3, 3, 3, platform="facebook")], depends_on_dpf=True, start=START,
                      transfers=(stopped, lawful))
    assert result.prior_consultation_required and len(result.high_risks) == 1
