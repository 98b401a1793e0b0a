"""HTTP for the risk register, the action plan and the conclusion of one assessment."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import policy, prior_consultation, scope
from ..answers import load_answers
from ..errors import DomainError, Invalid, NotFound
from ..extensions import db
from ..forms import (
    AcceptResidualForm,
    MeasureForm,
    PriorConsultationForm,
    RatingsForm,
    RiskForm,
    TreatmentForm,
    first_error,
)
from ..models import Risk
from ..report.document import MEASURE_STATUS_LABELS, TREATMENT_LABELS
from ..risk import service
from ..risk.matrix import HIGH_CELLS, LEVEL_LABELS, LIKELIHOOD_MEANING, SCALE_LABELS, SEVERITY_MEANING
from ..risk.presenter import present
from .common import refuse, scoped_assessment

bp = Blueprint("risks", __name__, url_prefix="/assessments/<int:assessment_id>")



def register_url(assessment_id: int, anchor: str = "") -> str:
    return url_for(".register", assessment_id=assessment_id) + (f"#{anchor}" if anchor else "")


@bp.get("/risks")
@login_required
def register(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    risks = service.risks_of(assessment)
    answers = load_answers(assessment)
    views = present(assessment, risks)
    conclusion = service.conclusion(assessment, risks, answers)
    return render_template(
        "risks/register.html", assessment=assessment, views=views, measures=service.measures_of(assessment),
        conclusion=conclusion, lang=assessment.language,
        stopped={t.platform for t in conclusion.transfers_not_allowed},
        can_manage=policy.can_manage_risks(current_user, assessment),
        can_accept=policy.can_review(current_user, assessment),
        consultation=prior_consultation.prior_consultation_of(assessment),
        can_record_consultation=policy.can_keep_prior_consultation(current_user, assessment),
        number_of={v.risk.id: v.number for v in views}, status_labels=MEASURE_STATUS_LABELS,
        treatment_labels={t.value: str(label) for t, label in TREATMENT_LABELS.items()},
        rating_fields=service.RATING_FIELDS, today=date.today(), changes=service.rating_history(risks),
        **translated_labels())


def translated_labels() -> dict[str, Any]:
    """The rating scales translated once per page. The template context has them as lazy strings, which
    are translated again at every use: four selects of four options for every risk made a register of
    200 risks spend most of its time translating the same eight words."""
    return {name: {key: str(label) for key, label in labels.items()} for name, labels in (
        ("scale_labels", SCALE_LABELS), ("level_labels", LEVEL_LABELS),
        ("likelihood_meaning", LIKELIHOOD_MEANING), ("severity_meaning", SEVERITY_MEANING))} | {
        "high_cells": HIGH_CELLS}


def own_risk(assessment, risk_id: int) -> Risk:
    try:
        return scope.risk_of(assessment, risk_id)
    except NotFound:
        abort(404)


def require_manage(assessment) -> None:
    """Who may change the risks decides before what they sent is looked at (403, not a form message)."""
    if not policy.can_manage_risks(current_user, assessment):
        abort(403)


def refused_form(form, target: str):
    return refuse(Invalid(first_error(form)), target)


@bp.post("/risks/<int:risk_id>/ratings")
@login_required
def change_ratings(assessment_id: int, risk_id: int):
    assessment = scoped_assessment(assessment_id)
    risk = own_risk(assessment, risk_id)
    require_manage(assessment)
    target = register_url(assessment.id, f"risk-{risk_id}")
    form = RatingsForm()
    if not form.validate_on_submit():
        return refused_form(form, target)
    try:
        count = service.change_ratings(risk, assessment, current_user, form.sent_ratings(request.form),
                                       form.justification.data or "")
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("Rating saved with your justification.") if count else _("No rating changed."), "success")
    return redirect(target)


@bp.post("/risks")
@login_required
def add_risk(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    require_manage(assessment)
    form = RiskForm()
    if not form.validate_on_submit():
        return refused_form(form, register_url(assessment.id, "add-risk"))
    try:
        service.add_risk(assessment, current_user, title=form.title.data, description=form.description.data or "",
                         affected=form.affected.data or "", source=form.source.data or "",
                         ratings={"inherent_likelihood": form.inherent_likelihood.data,
                                  "inherent_severity": form.inherent_severity.data})
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, register_url(assessment.id, "add-risk"))
    flash(_("Risk added."), "success")
    return redirect(register_url(assessment.id))


@bp.post("/measures", defaults={"measure_id": None})
@bp.post("/measures/<int:measure_id>")
@login_required
def save_measure(assessment_id: int, measure_id: int | None):
    assessment = scoped_assessment(assessment_id)
    measure = None
    if measure_id is not None:
        try:
            measure = scope.measure_of(assessment, measure_id)
        except NotFound:
            abort(404)
    require_manage(assessment)
    target = register_url(assessment.id, f"measure-{measure_id}" if measure_id else "add-measure")
    form = MeasureForm()
    if not form.validate_on_submit():
        return refused_form(form, target)
    risk_ids = form.risk_ids()
    if risk_ids is None:
        return refuse(Invalid(_l("Choose risks of this assessment.")), target)
    try:
        service.save_measure(assessment, current_user, measure=measure, title=form.title.data,
                             owner=form.owner.data, due_date=form.due_date.date, status=form.status.data or "planned",
                             description=form.description.data or "", risk_ids=risk_ids)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("Measure saved."), "success")
    return redirect(register_url(assessment.id, "action-plan"))


@bp.post("/risks/<int:risk_id>/treatment")
@login_required
def set_treatment(assessment_id: int, risk_id: int):
    assessment = scoped_assessment(assessment_id)
    risk = own_risk(assessment, risk_id)
    require_manage(assessment)
    target = register_url(assessment.id, f"risk-{risk_id}")
    form = TreatmentForm()
    if not form.validate_on_submit():
        return refused_form(form, target)
    try:
        service.set_treatment(risk, assessment, current_user, form.treatment.data, form.reason.data or "")
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("The treatment decision is recorded."), "success")
    return redirect(target)


@bp.post("/risks/<int:risk_id>/adopt")
@login_required
def adopt_proposal(assessment_id: int, risk_id: int):
    assessment = scoped_assessment(assessment_id)
    risk = own_risk(assessment, risk_id)
    require_manage(assessment)
    target = register_url(assessment.id, f"risk-{risk_id}")
    try:
        service.adopt_proposal(risk, assessment, current_user)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("The proposed residual rating is adopted with the linked measures."), "success")
    return redirect(target)


@bp.post("/conclusion/prior-consultation")
@login_required
def record_prior_consultation(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    if not policy.can_keep_prior_consultation(current_user, assessment):
        abort(403)
    target = register_url(assessment.id, "prior-consultation")
    form = PriorConsultationForm()
    if not form.validate_on_submit():
        return refused_form(form, target)
    try:
        prior_consultation.record_prior_consultation(
            assessment, current_user, requested_on=form.requested_on.date, case_number=form.imy_case_number.data or "",
            answered_on=form.answered_on.date, advice=form.imy_advice.data or "")
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("The record of the prior consultation is saved."), "success")
    return redirect(target)


@bp.post("/conclusion/accept")
@login_required
def accept_residual(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    form = AcceptResidualForm()
    if form.is_submitted() and not form.validate():
        return refused_form(form, register_url(assessment.id, "conclusion"))
    try:
        service.accept_residual_risk(assessment, current_user, form.reason.data or "")
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, register_url(assessment.id, "conclusion"))
    flash(_("Acceptance of the residual risk recorded."), "success")
    return redirect(register_url(assessment.id, "conclusion"))


@bp.get("/action-plan.csv")
@login_required
def action_plan(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    number_of = {v.risk.id: v for v in present(assessment, service.risks_of(assessment))}
    body = service.action_plan_csv(assessment, lambda r: f"{number_of[r.id].number} {number_of[r.id].title}",
                                   lambda s: str(MEASURE_STATUS_LABELS[s]))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="atgardsplan-{assessment.id}.csv"'})
