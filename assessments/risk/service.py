"""Risk operations: derive from answers, rate with justification, measures, treatment decisions,
acceptance of residual risk.

The rule this module keeps (docs/risk-method.md): a residual rating may be lower than the inherent one
only while at least one *decided* measure is linked to the risk — status planned, in progress or done,
with an owner and a due date. A risk rule only *proposes* a lower residual rating together with the
measures that justify it; the proposal becomes the rating when someone adopts it with such measures.
Whenever the last decided measure goes (unlinked or cancelled), the residual rating is set back to the
inherent one and the rating history says why.

Services flush and audit, never commit (the request boundary does).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from .. import audit, csvfile, policy
from ..answers import catalog_of, load_answers
from ..errors import Forbidden, Invalid
from ..extensions import db
from ..limits import (
    AFFECTED_MAX,
    MEASURE_DESCRIPTION_MAX,
    MEASURE_TITLE_MAX,
    OWNER_MAX,
    REASON_MAX,
    RISK_DESCRIPTION_MAX,
    RISK_TITLE_MAX,
    SOURCE_MAX,
    TOO_LONG,
    require_within,
)
from ..models import Assessment, Measure, MeasureStatus, Risk, RiskRatingChange, Treatment, User, utcnow
from ..plaintext import require_plain_text
from ..reassessment.legal import dpf_invalid_on
from ..report.identity import local_time
from .matrix import SCALE, Conclusion, conclude
from .rules import RiskRule, derive_risks, load_risk_rules, rule_inputs_of
from .transfers import NOT_ALLOWED, transfer_outcomes

RATING_FIELDS = ("inherent_likelihood", "inherent_severity", "residual_likelihood", "residual_severity")
DECIDED_STATUSES = frozenset({MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS, MeasureStatus.DONE})


def _require(user: User, assessment: Assessment) -> None:
    if not policy.can_manage_risks(user, assessment):
        raise Forbidden(_l("You cannot change the risks of this assessment now."))


def risks_of(assessment: Assessment) -> list[Risk]:
    """The assessment's risks in register order (by R-number), with their measures."""
    return list(db.session.scalars(select(Risk).where(Risk.assessment_id == assessment.id)
                                   .options(selectinload(Risk.measures), joinedload(Risk.treatment_by))
                                   .order_by(Risk.number)))


def is_decided(measure: Measure) -> bool:
    """A measure the organisation has decided on: not cancelled, with an owner and a due date."""
    return measure.status in DECIDED_STATUSES and bool((measure.owner or "").strip()) and measure.due_date is not None


def decided_measures(risk: Risk) -> list[Measure]:
    return [m for m in risk.measures if is_decided(m)]


def lowered(risk: Risk) -> bool:
    """Whether the residual rating is below the inherent one in likelihood or severity."""
    return (risk.residual_likelihood < risk.inherent_likelihood
            or risk.residual_severity < risk.inherent_severity)


def next_number(assessment: Assessment) -> int:
    """The next free R-number: numbers are never reused, also not those of risks that stopped applying.
    Called with the assessment's row locked (a step save holds it; the other callers take it here), so two
    requests cannot take the same number; the unique (assessment_id, number) constraint is the last guard."""
    db.session.execute(select(Assessment.id).where(Assessment.id == assessment.id).with_for_update())
    return (db.session.scalar(select(func.max(Risk.number)).where(Risk.assessment_id == assessment.id)) or 0) + 1


def _in_language(assessment: Assessment, message) -> str:
    """A text the tool writes into the record (rating history, PDF) is in the assessment's language."""
    with force_locale(assessment.language):
        return str(message)


def _record_rating(risk: Risk, assessment: Assessment, actor: User | None, field: str, value: int,
                   justification: str) -> None:
    db.session.add(RiskRatingChange(risk_id=risk.id, field=field, old=getattr(risk, field), new=value,
                                    justification=justification, changed_by_id=actor.id if actor else None))
    audit.record(assessment.organisation_id, "risk_rating_changed", actor=actor, assessment_id=assessment.id,
                 risk=risk.id, field=field, old=getattr(risk, field), new=value, justification=justification)
    setattr(risk, field, value)


