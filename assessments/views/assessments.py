"""HTTP for assessments: parse, authorise (``policy``), call a service, render. No queries, status changes or
file access here: the services (``dashboard``, ``wizard``, ``workflow``, ``signoff``, ``revisions``,
``documents``) own them."""
from __future__ import annotations

from functools import cache
from io import BytesIO

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from .. import approval, clock, dashboard, documents, policy, review, waiting, wizard, workflow
from ..answers import (
    RECORDED_SECTIONS,
    StaleEdit,
    catalog_of,
    load_answers,
    screening,
    visibility_inputs,
    visible_slots,
)
from ..catalog import PLATFORMS, latest_catalog
from ..corrections import changes_since_comments, corrections, open_sections
from ..errors import DomainError
from ..extensions import db
from ..forms import (
    ApproveForm,
    NewAssessmentForm,
    RequestChangesForm,
    field_value,
    form_data_from_answers,
    platform_choices,
    step_form_class,
)
from ..models import Assessment, Status
from ..platform_facts import effective_facts
from ..prior_consultation import prior_consultation_of
from ..reassessment.flags import answer_again, describe, flags_of, open_flags, stopped_by_dpf
from ..rendering import QuestionRenderer
from ..report.document import MEASURE_STATUS_LABELS
from ..revisions import new_revision, newer_revision_exists
from ..signoff import WrongPassword, approve_and_sign
from ..steps import steps_of
from .common import commit_keeping_loaded, expected_version, refuse, scoped_assessment
from .throttling import account_key, per_account, throttle_message

bp = Blueprint("assessments", __name__)


@bp.get("/", endpoint="dashboard")
@login_required
def dashboard_page():
    filters = dashboard.Filters.parse(request.args.get("status"), request.args.get("platform"),
                                      request.args.get("q"), request.args.get("overdue"), request.args.get("flagged"))
    page = dashboard.assessments_page(current_user, filters)
    items = page.items
    flags = open_flags(a.id for a in items)
    return render_template("assessments/dashboard.html", assessments=items, page=page, today=clock.today(),
                           can_create=policy.can_create(current_user),
                           levels=dashboard.residual_levels([a.id for a in items]), flags=flags,
                           stopped_by_dpf=stopped_by_dpf(flags),
                           waiting=waiting.waiting_for(current_user), filters=filters.as_args(),
                           statuses=list(Status), platforms=list(PLATFORMS))


