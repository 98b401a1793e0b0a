"""Risk operations: derive from answers, rate with justification, measures, acceptance of residual risk.

Services flush and audit, never commit (the request boundary does).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from .. import audit, csvfile
from ..answers import catalog_of, load_answers
from ..extensions import db
from ..models import (Assessment, Measure, MeasureStatus, Risk, RiskRatingChange, Role, Status, User,
                      utcnow)
from ..plaintext import require_plain_text
from ..workflow import AUTHOR_ROLES, EDITABLE, WorkflowError
from .matrix import SCALE, Conclusion, conclude
from .rules import derive_risks, load_risk_rules

RATING_FIELDS = ("inherent_likelihood", "inherent_severity", "residual_likelihood", "residual_severity")


def can_manage_risks(user: User, assessment: Assessment) -> bool:
    """Authors while they may edit; legal while reviewing. Nobody after approval."""
    if user.organisation_id != assessment.organisation_id:
        return False
    if user.role in AUTHOR_ROLES and assessment.status in EDITABLE:
        return True
    return user.role is Role.LEGAL and assessment.status is Status.IN_REVIEW


def _require(user: User, assessment: Assessment) -> None:
    if not can_manage_risks(user, assessment):
        raise WorkflowError(_l("You cannot change the risks of this assessment now."), status_code=403)


def risks_of(assessment: Assessment) -> list[Risk]:
    return list(db.session.scalars(select(Risk).where(Risk.assessment_id == assessment.id)
                                   .options(selectinload(Risk.measures)).order_by(Risk.id)))


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
    # and this runs on every save that changes an answer (issue 9).
    existing = {(r.rule_key, r.platform): r for r in db.session.scalars(
        select(Risk).where(Risk.assessment_id == assessment.id).order_by(Risk.id)) if r.rule_key}
    for key, found in derived.items():
        risk = existing.get(key)
        triggered = [list(k) for k in found.triggered_by]
        if risk is None:
            db.session.add(Risk(
                assessment_id=assessment.id, rule_key=found.rule.key, platform=found.platform,
                triggered_by=triggered, active=True, created_by_id=actor.id if actor else None,
                inherent_likelihood=found.rule.inherent.likelihood, inherent_severity=found.rule.inherent.severity,
                residual_likelihood=found.rule.residual.likelihood, residual_severity=found.rule.residual.severity))
            audit.record(assessment.organisation_id, "risk_derived", actor=actor, assessment_id=assessment.id,
                         rule=found.rule.key, platform=found.platform)
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
        raise WorkflowError(_l("A rating is a level from 1 to 4."), status_code=400)
    return number


def change_ratings(risk: Risk, assessment: Assessment, actor: User, ratings: dict[str, Any],
                   justification: str) -> int:
    """Change any of the four ratings; every change needs a justification and is recorded."""
    _require(actor, assessment)
    new = {field: _rating(ratings[field]) for field in RATING_FIELDS if field in ratings}
    changed = {f: v for f, v in new.items() if getattr(risk, f) != v}
    if not changed:
        return 0
    justification = (justification or "").strip()
    require_plain_text(justification)
    if not justification:
        raise WorkflowError(_l("Say why the rating changes. Nothing was changed."), status_code=400)
    for field, value in changed.items():
        db.session.add(RiskRatingChange(risk_id=risk.id, field=field, old=getattr(risk, field), new=value,
                                        justification=justification, changed_by_id=actor.id))
        audit.record(assessment.organisation_id, "risk_rating_changed", actor=actor, assessment_id=assessment.id,
                     risk=risk.id, field=field, old=getattr(risk, field), new=value, justification=justification)
        setattr(risk, field, value)
    db.session.flush()
    return len(changed)


def add_risk(assessment: Assessment, actor: User, *, title: str, description: str, affected: str,
             source: str, ratings: dict[str, Any]) -> Risk:
    _require(actor, assessment)
    require_plain_text(title, description, affected, source)
    risk = Risk(assessment_id=assessment.id, rule_key=None, platform="", title=title.strip(),
                description=description.strip(), affected=affected.strip(), source=source.strip(),
                active=True, triggered_by=[], created_by_id=actor.id,
                **{field: _rating(ratings.get(field)) for field in RATING_FIELDS})
    db.session.add(risk)
    db.session.flush()
    audit.record(assessment.organisation_id, "risk_added", actor=actor, assessment_id=assessment.id,
                 risk=risk.id, title=risk.title)
    return risk


def save_measure(assessment: Assessment, actor: User, *, measure: Measure | None, title: str, owner: str,
                 due_date: date | None, status: str, description: str, risk_ids: list[int]) -> Measure:
    _require(actor, assessment)
    require_plain_text(title, owner, description)
    own_risks = {r.id: r for r in risks_of(assessment)}
    if not set(risk_ids) <= set(own_risks):
        raise WorkflowError(_l("Choose risks of this assessment."), status_code=400)
    if measure is None:
        measure = Measure(assessment_id=assessment.id)
        db.session.add(measure)
    before = None if measure.id is None else {"title": measure.title, "status": measure.status.value}
    measure.title, measure.owner, measure.due_date = title.strip(), owner.strip(), due_date
    measure.status, measure.description = MeasureStatus(status), (description or "").strip() or None
    measure.risks = [own_risks[i] for i in risk_ids]
    db.session.flush()
    audit.record(assessment.organisation_id, "measure_saved", actor=actor, assessment_id=assessment.id,
                 measure=measure.id, before=before, title=measure.title, status=measure.status.value,
                 owner=measure.owner, due=due_date.isoformat() if due_date else None, risks=sorted(risk_ids))
    return measure


def measures_of(assessment: Assessment) -> list[Measure]:
    return list(db.session.scalars(select(Measure).where(Measure.assessment_id == assessment.id)
                                   .options(selectinload(Measure.risks)).order_by(Measure.due_date, Measure.id)))


def depends_on_dpf(assessment: Assessment, answers: dict) -> bool:
    return any(answers.get(("transfer_tool", p)) == "dpf_adequacy" for p in assessment.platforms)


def conclusion(assessment: Assessment, risks: list[Risk] | None = None, answers: dict | None = None) -> Conclusion:
    answers = load_answers(assessment) if answers is None else answers
    start = (assessment.approved_at or assessment.created_at or utcnow()).date()
    return conclude(risks_of(assessment) if risks is None else risks,
                    depends_on_dpf=depends_on_dpf(assessment, answers), start=start,
                    review_due=assessment.review_due)


def accept_residual_risk(assessment: Assessment, actor: User, reason: str) -> None:
    """The reviewer records acceptance of the remaining risk, with a reason (Art. 35(7)(d))."""
    if not (actor.role is Role.LEGAL and actor.organisation_id == assessment.organisation_id
            and assessment.status is Status.IN_REVIEW and assessment.author_id != actor.id):
        raise WorkflowError(_l("Only a legal reviewer other than the author can accept the residual risk."),
                            status_code=403)
    reason = (reason or "").strip()
    require_plain_text(reason)
    if not reason:
        raise WorkflowError(_l("Give the reason for accepting the residual risk."), status_code=400)
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
        copy = Risk(assessment_id=target.id, rule_key=risk.rule_key, platform=risk.platform, title=risk.title,
                    description=risk.description, affected=risk.affected, source=risk.source, active=risk.active,
                    triggered_by=list(risk.triggered_by or []), created_by_id=actor.id,
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


def rating_history(risks: list[Risk]) -> dict[int, list[RiskRatingChange]]:
    history: dict[int, list[RiskRatingChange]] = {r.id: [] for r in risks}
    if risks:
        for change in db.session.scalars(select(RiskRatingChange).where(
                RiskRatingChange.risk_id.in_(list(history))).options(joinedload(RiskRatingChange.changed_by))
                .order_by(RiskRatingChange.changed_at)):
            history[change.risk_id].append(change)
    return history