def follow_measures(risk: Risk, assessment: Assessment, actor: User | None, why) -> bool:
    """Put the residual rating back to the inherent one (and withdraw a "reduce" decision) when no decided
    measure is left to justify it. ``why`` names what happened, for the rating history. True if changed."""
    if decided_measures(risk):
        return False
    changed = False
    if lowered(risk):
        reason = _in_language(assessment, _l("%(why)s No decided measure (with an owner and a due date) is "
                                             "linked to the risk any more, so the residual rating equals the "
                                             "inherent one.", why=_in_language(assessment, why)))
        for field in ("likelihood", "severity"):
            inherent = getattr(risk, f"inherent_{field}")
            if getattr(risk, f"residual_{field}") != inherent:
                _record_rating(risk, assessment, actor, f"residual_{field}", inherent, reason)
        changed = True
    if risk.treatment is Treatment.REDUCE:
        risk.treatment, risk.treatment_reason, risk.treatment_by_id, risk.treatment_at = None, None, None, None
        audit.record(assessment.organisation_id, "risk_treatment_withdrawn", actor=actor,
                     assessment_id=assessment.id, risk=risk.id, number=risk.number, treatment="reduce")
        changed = True
    return changed


def affects_risks(assessment: Assessment, changed: list[tuple[str, str]], platforms_before: set[str] | None) -> bool:
    """Whether changing these answers (question key, platform) can change what ``sync_risks`` derives: an
    answer a rule reads (``rules.rule_inputs``: its conditions, their ``show_if`` chains and the screening),
    or the first answer of a platform or of the global questions (``platforms_before``: the platforms, ''
    for global, that had answers before; None when not known), when an assessment's risks are first
    derived. Any other answer leaves the risks as they are, so deriving them again is skipped."""
    if platforms_before is None:
        return bool(changed)
    inputs = rule_inputs_of(assessment.catalog_id, assessment.catalog_version)
    return any(key in inputs or platform not in platforms_before for key, platform in changed)


def sync_risks(assessment: Assessment, actor: User | None = None, answers: dict | None = None) -> None:
    """Re-derive the proposed risks from the answers without discarding what anyone wrote or rated."""
    catalog = catalog_of(assessment)
    rules = load_risk_rules(catalog.id, catalog.version)
    if not rules:
        return
    answers = load_answers(assessment) if answers is None else answers
    derived = {(d.rule.key, d.platform): d for d in derive_risks(
        catalog, rules, answers, assessment.platforms, public_body=assessment.organisation.is_public_body)}
    # Without their measures (risks_of loads them too): only the rule, platform and state are compared here,
    # and this runs on every save that changes an answer.
    existing = {(r.rule_key, r.platform): r for r in db.session.scalars(
        select(Risk).where(Risk.assessment_id == assessment.id).order_by(Risk.id)) if r.rule_key}
    number = None
    for key, found in derived.items():
        risk = existing.get(key)
        triggered = [list(k) for k in found.triggered_by]
        if risk is None:
            # The rule's lower residual rating is only a proposal (``proposal_of``): without measures the
            # residual risk is the inherent risk.
            number = next_number(assessment) if number is None else number + 1
            db.session.add(Risk(
                assessment_id=assessment.id, number=number, rule_key=found.rule.key, platform=found.platform,
                triggered_by=triggered, active=True, created_by_id=actor.id if actor else None,
                inherent_likelihood=found.rule.inherent.likelihood, inherent_severity=found.rule.inherent.severity,
                residual_likelihood=found.rule.inherent.likelihood, residual_severity=found.rule.inherent.severity))
            audit.record(assessment.organisation_id, "risk_derived", actor=actor, assessment_id=assessment.id,
                         rule=found.rule.key, platform=found.platform, number=number)
        elif not risk.active or risk.triggered_by != triggered:
            if not risk.active:
                audit.record(assessment.organisation_id, "risk_reactivated", actor=actor,
                             assessment_id=assessment.id, rule=risk.rule_key, platform=risk.platform)
            risk.active, risk.triggered_by = True, triggered
    for key, risk in existing.items():
        if key not in derived and risk.active:
            risk.active = False
            audit.record(assessment.organisation_id, "risk_no_longer_applies", actor=actor,
                         assessment_id=assessment.id, rule=risk.rule_key, platform=risk.platform)
    db.session.flush()


