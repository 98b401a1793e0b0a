"""HTTP for assessments: parse, authorise, call a service, render. Views never touch status or files."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from io import BytesIO

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import String, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from .. import answers as answer_service
from .. import approval, audit, review, workflow
from ..answers import (StaleEdit, applies, catalog_of, load_answers, progress, screening, slots,
                       visible_slots)
from ..catalog import PLATFORMS, latest_catalog
from ..extensions import db
from ..forms import (ApproveForm, NewAssessmentForm, RequestChangesForm, field_value,
                     form_data_from_answers, platform_choices, step_form_class)
from ..archive import ArchiveError
from ..models import ArchivedDocument, Assessment, Role, Signature, Status
from ..platform_facts import effective_facts
from ..prior_consultation import prior_consultation_of
from ..report.document import MEASURE_STATUS_LABELS
from ..revisions import new_revision, newer_revision_exists
from ..signoff import approve_and_sign, archive
from ..workflow import WorkflowError
from .general import render_error
from .account import account_key
from .auth import per_account, throttle_message

bp = Blueprint("assessments", __name__)


def scoped_assessment(assessment_id: int, *options) -> Assessment:
    """Every lookup is scoped to the user's organisation: another organisation's id is simply not found.
    ``options``: loader options for what the page shows of the assessment (e.g. its author)."""
    assessment = db.session.scalars(
        select(Assessment).where(Assessment.id == assessment_id,
                                 Assessment.organisation_id == current_user.organisation_id)
        .options(*options)).first()
    if assessment is None:
        abort(404)
    return assessment


def refuse(exc: WorkflowError, target: str):
    db.session.rollback()
    if exc.status_code == 403:
        abort(403)
    flash(str(exc.message), "error")
    return redirect(target)


def expected_version(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1  # a missing or forged version is treated as stale, never as current


PER_PAGE = 20


def residual_levels(assessment_ids: list[int]) -> dict[int, str]:
    """Overall residual risk per assessment for a whole page in one query (no query per row)."""
    from ..models import Risk, Treatment
    from ..risk.matrix import LEVEL_ORDER, level

    levels: dict[int, str] = {i: "none" for i in assessment_ids}
    if assessment_ids:
        # Avoided risks do not remain (risk.matrix.remains); a platform whose transfer may not take place
        # needs the answers, so the overview and the register, not this list, say so.
        rows = db.session.execute(select(Risk.assessment_id, Risk.residual_likelihood, Risk.residual_severity)
                                  .where(Risk.assessment_id.in_(assessment_ids), Risk.active.is_(True),
                                         Risk.treatment.is_distinct_from(Treatment.AVOID)))
        for assessment_id, likelihood, severity in rows:
            candidate = level(likelihood, severity)
            if LEVEL_ORDER[candidate] > LEVEL_ORDER[levels[assessment_id]]:
                levels[assessment_id] = candidate
    return levels


ACTIONS_SHOWN = 10  # per kind, most urgent first; the rest are one click away in the filtered list


@dataclass(frozen=True)
class ActionGroup:
    kind: str  # review | fix | overdue
    assessments: list[Assessment]
    total: int
    filters: dict[str, str]  # the dashboard filter that lists all of them


def my_actions(user) -> list[ActionGroup]:
    """What needs this user's action first: to review, to fix, review overdue.

    At most ``ACTIONS_SHOWN`` of each kind: an organisation with hundreds waiting for review would
    otherwise load and render all of them on every visit. The total comes with the rows (a window count),
    so a group costs one query however many there are."""
    mine = select(Assessment, func.count().over()).where(Assessment.organisation_id == user.organisation_id)
    groups: list[ActionGroup] = []

    def add(kind: str, statement, filters: dict[str, str]) -> None:
        rows = db.session.execute(statement.limit(ACTIONS_SHOWN)).all()
        if rows:
            groups.append(ActionGroup(kind, [row[0] for row in rows], rows[0][1], filters))

    if user.role is Role.LEGAL:
        add("review", mine.where(Assessment.status == Status.IN_REVIEW, Assessment.author_id != user.id)
            .order_by(Assessment.submitted_at, Assessment.id), {"status": Status.IN_REVIEW.value})
    if user.role in workflow.AUTHOR_ROLES:
        add("fix", mine.where(Assessment.status == Status.CHANGES_REQUESTED, Assessment.author_id == user.id)
            .order_by(Assessment.updated_at, Assessment.id), {"status": Status.CHANGES_REQUESTED.value})
    if user.role in (Role.LEGAL, Role.DPO, Role.COMMUNICATOR):
        add("overdue", mine.where(Assessment.status == Status.APPROVED, Assessment.review_due <= date.today())
            .order_by(Assessment.review_due, Assessment.id), {"overdue": "1"})
    return groups


@bp.get("/")
@login_required
def dashboard():
    from sqlalchemy.orm import selectinload

    status = request.args.get("status", "")
    platform = request.args.get("platform", "")
    query = (request.args.get("q") or "").strip()[:100]
    statement = (select(Assessment).where(Assessment.organisation_id == current_user.organisation_id)
                 .options(selectinload(Assessment.author)))
    if status in {s.value for s in Status}:
        statement = statement.where(Assessment.status == Status(status))
    else:
        status = ""
    if platform in PLATFORMS:
        # Platform keys are a fixed vocabulary, so the quoted key matches exactly in the JSON text
        # on SQLite and PostgreSQL alike.
        statement = statement.where(cast(Assessment.platforms, String).like(f'%"{platform}"%'))
    else:
        platform = ""
    overdue = "1" if request.args.get("overdue") == "1" else ""
    if overdue:  # approved assessments past their review date (Art. 35(11)), as "needs your action" lists them
        statement = statement.where(Assessment.status == Status.APPROVED, Assessment.review_due <= date.today())
    if query:
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(Assessment.title.ilike(like, escape="\\"))
    page = db.paginate(statement.order_by(Assessment.updated_at.desc(), Assessment.id.desc()),
                       per_page=PER_PAGE, error_out=False, count=True)
    items = page.items
    return render_template("assessments/dashboard.html", assessments=items, page=page, today=date.today(),
                           can_create=workflow.can_create(current_user), levels=residual_levels([a.id for a in items]),
                           actions=my_actions(current_user), filters={"status": status, "platform": platform, "q": query, "overdue": overdue},
                           statuses=list(Status), platforms=list(PLATFORMS))


@bp.route("/assessments/new", methods=["GET", "POST"])
@login_required
def new():
    if not workflow.can_create(current_user):
        abort(403)
    form = NewAssessmentForm()
    form.platforms.choices = platform_choices(form.language.data or "sv")
    if form.validate_on_submit():
        unknown = set(form.platforms.data) - set(PLATFORMS)
        if unknown:
            form.platforms.errors.append(_("Choose platforms from the list."))
        else:
            catalog = latest_catalog()
            assessment = Assessment(
                organisation_id=current_user.organisation_id, title=form.title.data.strip(),
                language=form.language.data, catalog_id=catalog.id, catalog_version=catalog.version,
                platforms=[p for p in PLATFORMS if p in form.platforms.data], author_id=current_user.id,
                other_platform_name=(form.other_platform_name.data or "").strip() or None
                if "other" in form.platforms.data else None,
                status=Status.DRAFT)
            db.session.add(assessment)
            db.session.flush()
            audit.record(assessment.organisation_id, "created", actor=current_user, assessment_id=assessment.id,
                         title=assessment.title, platforms=assessment.platforms,
                         catalogue=f"{catalog.id}-{catalog.version}")
            db.session.commit()
            return redirect(url_for(".step", assessment_id=assessment.id, section_key=catalog.sections[0].key))
    return render_template("assessments/new.html", form=form), 400 if form.errors else 200


@bp.get("/assessments/<int:assessment_id>")
@login_required
def overview(assessment_id: int):
    assessment = scoped_assessment(assessment_id, joinedload(Assessment.author))
    answers = load_answers(assessment)
    catalog = catalog_of(assessment)
    document = db.session.scalars(
        select(ArchivedDocument).join(Signature, Signature.document_id == ArchivedDocument.id)
        .where(Signature.assessment_id == assessment.id, Signature.revision == assessment.revision)).first()
    outcome = screening(assessment, answers)
    return render_template(
        "assessments/overview.html", assessment=assessment, catalog=catalog, answers=answers,
        progress=progress(assessment, answers), document=document, screening=outcome,
        threads=review.threads(assessment), verdicts=review.latest_verdicts(assessment),
        can_comment=review.can_comment(current_user, assessment), blockers=approval.approval_blockers(assessment),
        changes_since=review.changes_since_previous_submission(assessment),
        sections=[(s, visible_slots(assessment, s, answers, outcome.level)) for s in catalog.sections],
        can_edit=workflow.can_edit(current_user, assessment),
        can_review=workflow.can_review(current_user, assessment),
        can_revise=(assessment.status is Status.APPROVED and workflow.can_create(current_user)
                    and not newer_revision_exists(assessment)),
        latest=latest_catalog(assessment.catalog_id),
        changes_form=RequestChangesForm(version=assessment.version),
    )


def asked_in_step(assessment: Assessment, section, answers: dict, level: str | None = None) -> list:
    """The slots a step shows. A question whose condition depends on another question of the same step
    is shown (JavaScript may hide it) and only counted when its condition holds; one hidden by an answer
    in an earlier step, or by the screening outcome (``level``, computed when not given), is not asked."""
    catalog = catalog_of(assessment)
    if level is None:
        level = screening(assessment, answers).level
    same_step = {q.key for q in section.questions}
    return [s for s in slots(section, assessment.platforms)
            if s.question.show_if is None or s.question.show_if.question in same_step
            or applies(catalog, s.question, s.platform, answers, level)]


@bp.route("/assessments/<int:assessment_id>/steps/<section_key>", methods=["GET", "POST"])
@login_required
def step(assessment_id: int, section_key: str):
    assessment = scoped_assessment(assessment_id)
    catalog = catalog_of(assessment)
    try:
        section = catalog.section(section_key)
    except KeyError:
        abort(404)
    if not workflow.can_edit(current_user, assessment):
        if request.method == "POST":
            abort(403)
        return redirect(url_for(".overview", assessment_id=assessment.id))
    lang = assessment.language
    answers = load_answers(assessment)
    # The screening outcome once per set of answers: the questions asked, the progress and the screening
    # box all depend on it (issue 9).
    outcome = screening(assessment, answers)
    shown = asked_in_step(assessment, section, answers, outcome.level)
    index = catalog.section_index(section.key)
    next_section = catalog.sections[index + 1] if index + 1 < len(catalog.sections) else None
    organisation_id = assessment.organisation_id
    suggests = any(q.suggest for q in section.questions)

    @cache
    def facts() -> dict:
        # Read only for a page that shows them, and only for a step with questions they suggest answers to:
        # a save that moves on to the next step needs none (issue 9).
        return effective_facts(organisation_id) if suggests else {}

    def render(form, shown, answers, outcome, status=200):
        return render_template("assessments/step.html", **step_context(
            assessment, catalog, section, form, shown, answers, next_section, facts(), outcome)), status

    if request.method == "GET":
        data = {**suggestions(shown, answers, facts(), lang), **form_data_from_answers(shown, answers)}
        form = step_form_class(shown, lang, assessment.platform_name)(data={**data, "version": assessment.version})
        return render(form, shown, answers, outcome)
    form = step_form_class(shown, lang, assessment.platform_name)()
    if not form.validate():
        return render(form, shown, answers, outcome, 400)
    submitted = {slot.key: field_value(form[slot.field_name]) for slot in shown}
    saved = dict(answers)  # brought to what is stored by save_step, instead of loading them again
    try:
        answer_service.save_step(assessment, section, submitted, current_user, expected_version(form.version.data),
                                 answers=saved)
        db.session.commit()
    except (StaleEdit, StaleDataError, IntegrityError):
        # IntegrityError: on SQLite (no row locks) a concurrent first save can still reach the answers'
        # unique constraint; it is the same stale edit, and nothing was written.
        db.session.rollback()
        flash(str(StaleEdit().message), "error")
        return render(form, shown, answers, outcome, 409)
    except WorkflowError as exc:
        return refuse(exc, url_for(".overview", assessment_id=assessment.id))
    answers = saved
    outcome = screening(assessment, answers)
    now_shown = asked_in_step(assessment, section, answers, outcome.level)
    added = [slot for slot in now_shown if slot not in shown]
    if added:
        # An answer made more questions apply (e.g. the screening outcome): ask them on this step.
        flash(_("Saved. Your answers mean that more questions apply on this step."), "info")
        data = {**suggestions(now_shown, answers, facts(), lang), **form_data_from_answers(now_shown, answers)}
        form = step_form_class(now_shown, lang, assessment.platform_name)(
            formdata=None, data={**data, "version": assessment.version})
        return render(form, now_shown, answers, outcome)
    if request.form.get("action") == "later":
        flash(_("Saved. You can continue where you left off."), "success")
        return redirect(url_for(".overview", assessment_id=assessment.id))
    level = outcome.level
    missing = [slot for slot in now_shown if slot.question.required
               and applies(catalog, slot.question, slot.platform, answers, level)
               and not answer_service.is_answered(answers.get(slot.key))]
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


def suggestions(shown, answers: dict, facts: dict, lang: str) -> dict:
    """Form data for unanswered per-platform questions that the platform facts can suggest."""
    data = {}
    for slot in shown:
        fact = facts.get(slot.platform)
        if slot.question.suggest and fact and not answer_service.is_answered(answers.get(slot.key)):
            value = fact.suggestion(slot.question, lang)
            if value is not None:
                data[slot.field_name] = value
    return data


def step_context(assessment, catalog, section, form, shown, answers, next_section, facts, outcome):
    lang = assessment.language
    public = assessment.organisation.is_public_body
    warnings = {}
    for slot in shown:
        value = field_value(form[slot.field_name]) if form.is_submitted() else answers.get(slot.key)
        texts = slot.question.warnings_for(value, public_body=public) if value not in (None, "", []) else []
        if texts:
            warnings[slot.field_name] = [t.get(lang) for t in texts]
    suggested = {slot.field_name: facts[slot.platform] for slot in shown
                 if slot.question.suggest and slot.platform in facts
                 and not answer_service.is_answered(answers.get(slot.key))}
    return dict(assessment=assessment, catalog=catalog, section=section, form=form, slots=shown,
                progress=progress(assessment, answers, outcome.level), next_section=next_section, lang=lang,
                warnings=warnings, suggested=suggested, today=date.today(),
                threads=review.threads(assessment), can_comment=review.can_comment(current_user, assessment),
                screening=outcome if section.key == "screening" else None)


@bp.post("/assessments/<int:assessment_id>/submit")
@login_required
def submit(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    target = url_for(".overview", assessment_id=assessment.id)
    incomplete = [p for p in progress(assessment) if not p.complete]
    if incomplete and workflow.can_submit(current_user, assessment):
        flash(_("Answer every required question before submitting. Missing in: %(sections)s",
                sections=", ".join(p.section.title.get(assessment.language) for p in incomplete)), "error")
        return redirect(target)
    try:
        workflow.submit_for_review(assessment, current_user)
        db.session.commit()
    except WorkflowError as exc:
        return refuse(exc, target)
    flash(_("Submitted for review."), "success")
    return redirect(target)


@bp.post("/assessments/<int:assessment_id>/request-changes")
@login_required
def request_changes(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    target = url_for(".overview", assessment_id=assessment.id)
    if current_user.role is not Role.LEGAL or assessment.author_id == current_user.id:
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
    except (WorkflowError, StaleDataError) as exc:
        return refuse(exc if isinstance(exc, WorkflowError) else StaleEdit(), target)
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
    if not workflow.can_approve(current_user, assessment):
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
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status_code == 400:  # wrong password: stay on the form
            g.password_check_failed = True
            form.password.errors.append(str(exc.message))
            return page(400)
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
    except WorkflowError as exc:
        return refuse(exc, target)
    flash(_("Revision %(n)s started as a draft.", n=result.assessment.revision), "success")
    if result.not_carried:
        catalog = catalog_of(assessment)
        lang = assessment.language
        names = []
        for key, platform in result.not_carried:
            try:
                text = catalog.question(key).text.get(lang)
            except KeyError:
                text = key
            names.append(f"{text} ({assessment.platform_name(platform, lang)})" if platform else text)
        flash(_("These answers did not carry over to the new catalogue version and must be answered again: "
                "%(questions)s", questions="; ".join(names)), "info")
    return redirect(url_for(".overview", assessment_id=result.assessment.id))


@bp.get("/assessments/<int:assessment_id>/document")
@login_required
def document(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    row = db.session.scalars(
        select(ArchivedDocument).where(ArchivedDocument.assessment_id == assessment.id,
                                       ArchivedDocument.organisation_id == current_user.organisation_id)
        .order_by(ArchivedDocument.created_at.desc())).first()
    if row is None:
        abort(404)
    try:
        data = archive().read(row.path, expected_sha256=row.sha256)
    except ArchiveError as exc:
        # Never serve bytes that differ from what was signed and recorded.
        current_app.logger.error("archived document %s unreadable: %s", row.sha256, exc)
        return render_error(500, _("The archived document is missing or damaged, so it is not served. "
                                   "An administrator can check the archive with the verification command."))
    audit.record(assessment.organisation_id, "document_downloaded", actor=current_user,
                 assessment_id=assessment.id, sha256=row.sha256)
    db.session.commit()
    return send_file(BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"konsekvensbedomning-{assessment.id}-r{assessment.revision}.pdf",
                     etag=row.sha256, last_modified=row.created_at)
