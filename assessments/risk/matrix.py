"""The 4 × 4 matrix and the conclusion (CNIL scales, domain.md §3; GDPR Art. 35(7)(c), Art. 36).

Pure functions: the web page, the PDF and the tests all place risks with the same code.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Protocol

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


def is_high(likelihood: int, severity: int) -> bool:
    """domain.md §3 (IMY): a residual risk with likelihood ≥ 3 and severity ≥ 3 is high."""
    return likelihood >= 3 and severity >= 3


def level(likelihood: int, severity: int) -> str:
    if is_high(likelihood, severity):
        return "high"
    if likelihood >= 3 or severity >= 3:
        return "medium"
    return "low"


def cells(risks: Iterable[Rated], stage: str) -> dict[tuple[int, int], list]:
    """Risks by (likelihood, severity) for the inherent or residual matrix."""
    placed: dict[tuple[int, int], list] = {(l, s): [] for l in SCALE for s in SCALE}
    for risk in risks:
        placed[(getattr(risk, f"{stage}_likelihood"), getattr(risk, f"{stage}_severity"))].append(risk)
    return placed


@dataclass(frozen=True)
class Conclusion:
    overall_level: str  # low | medium | high | none
    prior_consultation_required: bool
    high_risks: tuple
    depends_on_dpf: bool
    review_due: date


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def conclude(risks: Iterable[Rated], *, depends_on_dpf: bool, start: date, review_due: date | None = None
             ) -> Conclusion:
    active = [r for r in risks if r.active]
    high = tuple(r for r in active if is_high(r.residual_likelihood, r.residual_severity))
    overall = max((level(r.residual_likelihood, r.residual_severity) for r in active),
                  key=LEVEL_ORDER.__getitem__, default="none")
    default_due = add_months(start, REVIEW_MONTHS_WHEN_DPF if depends_on_dpf else REVIEW_MONTHS)
    return Conclusion(overall_level=overall,
                      # Art. 36(1): a high residual risk that the measures do not reduce needs prior
                      # consultation with IMY before the processing starts.
                      prior_consultation_required=bool(high), high_risks=high,
                      depends_on_dpf=depends_on_dpf, review_due=review_due or default_due)
