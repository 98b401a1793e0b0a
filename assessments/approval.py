"""What must hold before an assessment can be approved, who may approve it, and what the signer signs.

One place for the approval rules (docs/risk-method.md, "Approval"):
- ``approval_blockers``: the gates. Each names what is missing and where to fix it. The DPO's advice
  (Art. 35(2)) and the data subjects' views or why they were not sought (Art. 35(9)) are on record; no
  warning the catalogue marks "before approval" still applies; every active risk has a treatment decision
  that fits the conclusion; every platform's transfer tool is known; no section verdict "to correct"
  stands; no review comment is open.
- ``independence_problems``: four eyes. The approver is not the author, did not change an answer, a risk or
  its rating or a measure in this revision, and did not record the DPO's advice on the DPO's behalf.
- ``decision_summary``: what the sign page shows above the password field, from the same data the report
  prints.

Pure reading: nothing here changes the database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .answers import catalog_of, load_answers, screening, visible_slots
from .audit import as_utc
from .extensions import db
from .models import Answer, Assessment, AuditEvent, DpoAdvice, Measure, ReviewComment, Treatment, User, Verdict
from .review import data_subject_views_of, dpo_advice_of, latest_verdicts
from .risk import service as risk_service
from .risk.matrix import LEVEL_LABELS, Conclusion
from .risk.presenter import RiskView, present

# Audit actions by which someone changes what is approved: answers, risks and their ratings, measures.
# Recording a treatment decision, commenting, giving verdicts and accepting the residual risk are review.
EDITING_ACTIONS = ("created", "imported", "revision_created", "answer_changed", "risk_added",
                   "risk_rating_changed", "measure_saved")


@dataclass(frozen=True)
class Blocker:
    """One thing that stops approval, with the page (endpoint, values, anchor) where it is fixed."""

    message: str
    endpoint: str
    values: dict = field(default_factory=dict)
    anchor: str = ""


def _slot_anchor(key: str, platform: str) -> str:
    return f"q-{key}__{platform}" if platform else f"q-{key}"


def _naive_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment).replace(tzinfo=None)


def section_changed_at(assessment: Assessment) -> dict[str, datetime]:
    """When each section's answers last changed (UTC, naive), from the answers' own timestamps."""
    catalog = catalog_of(assessment)
    section_of = {q.key: s.key for s in catalog.sections for q in s.questions}
    changed: dict[str, datetime] = {}
    for key, moment in db.session.execute(
            select(Answer.question_key, func.max(Answer.updated_at)).where(Answer.assessment_id == assessment.id)
            .group_by(Answer.question_key)):
        section = section_of.get(key)
        when = _naive_utc(moment)
        if section and when and (section not in changed or when > changed[section]):
            changed[section] = when
    return changed


def approval_blockers(assessment: Assessment, *, answers: dict | None = None,
                      views: list[RiskView] | None = None, conclusion: Conclusion | None = None) -> list[Blocker]:
    """Everything that must be done before approval, each with where to do it. Empty: approval may go ahead."""
    aid = {"assessment_id": assessment.id}
    lang = assessment.language
    answers = load_answers(assessment) if answers is None else answers
    catalog = catalog_of(assessment)
    blockers: list[Blocker] = []

    advice = dpo_advice_of(assessment)
    if advice is None:
        blockers.append(Blocker(str(_l("The DPO's advice is not recorded (Art. 35(2)).")),
                                "review.consultation", aid))
    elif advice.followed is None:
        blockers.append(Blocker(str(_l("The organisation has not decided whether it follows the DPO's advice.")),
                                "review.consultation", aid))
    if data_subject_views_of(assessment) is None:
        blockers.append(Blocker(str(_l("The data subjects' views, or why they were not sought, are not recorded "
                                       "(Art. 35(9)).")), "review.consultation", aid))

    level = screening(assessment, answers).level
    public = assessment.organisation.is_public_body
    for section in catalog.sections:
        for slot in visible_slots(assessment, section, answers, level):
            value = answers.get(slot.key)
            if value in (None, "", []):
                continue
            for text in slot.question.blocking_warnings(value, public_body=public):
                name = assessment.platform_name(slot.platform, lang) if slot.platform else ""
                blockers.append(Blocker(
                    str(_l("To do before approval: %(text)s", text=text.get(lang) + (f" ({name})" if name else ""))),
                    "assessments.overview", aid, _slot_anchor(slot.question.key, slot.platform)))

    conclusion = risk_service.conclusion(assessment, answers=answers) if conclusion is None else conclusion
    for outcome in conclusion.transfers_unknown:
        blockers.append(Blocker(
            str(_l("%(platform)s: %(reason)s", platform=assessment.platform_name(outcome.platform, lang),
                   reason=outcome.reason_text)),
            "assessments.overview", aid, _slot_anchor("transfer_tool", outcome.platform)))
    stopped = {t.platform for t in conclusion.transfers_not_allowed}

    views = present(assessment, risk_service.risks_of(assessment)) if views is None else views
    for view in views:
        risk = view.risk
        if not risk.active:
            continue
        anchor = f"risk-{risk.id}"
        if risk.treatment is None:
            blockers.append(Blocker(str(_l("%(number)s %(title)s: decide how the risk is treated (reduce, avoid or "
                                           "accept).", number=view.number, title=view.title)),
                                    "risks.register", aid, anchor))
        elif risk.platform in stopped and risk.treatment is not Treatment.AVOID:
            blockers.append(Blocker(str(_l("%(number)s %(title)s: the transfer of this platform may not take place, "
                                           "so the risk can only be avoided.", number=view.number,
                                           title=view.title)), "risks.register", aid, anchor))
        elif risk.treatment is Treatment.REDUCE and not view.decided_measures:
            blockers.append(Blocker(str(_l("%(number)s %(title)s: to be reduced, but no decided measure is linked.",
                                           number=view.number, title=view.title)), "risks.register", aid, anchor))

    changed = section_changed_at(assessment)
    for key, verdict in latest_verdicts(assessment).items():
        if verdict.verdict is not Verdict.TO_CORRECT:
            continue
        try:
            title = catalog.section(key).title.get(lang)
        except KeyError:
            continue
        given = _naive_utc(verdict.created_at)
        if key in changed and given is not None and changed[key] > given:
            message = _l("%(section)s: marked \u201cto correct\u201d before the section last changed. Read it "
                         "again and give a new verdict.", section=title)
        else:
            message = _l("%(section)s: marked \u201cto correct\u201d.", section=title)
        blockers.append(Blocker(str(message), "assessments.overview", aid, f"s-{key}"))

    open_comments = db.session.execute(
        select(ReviewComment.id, ReviewComment.question_key, ReviewComment.platform)
        .where(ReviewComment.assessment_id == assessment.id, ReviewComment.parent_id.is_(None),
               ReviewComment.resolved_at.is_(None)).order_by(ReviewComment.id)).all()
    for _id, question_key, platform in open_comments:
        where = ""
        if question_key:
            try:
                where = catalog.question(question_key).text.get(lang) or question_key
            except KeyError:
                where = question_key
        blockers.append(Blocker(
            str(_l("An open review comment on \u201c%(question)s\u201d.", question=where) if where
                else _l("An open general review comment.")),
            "assessments.overview", aid, _slot_anchor(question_key, platform) if question_key else ""))
    return blockers


def editors_of(assessment: Assessment) -> set[int]:
    """Who changed answers, risks, ratings or measures of this revision (each revision is its own row)."""
    return {actor for (actor,) in db.session.execute(
        select(AuditEvent.actor_id).where(AuditEvent.assessment_id == assessment.id,
                                          AuditEvent.organisation_id == assessment.organisation_id,
                                          AuditEvent.action.in_(EDITING_ACTIONS),
                                          AuditEvent.actor_id.is_not(None)).distinct()) if actor is not None}


def independence_problems(assessment: Assessment, user: User) -> list[str]:
    """Why ``user`` may not approve this revision (four eyes). Empty: they may, as far as independence goes."""
    problems: list[str] = []
    if assessment.author_id == user.id:
        problems.append(str(_l("You are the author of this assessment.")))
    elif user.id in editors_of(assessment):
        problems.append(str(_l("You changed answers, risks, ratings or measures in this revision.")))
    advice = db.session.scalars(select(DpoAdvice).where(DpoAdvice.assessment_id == assessment.id)).first()
    if advice is not None and advice.on_behalf_of_dpo and advice.recorded_by_id == user.id:
        problems.append(str(_l("You recorded the DPO's advice on the DPO's behalf; the advice must come from "
                               "someone other than the approver.")))
    return problems


@dataclass(frozen=True)
class DecisionSummary:
    """What is being signed, as figures the signer confirms."""

    screening: object  # catalog.screening.ScreeningOutcome
    conclusion: Conclusion
    views: list[RiskView]
    accepted: list[RiskView]  # risks accepted, with who accepted them
    avoided: list[RiskView]
    open_measures: list[Measure]  # decided but not done
    advice: DpoAdvice | None
    needs_confirmation: bool  # prior consultation (a high residual risk), or a transfer that may not take place


def decision_summary(assessment: Assessment) -> DecisionSummary:
    answers = load_answers(assessment)
    risks = risk_service.risks_of(assessment)
    views = present(assessment, risks)
    conclusion = risk_service.conclusion(assessment, risks, answers)
    active = [v for v in views if v.risk.active]
    measures = risk_service.measures_of(assessment)
    return DecisionSummary(
        screening=screening(assessment, answers), conclusion=conclusion, views=views,
        accepted=[v for v in active if v.risk.treatment is Treatment.ACCEPT],
        avoided=[v for v in active if v.risk.treatment is Treatment.AVOID],
        open_measures=[m for m in measures if risk_service.is_decided(m) and m.status.value != "done"],
        advice=dpo_advice_of(assessment),
        needs_confirmation=bool(conclusion.prior_consultation_required or conclusion.transfers_not_allowed))


@dataclass(frozen=True)
class Attestations:
    """The signer's attestations (the CNIL PIA tool's four, 21 CFR Part 11 § 11.50: the meaning of a
    signature is stated), each naming the figures it confirms; ``conclusion`` only when one is needed."""

    context: str
    risks: str
    measures: str
    commitment: str
    conclusion: str | None

    def all(self) -> list[str]:
        return [t for t in (self.context, self.risks, self.measures, self.commitment, self.conclusion) if t]


def attestations(assessment: Assessment, summary: DecisionSummary) -> Attestations:
    """In the current locale (the sign page's, or the report's under ``force_locale``)."""
    lang = assessment.language
    platforms = ", ".join(assessment.platform_name(p, lang) for p in assessment.platforms)
    conclusion = summary.conclusion
    active = [v for v in summary.views if v.risk.active]
    measures = [m for m in risk_service.measures_of(assessment) if risk_service.is_decided(m)]
    confirm = None
    if conclusion.prior_consultation_required:
        confirm = ngettext(
            "I approve although %(num)s residual risk remains high: prior consultation with IMY is required, and "
            "the processing must not start or continue until IMY has answered (Art. 36).",
            "I approve although %(num)s residual risks remain high: prior consultation with IMY is required, and "
            "the processing must not start or continue until IMY has answered (Art. 36).",
            len(conclusion.high_risks))
    if conclusion.transfers_not_allowed:
        stopped = ", ".join(assessment.platform_name(t.platform, lang) for t in conclusion.transfers_not_allowed)
        text = gettext("I approve the conclusion that the transfer of %(platforms)s may not take place: their use "
                       "is stopped or paused, or continues without personal data.", platforms=stopped)
        confirm = f"{confirm} {text}" if confirm else text
    return Attestations(
        context=gettext("The context described matches reality (%(platforms)s).", platforms=platforms),
        risks=ngettext("I am aware of the %(num)s risk and of the overall residual risk: %(level)s.",
                       "I am aware of the %(num)s risks and of the overall residual risk: %(level)s.",
                       len(active), level=str(LEVEL_LABELS[conclusion.overall_level]).lower()),
        measures=ngettext("The %(num)s decided measure is ratified (%(open)s not yet done).",
                          "The %(num)s decided measures are ratified (%(open)s not yet done).",
                          len(measures), open=len(summary.open_measures)),
        commitment=gettext("The organisation commits to carry out the measures."),
        conclusion=confirm)
