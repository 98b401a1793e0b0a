"""HTTP for review: comment threads, verdicts, the consultation record, changes, the audit trail."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from .. import policy, review, scope
from ..answers import catalog_of, load_answers
from ..audit import events_of
from ..errors import DomainError, Invalid, NotFound
from ..events import details_of, event_label
from ..extensions import db
from ..forms import (
    AdviceResponseForm,
    CommentForm,
    DataSubjectViewsForm,
    DpoAdviceForm,
    ResolveForm,
    VerdictForm,
    first_error,
)
from ..models import Assessment
from ..revisions import previous_revision
from .common import refuse, render_error, scoped_assessment

bp = Blueprint("review", __name__, url_prefix="/assessments/<int:assessment_id>")


def back(assessment_id: int, target: str | None, anchor: str = "") -> str:
    """Back to the page the form was on (``next``), within this assessment; otherwise its overview."""
    target = target or ""
    if not target.startswith(f"/assessments/{assessment_id}") or target.startswith("//"):
        target = url_for("assessments.overview", assessment_id=assessment_id)
    return target + (f"#{anchor}" if anchor else "")


@bp.post("/comments")
@login_required
def comment(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    form = CommentForm()
    question = form.question.data or None
    anchor = f"q-{question}" if question else ""
    if not form.validate_on_submit():
        if form.parent.errors:  # not an id at all
            abort(400)
        return refuse(Invalid(first_error(form)), back(assessment.id, form.next.data, anchor))
    parent = None
    key, platform = None, ""
    if form.parent.data is not None:
        try:
            parent = scope.comment_of(assessment, form.parent.data)
        except NotFound:
            abort(404)
    else:
        try:
            key, platform = review.comment_target(assessment, question)
        except DomainError as exc:  # not a field of the wizard: nothing to go back to
            return render_error(400, str(exc.message))
    try:
        review.add_comment(assessment, current_user, form.body.data or "", question=key, platform=platform,
                           parent=parent)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, back(assessment.id, form.next.data, anchor))
    flash(_("Comment saved."), "success")
    return redirect(back(assessment.id, form.next.data, anchor))


@bp.post("/comments/<int:comment_id>/resolve")
@login_required
def resolve(assessment_id: int, comment_id: int):
    assessment = scoped_assessment(assessment_id)
    try:
        comment = scope.comment_of(assessment, comment_id)
    except NotFound:
        abort(404)
    form = ResolveForm()
    form.validate_on_submit()  # only the CSRF token (checked for every POST) and two free fields
    resolved = form.resolved.data != "0"
    try:
        review.resolve_comment(assessment, current_user, comment, resolved)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, back(assessment.id, form.next.data))
    flash(_("Comment marked as resolved.") if resolved else _("Comment reopened."), "success")
    return redirect(back(assessment.id, form.next.data))


@bp.post("/verdicts")
@login_required
def verdict(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    form = VerdictForm()
    section = form.section.data or ""
    target = back(assessment.id, form.next.data, f"s-{section}")
    if not policy.can_review(current_user, assessment):
        abort(403)
    if not form.validate_on_submit():
        return refuse(Invalid(first_error(form)), target)
    try:
        review.set_verdict(assessment, current_user, section, form.verdict.data, form.note.data or "")
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("Verdict saved."), "success")
    return redirect(target)


@bp.get("/consultation")
@login_required
def consultation(assessment_id: int):
    return render_consultation(scoped_assessment(assessment_id))


def render_consultation(assessment: Assessment, *, refused: FlaskForm | None = None, status: int = 200):
    """The record of Art. 35(2) and 35(9). ``refused``: the form that was sent and refused; it shows what
    was sent with the message at its field, so the user corrects their text instead of writing it again."""
    advice, views = review.dpo_advice_of(assessment), review.data_subject_views_of(assessment)
    forms = {
        "advice_form": DpoAdviceForm(formdata=None, advice=advice.advice if advice else ""),
        "response_form": AdviceResponseForm(formdata=None, followed=advice.followed if advice else None,
                                            overruled_reason=(advice.overruled_reason or "") if advice else ""),
        "views_form": DataSubjectViewsForm(
            formdata=None, sought=None if views is None else ("yes" if views.sought else "no"),
            whose=(views.whose or "") if views else "", summary=(views.summary or "") if views else "",
            reason_not_sought=(views.reason_not_sought or "") if views else ""),
    }
    for name, form in forms.items():
        if refused is not None and type(form) is type(refused):
            forms[name] = refused
    return render_template("review/consultation.html", assessment=assessment, advice=advice, views=views,
                           can_advise=policy.can_record_dpo_advice(current_user, assessment),
                           on_behalf=policy.records_advice_on_behalf(current_user),
                           can_respond=policy.can_respond_to_dpo_advice(current_user, assessment) and advice,
                           can_record_views=policy.can_record_data_subject_views(current_user, assessment),
                           **forms), status


def refuse_consultation(exc: DomainError, assessment: Assessment, form: FlaskForm):
    """A refusal the user can correct is shown at its field (or above the form); others as refusals are."""
    if exc.status_code != 400:
        return refuse(exc, url_for(".consultation", assessment_id=assessment.id))
    db.session.rollback()
    field = getattr(form, getattr(exc, "field", None) or "", None)
    if field is not None and exc.message not in field.errors:
        field.errors = [*field.errors, exc.message]
    elif field is None:
        flash(str(exc.message), "error")
    return render_consultation(assessment, refused=form, status=400)


@bp.post("/consultation/dpo")
@login_required
def dpo_advice(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    if not policy.can_record_dpo_advice(current_user, assessment):
        abort(403)  # the role decides before what was sent is read
    form = DpoAdviceForm()
    try:
        if not form.validate_on_submit():
            raise Invalid(first_error(form))
        review.record_dpo_advice(assessment, current_user, advice=form.advice.data or "",
                                 on_behalf=form.on_behalf.data)
        db.session.commit()
    except DomainError as exc:
        return refuse_consultation(exc, assessment, form)
    flash(_("The DPO's advice is recorded."), "success")
    return redirect(url_for(".consultation", assessment_id=assessment.id))


@bp.post("/consultation/response")
@login_required
def advice_response(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    if not policy.can_respond_to_dpo_advice(current_user, assessment):
        abort(403)  # the role decides before what was sent is read
    form = AdviceResponseForm()
    try:
        if not form.validate_on_submit():
            raise Invalid(first_error(form))
        review.respond_to_dpo_advice(assessment, current_user, followed=form.followed.data or "",
                                     reason=form.overruled_reason.data or "")
        db.session.commit()
    except DomainError as exc:
        return refuse_consultation(exc, assessment, form)
    flash(_("The organisation's response to the advice is recorded."), "success")
    return redirect(url_for(".consultation", assessment_id=assessment.id))


@bp.post("/consultation/data-subjects")
@login_required
def data_subjects(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    if not policy.can_record_data_subject_views(current_user, assessment):
        abort(403)  # the role decides before what was sent is read
    form = DataSubjectViewsForm()
    try:
        if not form.validate_on_submit():
            raise Invalid(first_error(form))
        review.record_data_subject_views(assessment, current_user, sought={"yes": True, "no": False}.get(
            form.sought.data or ""), whose=form.whose.data or "", summary=form.summary.data or "",
            reason_not_sought=form.reason_not_sought.data or "")
        db.session.commit()
    except DomainError as exc:
        return refuse_consultation(exc, assessment, form)
    flash(_("The data subjects' views are recorded."), "success")
    return redirect(url_for(".consultation", assessment_id=assessment.id))


@bp.get("/changes")
@login_required
def changes(assessment_id: int):
    """What changed since the previous submission, and since the previous revision."""
    assessment = scoped_assessment(assessment_id)
    previous = previous_revision(assessment)
    return render_template(
        "review/changes.html", assessment=assessment,
        questions={**({q.key: q for q in catalog_of(previous).questions()} if previous else {}),
                   **{q.key: q for q in catalog_of(assessment).questions()}},
        since_submission=review.changes_since_previous_submission(assessment), previous=previous,
        since_revision=review.diff_answers(load_answers(previous), load_answers(assessment)) if previous else None)


@bp.get("/trail")
@login_required
def trail(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    catalog = catalog_of(assessment)
    return render_template("review/trail.html", assessment=assessment, events=events_of(assessment),
                           event_label=event_label, details=lambda e: details_of(
                               e.details, catalog, assessment.language, assessment.platform_name))