def _rating(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number not in SCALE:
        raise Invalid(_l("A rating is a level from 1 to 4."))
    return number


def change_ratings(risk: Risk, assessment: Assessment, actor: User, ratings: dict[str, Any],
                   justification: str) -> int:
    """Change any of the four ratings; every change needs a justification and is recorded.

    The residual rating may not exceed the inherent one (a measure does not make a risk worse), and may be
    lower only with a decided measure linked to the risk; without one it follows the inherent rating."""
    _require(actor, assessment)
    new = {field: _rating(ratings[field]) for field in RATING_FIELDS if field in ratings}
    changed = {f: v for f, v in new.items() if getattr(risk, f) != v}
    if not changed:
        return 0
    justification = (justification or "").strip()
    require_plain_text(justification)
    if not justification:
        raise Invalid(_l("Say why the rating changes. Nothing was changed."))
    if len(justification) > REASON_MAX:
        raise Invalid(_l("The justification is too long (at most 5,000 characters). Nothing was changed."))
    after = {f: new.get(f, getattr(risk, f)) for f in RATING_FIELDS}
    decided = bool(decided_measures(risk))
    for field in ("likelihood", "severity"):
        inherent, residual = after[f"inherent_{field}"], after[f"residual_{field}"]
        rated = f"residual_{field}" in changed
        if residual > inherent and rated:
            raise Invalid(_l("The residual rating cannot be higher than the inherent one: measures do not "
                                   "make a risk worse. Nothing was changed."))
        if residual < inherent and not decided and rated:
            raise Invalid(_l("A residual rating lower than the inherent one needs at least one decided "
                                   "measure (with an owner and a due date) linked to the risk. Add or link "
                                   "the measure first. Nothing was changed."))
        if residual > inherent or (residual < inherent and not decided):
            # Only the inherent rating changed: the residual follows it down, and without a decided measure
            # it follows it up as well.
            after[f"residual_{field}"] = inherent
    count = 0
    for field in RATING_FIELDS:
        if getattr(risk, field) != after[field]:
            _record_rating(risk, assessment, actor, field, after[field], justification)
            count += 1
    db.session.flush()
    return count


def proposal_of(risk: Risk, rule: RiskRule | None) -> tuple[int, int] | None:
    """The residual rating the rule proposes for when its measures are adopted, if it is lower than the
    current residual rating (so there is something to adopt)."""
    if rule is None:
        return None
    proposed = (min(rule.residual.likelihood, risk.inherent_likelihood),
                min(rule.residual.severity, risk.inherent_severity))
    if proposed[0] >= risk.residual_likelihood and proposed[1] >= risk.residual_severity:
        return None
    return proposed


def rule_of(risk: Risk, assessment: Assessment) -> RiskRule | None:
    if not risk.rule_key:
        return None
    catalog = catalog_of(assessment)
    return next((r for r in load_risk_rules(catalog.id, catalog.version) if r.key == risk.rule_key), None)


def adopt_proposal(risk: Risk, assessment: Assessment, actor: User) -> int:
    """Adopt the rule's proposed residual rating, justified by the decided measures linked to the risk."""
    _require(actor, assessment)
    proposed = proposal_of(risk, rule_of(risk, assessment))
    if proposed is None:
        raise Invalid(_l("There is no lower residual rating to adopt for this risk."))
    measures = decided_measures(risk)
    if not measures:
        raise Invalid(_l("Adopting the proposed residual rating needs at least one decided measure (with an "
                               "owner and a due date) linked to the risk. Add the measure first. Nothing was "
                               "changed."))
    justification = _in_language(assessment, _l(
        "The residual rating proposed for this risk, adopted with the decided measures: %(measures)s.",
        measures="; ".join(m.title for m in measures)))
    count = 0
    for field, value in zip(("residual_likelihood", "residual_severity"), proposed, strict=True):
        if getattr(risk, field) != value:
            _record_rating(risk, assessment, actor, field, value, justification)
            count += 1
    db.session.flush()
    return count


def set_treatment(risk: Risk, assessment: Assessment, actor: User, decision: str, reason: str) -> None:
    """Record what the organisation does about a risk: reduce (with decided measures), avoid (stop what causes
    it) or accept (with the reason; who accepted is recorded)."""
    _require(actor, assessment)
    try:
        treatment = Treatment(decision)
    except ValueError:
        raise Invalid(_l("Choose one of the alternatives.")) from None
    reason = (reason or "").strip()
    require_plain_text(reason)
    if len(reason) > REASON_MAX:
        raise Invalid(_l("The reason is too long (at most 5,000 characters). Nothing was changed."))
    if treatment is Treatment.REDUCE and not decided_measures(risk):
        raise Invalid(_l("To reduce a risk, link at least one decided measure (with an owner and a due date) "
                               "to it first. Nothing was changed."))
    if treatment is Treatment.ACCEPT and not reason:
        raise Invalid(_l("Say why the risk is accepted. Nothing was changed."))
    if treatment is Treatment.AVOID and not reason:
        raise Invalid(_l("Say what is stopped to avoid the risk (the platform, the feature, or the personal "
                               "data). Nothing was changed."))
    if treatment is not Treatment.AVOID and risk.platform and risk.platform in stopped_platforms(assessment):
        raise Invalid(_l("The transfer of this platform may not take place, so its risks can only be avoided "
                               "(stop or pause the platform, or use it without personal data). Nothing was "
                               "changed."))
    risk.treatment, risk.treatment_reason = treatment, reason or None
    risk.treatment_by_id, risk.treatment_at = actor.id, utcnow()
    audit.record(assessment.organisation_id, "risk_treatment_decided", actor=actor, assessment_id=assessment.id,
                 risk=risk.id, number=risk.number, treatment=treatment.value, reason=reason or None)
    db.session.flush()


def add_risk(assessment: Assessment, actor: User, *, title: str, description: str, affected: str,
             source: str, ratings: dict[str, Any]) -> Risk:
    """A risk written by hand. It has no measures yet, so its residual rating is its inherent rating; a
    lower one is rated once measures are linked (``change_ratings``)."""
    _require(actor, assessment)
    require_plain_text(title, description, affected, source)
    if not title.strip() or len(title.strip()) > RISK_TITLE_MAX:
        raise Invalid(_l("Give the risk a title (at most 300 characters)."))
    for text, maximum in ((description, RISK_DESCRIPTION_MAX), (affected, AFFECTED_MAX), (source, SOURCE_MAX)):
        require_within(text, maximum, TOO_LONG)
    likelihood = _rating(ratings.get("inherent_likelihood"))
    severity = _rating(ratings.get("inherent_severity"))
    risk = Risk(assessment_id=assessment.id, number=next_number(assessment), rule_key=None, platform="",
                title=title.strip(), description=description.strip(), affected=affected.strip(),
                source=source.strip(), active=True, triggered_by=[], created_by_id=actor.id,
                inherent_likelihood=likelihood, inherent_severity=severity,
                residual_likelihood=likelihood, residual_severity=severity)
    db.session.add(risk)
    db.session.flush()
    audit.record(assessment.organisation_id, "risk_added", actor=actor, assessment_id=assessment.id,
                 risk=risk.id, number=risk.number, title=risk.title)
    return risk


def save_measure(assessment: Assessment, actor: User, *, measure: Measure | None, title: str, owner: str,
                 due_date: date | None, status: str, description: str, risk_ids: list[int]) -> Measure:
    """Add or change a measure. A measure that is not cancelled is a decision: it needs an owner and a due
    date. Risks that lose their last decided measure get their residual rating back (``follow_measures``)."""
    _require(actor, assessment)
    require_plain_text(title, owner, description)
    title, owner = (title or "").strip(), (owner or "").strip()
    if not title or not owner or len(title) > MEASURE_TITLE_MAX or len(owner) > OWNER_MAX:
        raise Invalid(_l("A measure needs a title and an owner."))
    require_within(description, MEASURE_DESCRIPTION_MAX, TOO_LONG)
    own_risks = {r.id: r for r in risks_of(assessment)}
    if not set(risk_ids) <= set(own_risks):
        raise Invalid(_l("Choose risks of this assessment."))
    try:
        new_status = MeasureStatus(status)
    except ValueError:
        raise Invalid(_l("Choose one of the alternatives.")) from None
    if new_status in DECIDED_STATUSES and due_date is None:
        raise Invalid(_l("A measure needs a due date (only a cancelled one does not)."))
    if measure is None:
        measure = Measure(assessment_id=assessment.id)
        db.session.add(measure)
    before = None if measure.id is None else {"title": measure.title, "status": measure.status.value}
    touched = {r.id: r for r in (measure.risks if measure.id is not None else [])}
    measure.title, measure.owner, measure.due_date = title.strip(), owner.strip(), due_date
    measure.status, measure.description = new_status, (description or "").strip() or None
    measure.risks = [own_risks[i] for i in risk_ids]
    db.session.flush()
    audit.record(assessment.organisation_id, "measure_saved", actor=actor, assessment_id=assessment.id,
                 measure=measure.id, before=before, title=measure.title, status=measure.status.value,
                 owner=measure.owner, due=due_date.isoformat() if due_date else None, risks=sorted(risk_ids))
    why = (_l("The measure \u201c%(title)s\u201d was cancelled.", title=measure.title)
           if new_status is MeasureStatus.CANCELLED else
           _l("The measure \u201c%(title)s\u201d was changed or unlinked.", title=measure.title))
    for risk in {**touched, **{r.id: r for r in measure.risks}}.values():
        follow_measures(risk, assessment, actor, why)
    db.session.flush()
    return measure


def measures_of(assessment: Assessment) -> list[Measure]:
    return list(db.session.scalars(select(Measure).where(Measure.assessment_id == assessment.id)
                                   .options(selectinload(Measure.risks)).order_by(Measure.due_date, Measure.id)))


def depends_on_dpf(assessment: Assessment, answers: dict) -> bool:
    return any(answers.get(("transfer_tool", p)) == "dpf_adequacy" for p in assessment.platforms)


def conclusion(assessment: Assessment, risks: list[Risk] | None = None, answers: dict | None = None) -> Conclusion:
    answers = load_answers(assessment) if answers is None else answers
    # The day of approval in Sweden, as the report prints it (clock.py).
    start = local_time(assessment.approved_at or assessment.created_at or utcnow()).date()
    return conclude(risks_of(assessment) if risks is None else risks,
                    depends_on_dpf=depends_on_dpf(assessment, answers), start=start,
                    review_due=assessment.review_due,
                    transfers=transfer_outcomes(catalog_of(assessment), answers, assessment.platforms,
                                                dpf_invalid=dpf_invalid_on()))


def stopped_platforms(assessment: Assessment, answers: dict | None = None) -> set[str]:
    """The platforms whose transfer may not take place."""
    answers = load_answers(assessment) if answers is None else answers
    return {t.platform for t in transfer_outcomes(catalog_of(assessment), answers, assessment.platforms,
                                                  dpf_invalid=dpf_invalid_on())
            if t.status == NOT_ALLOWED}


def accept_residual_risk(assessment: Assessment, actor: User, reason: str) -> None:
    """The reviewer records acceptance of the remaining risk, with a reason (Art. 35(7)(d))."""
    if not policy.can_review(actor, assessment):
        raise Forbidden(_l("Only a legal reviewer other than the author can accept the residual risk."))
    reason = (reason or "").strip()
    require_plain_text(reason)
    if not reason:
        raise Invalid(_l("Give the reason for accepting the residual risk."))
    assessment.residual_accepted_reason, assessment.residual_accepted_by_id = reason, actor.id
    assessment.residual_accepted_at = utcnow()
    audit.record(assessment.organisation_id, "residual_risk_accepted", actor=actor, assessment_id=assessment.id,
                 reason=reason)
    db.session.flush()


@dataclass(frozen=True)
class PlanRow:
    measure: Measure
    risk_titles: list[str]


def action_plan_csv(assessment: Assessment, title_of, status_label) -> str:
    """The action plan as CSV (``csvfile``: semicolon-separated UTF-8 with BOM, formulas neutralised)."""
    header = [str(h) for h in (_l("Measure"), _l("Description"), _l("Owner"), _l("Due date"), _l("Status"),
                               _l("Risks addressed"))]
    return csvfile.write_rows([header] + [
        [measure.title, measure.description or "", measure.owner,
         measure.due_date.isoformat() if measure.due_date else "", status_label(measure.status),
         " | ".join(title_of(r) for r in measure.risks)]
        for measure in measures_of(assessment)])


def copy_risks_and_measures(source: Assessment, target: Assessment, actor: User) -> None:
    """A new revision keeps the register and the action plan, then re-derives against its answers."""
    mapping: dict[int, Risk] = {}
    for risk in risks_of(source):
        # The R-number travels with the risk: "see R12" means the same risk in every revision. So does the
        # treatment decision, with who took it; the approval gates check it again against the new revision.
        copy = Risk(assessment_id=target.id, number=risk.number, rule_key=risk.rule_key, platform=risk.platform,
                    title=risk.title, description=risk.description, affected=risk.affected, source=risk.source,
                    active=risk.active, triggered_by=list(risk.triggered_by or []), created_by_id=actor.id,
                    treatment=risk.treatment, treatment_reason=risk.treatment_reason,
                    treatment_by_id=risk.treatment_by_id, treatment_at=risk.treatment_at,
                    **{field: getattr(risk, field) for field in RATING_FIELDS})
        db.session.add(copy)
        mapping[risk.id] = copy
    db.session.flush()
    for measure in measures_of(source):
        db.session.add(Measure(assessment_id=target.id, title=measure.title, description=measure.description,
                               owner=measure.owner, due_date=measure.due_date, status=measure.status,
                               risks=[mapping[r.id] for r in measure.risks if r.id in mapping]))
    db.session.flush()
    sync_risks(target, actor)
    enforce_decided_measures(target, actor)


def enforce_decided_measures(assessment: Assessment, actor: User | None) -> None:
    """Bring every risk of an assessment in line with its measures, e.g. after an import or a copy."""
    for risk in risks_of(assessment):
        follow_measures(risk, assessment, actor, _l("Checked when the risks were taken over."))
    db.session.flush()


def rating_history(risks: list[Risk]) -> dict[int, list[RiskRatingChange]]:
    history: dict[int, list[RiskRatingChange]] = {r.id: [] for r in risks}
    if risks:
        for change in db.session.scalars(select(RiskRatingChange).where(
                RiskRatingChange.risk_id.in_(list(history))).options(joinedload(RiskRatingChange.changed_by))
                .order_by(RiskRatingChange.changed_at)):
            history[change.risk_id].append(change)
    return history
