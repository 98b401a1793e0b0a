"""HTTP for the risk register, the action plan and the conclusion of one assessment."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import clock, policy, prior_consultation, scope
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
from ..forms.common import as_choices
from ..models import MeasureStatus, Risk
from ..report.document import MEASURE_STATUS_LABELS, TREATMENT_LABELS
from ..risk import service
from ..risk.matrix import HIGH_CELLS, LEVEL_LABELS, LIKELIHOOD_MEANING, SCALE_LABELS, SEVERITY_MEANING
from ..risk.presenter import no_longer_applies, present
from .common import log_refusal, refuse, scoped_assessment

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
    changes = service.rating_history(risks)
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
        rating_fields=service.RATING_FIELDS, today=clock.today(), changes=changes,
        no_longer_applies=no_longer_applies(assessment, views, changes), **translated_labels())


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


def measure_form(form: MeasureForm | None = None) -> MeasureForm:
    """The measure form, its statuses named in the user's language."""
    form = form or MeasureForm()
    form.status.choices = as_choices((s.value, str(MEASURE_STATUS_LABELS[s])) for s in MeasureStatus)
    return form


def measure_page(assessment, form: MeasureForm, *, measure=None, problem: str | None = None, code: int = 200):
    """The page of one measure: a form while the risks may be managed, else what was decided (read-only)."""
    views = [v for v in present(assessment, service.risks_of(assessment))
             if v.risk.active or (measure is not None and v.risk in measure.risks)]
    chosen = {str(v) for v in (form.risks.data or [])}
    return render_template(
        "risks/measure.html", assessment=assessment, form=form, measure=measure, views=views, chosen=chosen,
        problem=problem, can_manage=policy.can_manage_risks(current_user, assessment),
        status_labels=MEASURE_STATUS_LABELS), code


@bp.get("/risks/<int:risk_id>/measures/new")
@login_required
def new_measure(assessment_id: int, risk_id: int):
    """The measure form pre-filled from one of the risk's suggested measures (``suggestion``, its index in the
    rule's list) and linked to the risk; everything stays editable before it is saved."""
    assessment = scoped_assessment(assessment_id)
    risk = own_risk(assessment, risk_id)
    require_manage(assessment)
    view = present(assessment, [risk])[0]
    form = measure_form(MeasureForm(formdata=None))
    suggestion = request.args.get("suggestion", type=int)
    if suggestion is not None and 0 <= suggestion < len(view.suggested_measures):
        form.title.data = view.suggested_measures[suggestion]
    form.status.data = MeasureStatus.PLANNED.value
    form.risks.data = [str(risk.id)]
    return measure_page(assessment, form)


@bp.get("/measures/<int:measure_id>")
@login_required
def measure(assessment_id: int, measure_id: int):
    assessment = scoped_assessment(assessment_id)
    try:
        found = scope.measure_of(assessment, measure_id)
    except NotFound:
        abort(404)
    form = measure_form(MeasureForm(formdata=None, obj=found))
    form.status.data = found.status.value
    form.due_date.data = found.due_date.isoformat() if found.due_date else ""
    form.risks.data = [str(r.id) for r in found.risks]
    return measure_page(assessment, form, measure=found)


@bp.post("/measures", defaults={"measure_id": None})
@bp.post("/measures/<int:measure_id>")
@login_required
def save_measure(assessment_id: int, measure_id: int | None):
    """Add or change a measure. A refused form comes back as the measure's page with what was sent and the
    problem at its field, so nothing typed is lost."""
    assessment = scoped_assessment(assessment_id)
    measure = None
    if measure_id is not None:
        try:
            measure = scope.measure_of(assessment, measure_id)
        except NotFound:
            abort(404)
    require_manage(assessment)
    form = measure_form()
    valid = form.validate_on_submit()
    risk_ids = form.risk_ids()
    if risk_ids is None or not set(risk_ids) <= {r.id for r in service.risks_of(assessment)}:
        # Named with the other problems, so that one round shows them all (the service checks it again).
        form.risks.errors = [_("Choose risks of this assessment.")]
    if not valid or form.risks.errors:
        return measure_page(assessment, form, measure=measure, code=400)
    risk_ids = risk_ids or []
    try:
        service.save_measure(assessment, current_user, measure=measure, title=form.title.data,
                             owner=form.owner.data, due_date=form.due_date.date, status=form.status.data or "planned",
                             description=form.description.data or "", risk_ids=risk_ids)
        db.session.commit()
    except Invalid as exc:
        db.session.rollback()
        log_refusal(exc)
        return measure_page(assessment, form, measure=measure, problem=str(exc.message), code=400)
    except DomainError as exc:
        return refuse(exc, register_url(assessment.id, f"measure-{measure_id}" if measure_id else "add-measure"))
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
