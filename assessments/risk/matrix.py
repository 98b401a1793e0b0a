"""The 4 × 4 matrix and the conclusion (CNIL scales; GDPR Art. 35(7)(c), Art. 36; docs/risk-method.md).

Pure functions: the web page, the PDF and the tests all place risks with the same code.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from flask_babel import lazy_gettext as _l

SCALE = (1, 2, 3, 4)
SCALE_LABELS = {1: _l("Negligible"), 2: _l("Limited"), 3: _l("Significant"), 4: _l("Maximum")}
SEVERITY_MEANING = {
    1: _l("Minor inconvenience, easily overcome"),
    2: _l("Significant inconvenience, overcome with some difficulty"),
    3: _l("Serious consequences, overcome with real difficulty"),
    4: _l("Irreversible consequences, may not be overcome"),
}
LIKELIHOOD_MEANING = {
    1: _l("Does not seem possible"),
    2: _l("Seems difficult"),
    3: _l("Seems possible"),
    4: _l("Seems extremely easy"),
}
LEVEL_LABELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High"), "none": _l("No risks recorded")}
LEVEL_ORDER = {"none": 0, "low": 1, "medium": 2, "high": 3}
REVIEW_MONTHS = 12
REVIEW_MONTHS_WHEN_DPF = 6  # the EU–US framework is under challenge (C-703/25 P): look again sooner


class Rated(Protocol):
    residual_likelihood: int
    residual_severity: int
    inherent_likelihood: int
    inherent_severity: int
    active: bool


# Which cells of the matrix are *high* is the organisation's policy, so it is data: one place, printed in
# the report (``HIGH_POLICY``) and used by the register, the heat maps, the conclusion and the PDF alike.
# CNIL's risk map treats high severity as decisive: a risk of maximal, irreversible consequences must be
# reduced even when it seems difficult to happen; WP248 names irreversible consequences as examples of a
# high residual risk (docs/risk-method.md).
HIGH_CELLS: frozenset[tuple[int, int]] = frozenset(
    (likelihood, severity) for likelihood in SCALE for severity in SCALE
    if (likelihood >= 3 and severity >= 3) or (severity == 4 and likelihood >= 2))
HIGH_POLICY = _l("High: likelihood at least 3 (Significant) and severity at least 3 (Significant), or severity "
                 "4 (Maximum) and likelihood at least 2 (Limited).")


def is_high(likelihood: int, severity: int) -> bool:
    """A cell of ``HIGH_CELLS``: the residual risks Art. 36 is about, and those a reviewer must see first."""
    return (likelihood, severity) in HIGH_CELLS


def level(likelihood: int, severity: int) -> str:
    """low, medium or high; medium is any other cell with likelihood or severity of at least 3."""
    if is_high(likelihood, severity):
        return "high"
    if likelihood >= 3 or severity >= 3:
        return "medium"
    return "low"


def cells(risks: Iterable[Rated], stage: str) -> dict[tuple[int, int], list]:
    """Risks by (likelihood, severity) for the inherent or residual matrix."""
    placed: dict[tuple[int, int], list] = {(likelihood, s): [] for likelihood in SCALE for s in SCALE}
    for risk in risks:
        placed[(getattr(risk, f"{stage}_likelihood"), getattr(risk, f"{stage}_severity"))].append(risk)
    return placed


@dataclass(frozen=True)
class Conclusion:
    overall_level: str  # low | medium | high | none
    prior_consultation_required: bool
    high_risks: tuple  # remaining risks whose residual rating is high: they make Art. 36 necessary
    depends_on_dpf: bool
    review_due: date
    transfers: tuple = ()  # risk.transfers.TransferOutcome per platform

    @property
    def transfers_not_allowed(self) -> tuple:
        return tuple(t for t in self.transfers if t.status == "not_allowed")

    @property
    def transfers_unknown(self) -> tuple:
        return tuple(t for t in self.transfers if t.status == "unknown")


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def remains(risk: Rated, stopped_platforms: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether an active risk remains after the decisions: a risk the organisation avoids (it stops what
    causes it) does not, nor does any risk of a platform whose transfer may not take place, since that
    platform is to be stopped or used without personal data."""
    return (risk.active and getattr(risk, "treatment", None) != "avoid"
            and getattr(risk, "platform", "") not in stopped_platforms)


def conclude(risks: Iterable[Rated], *, depends_on_dpf: bool, start: date, review_due: date | None = None,
             transfers: tuple = ()) -> Conclusion:
    stopped = {t.platform for t in transfers if t.status == "not_allowed"}
    remaining = [r for r in risks if remains(r, stopped)]
    # Art. 36(1) is for lawful processing whose residual risk stays high; it cannot make an unlawful
    # transfer lawful (Art. 36(2), Art. 44; Schrems II), so stopped platforms are not consulted on.
    high = tuple(r for r in remaining if is_high(r.residual_likelihood, r.residual_severity))
    overall = max((level(r.residual_likelihood, r.residual_severity) for r in remaining),
                  key=LEVEL_ORDER.__getitem__, default="none")
    default_due = add_months(start, REVIEW_MONTHS_WHEN_DPF if depends_on_dpf else REVIEW_MONTHS)
    return Conclusion(overall_level=overall, prior_consultation_required=bool(high), high_risks=high,
                      depends_on_dpf=depends_on_dpf, review_due=review_due or default_due,
                      transfers=tuple(transfers))