@bp.route("/assessments/new", methods=["GET", "POST"])
@login_required
def new():
    if not policy.can_create(current_user):
        abort(403)
    form = NewAssessmentForm()
    form.platforms.choices = platform_choices(form.language.data or "sv")
    if form.validate_on_submit():
        try:
            assessment = wizard.start_assessment(current_user, title=form.title.data, language=form.language.data,
                                                 platforms=form.platforms.data,
                                                 other_platform_name=form.other_platform_name.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form.platforms.errors.append(str(exc.message))
        else:
            first = catalog_of(assessment).sections[0].key
            return redirect(url_for(".step", assessment_id=assessment.id, section_key=first))
    return render_template("assessments/new.html", form=form), 400 if form.errors else 200


@bp.get("/assessments/<int:assessment_id>")
@login_required
def overview(assessment_id: int):
    assessment = scoped_assessment(assessment_id, joinedload(Assessment.author))
    answers = load_answers(assessment)
    catalog = catalog_of(assessment)
    outcome = screening(assessment, answers)
    threads = review.threads(assessment)
    verdicts = review.latest_verdicts(assessment)
    found = corrections(assessment, threads, verdicts)
    steps = steps_of(assessment, answers, outcome.level, found)
    changes_since = review.changes_since_previous_submission(assessment)
    flags = flags_of(assessment)
    lang = assessment.language
    return render_template(
        "assessments/overview.html", assessment=assessment, catalog=catalog, answers=answers,
        steps=steps, corrections=found, unfolded=open_sections(assessment, steps, changes_since, threads),
        answer_changes=(changes_since_comments(assessment, answers, threads)
                        if policy.can_review(current_user, assessment) else {}),
        document=documents.document_of(assessment), screening=outcome,
        threads=threads, verdicts=verdicts,
        can_comment=policy.can_comment(current_user, assessment), blockers=approval.approval_blockers(assessment),
        changes_since=changes_since,
        sections=[(s, visible_slots(assessment, s, answers, outcome.level)) for s in catalog.sections],
        can_edit=policy.can_edit(current_user, assessment),
        can_review=policy.can_review(current_user, assessment),
        can_revise=policy.can_start_revision(current_user, assessment) and not newer_revision_exists(assessment),
        latest=latest_catalog(assessment.catalog_id),
        changes_form=RequestChangesForm(version=assessment.version),
        flags=[(flag, describe(flag, lang)) for flag in flags], answer_again=answer_again(assessment),
        stopped_by_dpf=[assessment.platform_name(p, lang) for p in stopped_by_dpf(
            {assessment.id: [f for f in flags if f.resolved_at is None]}).get(assessment.id, [])],
    )


@bp.route("/assessments/<int:assessment_id>/steps/<section_key>", methods=["GET", "POST"])
@login_required
def step(assessment_id: int, section_key: str):
    assessment = scoped_assessment(assessment_id)
    catalog = catalog_of(assessment)
    try:
        section = catalog.section(section_key)
    except KeyError:
        abort(404)
    if not policy.can_edit(current_user, assessment):
        if request.method == "POST":
            abort(403)
        return redirect(url_for(".overview", assessment_id=assessment.id))
    lang = assessment.language
    answers = load_answers(assessment)
    # The screening outcome once per set of answers: the questions asked, the progress and the screening
    # box all depend on it.
    outcome = screening(assessment, answers)
    shown = wizard.asked_in_step(assessment, section, answers, outcome.level)
    index = catalog.section_index(section.key)
    next_section = catalog.sections[index + 1] if index + 1 < len(catalog.sections) else None
    organisation_id = assessment.organisation_id
    suggests = any(q.suggest for q in section.questions)

    @cache
    def facts() -> dict:
        # Read only for a page that shows them, and only for a step with questions they suggest answers to:
        # a save that moves on to the next step needs none.
        return effective_facts(organisation_id) if suggests else {}

    def render(form, shown, answers, outcome, status=200):
        values = ({slot.field_name: field_value(form[slot.field_name]) for slot in shown} if form.is_submitted()
                  else {slot.field_name: answers.get(slot.key) for slot in shown})
        warnings = wizard.warnings(assessment, shown, values)
        suggested = wizard.suggested_facts(shown, answers, facts())
        threads = review.threads(assessment)
        slots_of: dict[str, list] = {}  # each platform's questions, in order (a filter per platform was slow)
        for slot in shown:
            slots_of.setdefault(slot.platform, []).append(slot)
        return render_template(
            "assessments/step.html", assessment=assessment, catalog=catalog, section=section, form=form,
            slots=shown, slots_of=slots_of,
            steps=steps_of(assessment, answers, outcome.level, corrections(assessment, threads)),
            next_section=next_section, recorded=section.key in RECORDED_SECTIONS,
            consultation=review.consultation_of(assessment) if section.key in RECORDED_SECTIONS else None,
            lang=lang, warnings=warnings, suggested=suggested, today=clock.today(), threads=threads,
            can_comment=policy.can_comment(current_user, assessment),
            questions=QuestionRenderer(form, catalog, lang, suggested=suggested, warnings=warnings,
                                       threads=threads),
            screening=outcome if section.key == "screening" else None, outcome=outcome), status

    def fresh_form(shown, answers, **kwargs):
        data = {**wizard.suggestions(shown, answers, facts(), lang), **form_data_from_answers(shown, answers)}
        return step_form_class(shown, lang, assessment.platform_name)(data={**data, "version": assessment.version},
                                                                       **kwargs)

    if request.method == "GET":
        return render(fresh_form(shown, answers), shown, answers, outcome)
    form = step_form_class(shown, lang, assessment.platform_name)()
    if not form.validate():
        return render(form, shown, answers, outcome, 400)
    submitted = {slot.key: field_value(form[slot.field_name]) for slot in shown}
    saved = dict(answers)  # brought to what is stored by save_step, instead of loading them again
    try:
        wizard.save_step(assessment, section, submitted, current_user, expected_version(form.version.data),
                         answers=saved)
        commit_keeping_loaded()
    except (StaleEdit, StaleDataError, IntegrityError):
        # IntegrityError: on SQLite (no row locks) a concurrent first save can still reach the answers'
        # unique constraint; it is the same stale edit, and nothing was written.
        db.session.rollback()
        flash(str(StaleEdit().message), "error")
        return render(form, shown, answers, outcome, 409)
    except DomainError as exc:
        return refuse(exc, url_for(".overview", assessment_id=assessment.id))
    inputs = visibility_inputs(catalog)
    if any(saved.get(key) != answers.get(key) for key in submitted if key[0] in inputs):
        outcome = screening(assessment, saved)
        now_shown = wizard.asked_in_step(assessment, section, saved, outcome.level)
    else:  # no answer that decides which questions are asked changed
        now_shown = shown
    answers = saved
    asked = {slot.key for slot in shown}
    if any(slot.key not in asked for slot in now_shown):
        # An answer made more questions apply (e.g. the screening outcome): ask them on this step.
        flash(_("Saved. Your answers mean that more questions apply on this step."), "info")
        return render(fresh_form(now_shown, answers, formdata=None), now_shown, answers, outcome)
    if request.form.get("action") == "later":
        flash(_("Saved. You can continue where you left off."), "success")
        return redirect(url_for(".overview", assessment_id=assessment.id))
    missing = wizard.missing_required(assessment, now_shown, answers, outcome.level)
    if not missing:
        flash(_("Saved."), "success")
        if next_section is None:
            return redirect(url_for(".overview", assessment_id=assessment.id))
        return redirect(url_for(".step", assessment_id=assessment.id, section_key=next_section.key))
    for slot in missing:
        form[slot.field_name].errors = [_("Answer this question, or choose \u201cSave and continue later\u201d.")]
    flash(_("Saved, but some questions still need an answer."), "info")
    form.version.data = str(assessment.version)
    return render(form, shown, answers, outcome, 400)


@bp.post("/assessments/<int:assessment_id>/steps/<section_key>/feedback")
@login_required
def step_feedback(assessment_id: int, section_key: str):
    """The warnings and the screening outcome for the answers on the page, before they are saved (app.js
    asks as the user answers; without JavaScript they show after saving). Nothing is stored."""
    assessment = scoped_assessment(assessment_id)
    try:
        section = catalog_of(assessment).section(section_key)
    except KeyError:
        abort(404)
    if not policy.can_edit(current_user, assessment):
        abort(403)
    answers = load_answers(assessment)
    shown = wizard.asked_in_step(assessment, section, answers, screening(assessment, answers).level)
    form = step_form_class(shown, assessment.language, assessment.platform_name)()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        # A value the form refuses (too long, not an option) gives no warning; the rest still do.
    values = {slot.field_name: field_value(form[slot.field_name]) for slot in shown
              if not form[slot.field_name].errors}
    found = wizard.feedback(assessment, shown, answers, values)
    lang = assessment.language
    return {
        "warnings": found.warnings,
        "screening": render_template("assessments/_screening_feedback.html", outcome=found.outcome,
                                     catalog=catalog_of(assessment), lang=lang,
                                     full=section.key == "screening"),
    }


@bp.post("/assessments/<int:assessment_id>/submit")
@login_required
def submit(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    target = url_for(".overview", assessment_id=assessment.id)
    try:
        workflow.submit_for_review(assessment, current_user)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("Submitted for review."), "success")
    return redirect(target)


@bp.post("/assessments/<int:assessment_id>/request-changes")
@login_required
def request_changes(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    target = url_for(".overview", assessment_id=assessment.id)
    if not policy.is_reviewer(current_user, assessment):
        abort(403)  # the role decides before anything about the page's state is looked at
    form = RequestChangesForm()
    if not form.validate_on_submit():
        flash(_("Say what needs to change."), "error")
        return redirect(target)
    try:
        if expected_version(form.version.data) != assessment.version:
            raise StaleEdit()
        workflow.request_changes(assessment, current_user, form.reason.data)
        db.session.commit()
    except (DomainError, StaleDataError) as exc:
        return refuse(exc if isinstance(exc, DomainError) else StaleEdit(), target)
    flash(_("Sent back to the author with your reason."), "success")
    return redirect(target)


def approve_throttled(request_limit):
    message, wait = throttle_message(request_limit)
    response = make_response(render_template("errors/error.html", code=429, title=_("Too many attempts"),
                                             text=message), 429)
    response.headers["Retry-After"] = str(wait)
    return response


@bp.route("/assessments/<int:assessment_id>/approve", methods=["GET", "POST"])
# Approving re-enters the password (signoff.approve_and_sign): wrong ones count in the same per-account
# bucket as failed logins, so a stolen session cannot be used to guess the password here instead.
@per_account(account_key, approve_throttled)
@login_required
def approve(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    target = url_for(".overview", assessment_id=assessment.id)
    if assessment.status is Status.APPROVED:
        flash(_("This assessment has already been approved and signed."), "info")
        return redirect(target)
    if not policy.can_approve(current_user, assessment):
        abort(403)
    problems = approval.independence_problems(assessment, current_user)
    if problems:
        # Four eyes: say why, and that another legal reviewer must approve (the form is not offered).
        return render_template("assessments/approve.html", assessment=assessment, form=None, problems=problems,
                               blockers=[], summary=None), 403
    form = ApproveForm()
    summary = approval.decision_summary(assessment)
    blockers = approval.approval_blockers(assessment, views=summary.views, conclusion=summary.conclusion)
    texts = approval.attestations(assessment, summary)
    form.attest_context.label.text, form.attest_risks.label.text = texts.context, texts.risks
    form.attest_measures.label.text, form.attest_commitment.label.text = texts.measures, texts.commitment
    if texts.conclusion:
        form.confirm_conclusion.label.text = texts.conclusion

    def page(status: int = 200):
        return render_template("assessments/approve.html", assessment=assessment, form=form, blockers=blockers,
                               summary=summary, problems=[], confirm=bool(texts.conclusion),
                               catalog=catalog_of(assessment), measure_status_labels=MEASURE_STATUS_LABELS,
                               prior_consultation=prior_consultation_of(assessment)), status

    if request.method == "GET":
        form.version.data = assessment.version
        return page()
    valid = form.validate_on_submit()
    if texts.conclusion and not form.confirm_conclusion.data:
        form.confirm_conclusion.errors = [_("Confirm this to sign.")]
        valid = False
    if not valid:
        return page(400)
    try:
        approve_and_sign(assessment, current_user, password=form.password.data,
                         expected_version=expected_version(form.version.data),
                         registration_number=(form.registration_number.data or "").strip() or None)
        db.session.commit()
    except WrongPassword as exc:  # stay on the form; it counts as a failed password check
        db.session.rollback()
        g.password_check_failed = True
        form.password.errors.append(str(exc.message))
        return page(400)
    except DomainError as exc:
        return refuse(exc, target)
    except (IntegrityError, StaleDataError):
        # Another request signed this revision in the same instant; the unique constraint kept it to one.
        db.session.rollback()
        flash(_("This assessment has already been approved and signed."), "info")
        return redirect(target)
    flash(_("Approved and signed. The signed PDF is archived."), "success")
    return redirect(target)


@bp.post("/assessments/<int:assessment_id>/revisions")
@login_required
def start_revision(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    target = url_for(".overview", assessment_id=assessment.id)
    try:
        result = new_revision(assessment, current_user, to_latest_catalog=bool(request.form.get("to_latest")))
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("Revision %(n)s started as a draft.", n=result.assessment.revision), "success")
    if result.not_carried:
        flash(_("These answers did not carry over to the new catalogue version and must be answered again: "
                "%(questions)s", questions="; ".join(result.not_carried_names(assessment))), "info")
    return redirect(url_for(".overview", assessment_id=result.assessment.id))


@bp.get("/assessments/<int:assessment_id>/document")
@login_required
def document(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    try:
        row, data = documents.read_for_download(assessment, current_user)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, url_for(".overview", assessment_id=assessment.id))
    return send_file(BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"konsekvensbedomning-{assessment.id}-r{assessment.revision}.pdf",
                     etag=row.sha256, last_modified=row.created_at)
