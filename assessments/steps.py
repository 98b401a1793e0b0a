"""The step list the author works through: every catalogue section, the consultation record, and the risk
register before submission, each with what is still open in it.

A section is complete when its required questions are answered and nothing is open in it: no unresolved
review comment and no "to correct" verdict (corrections.py). The consultation step is complete when its
record is (review.py): the data subjects' views, the DPO's advice and the organisation's decision on it;
the DPO usually advises during the review, so an incomplete consultation never holds up submission. The
risk step is complete when every risk that applies has a treatment decision (approval.approval_blockers
holds approval to the same).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext, ngettext
from sqlalchemy import func, select

from . import review
from .answers import RECORDED_SECTIONS, SectionProgress, progress
from .corrections import Corrections, corrections
from .extensions import db
from .models import Assessment, Risk

RISKS_STEP = "risks"


@dataclass(frozen=True)
class Step:
    key: str  # the section key, or RISKS_STEP
    title: str  # in the assessment's language
    endpoint: str
    values: dict[str, Any] = field(default_factory=dict)
    complete: bool = False
    state: str = ""  # what is open, in the interface language
    open_items: int = 0


def steps_of(assessment: Assessment, answers: dict, level: str, found: Corrections | None = None) -> list[Step]:
    """The step list of ``assessment`` with these answers (and their screening ``level``)."""
    undecided = db.session.scalar(select(func.count()).select_from(Risk).where(
        Risk.assessment_id == assessment.id, Risk.active.is_(True), Risk.treatment.is_(None))) or 0
    return step_list(assessment, answers, level, found or corrections(assessment), undecided)


def step_list(assessment: Assessment, answers: dict, level: str, found: Corrections, undecided: int) -> list[Step]:
    """``undecided``: how many risks that apply have no treatment decision yet."""
    lang = assessment.language
    ids = {"assessment_id": assessment.id}
    steps = []
    for p in progress(assessment, answers, level):
        values = {**ids, "section_key": p.section.key}
        title = p.section.title.get(lang)
        if p.section.key in RECORDED_SECTIONS:
            complete, state = _consultation_state(assessment)
            steps.append(Step(p.section.key, title, "assessments.step", values, complete, state))
            continue
        open_items = found.open_in(p.section.key)
        steps.append(Step(p.section.key, title, "assessments.step", values,
                          p.complete and not open_items, _section_state(p, open_items), open_items))
    steps.append(Step(RISKS_STEP, gettext("Risks, measures and conclusion"), "risks.register", ids,
                      undecided == 0,
                      gettext("complete") if undecided == 0 else
                      ngettext("%(num)d risk without a decision", "%(num)d risks without a decision", undecided)))
    return steps


def _section_state(p: SectionProgress, open_items: int) -> str:
    parts = []
    if p.missing:
        parts.append(ngettext("%(num)d question left", "%(num)d questions left", len(p.missing)))
    if open_items:
        parts.append(ngettext("%(num)d item to correct", "%(num)d items to correct", open_items))
    return ", ".join(parts) if parts else gettext("complete")


def _consultation_state(assessment: Assessment) -> tuple[bool, str]:
    advice, views = review.dpo_advice_of(assessment), review.data_subject_views_of(assessment)
    missing = []
    if views is None:
        missing.append(gettext("the data subjects' views"))
    if advice is None:
        missing.append(gettext("the DPO's advice"))
    elif advice.followed is None:
        missing.append(gettext("the decision on the DPO's advice"))
    if not missing:
        return True, gettext("complete")
    return False, gettext("not recorded yet: %(what)s", what=", ".join(missing))
