"""HTTP for evidence files: the assessment's evidence page, attaching a file (from that page, a wizard step or
the risk register), downloading one, removing one (docs/evidence.md).

An upload may be larger than other requests (EVIDENCE_MAX_FILE_BYTES, against MAX_CONTENT_LENGTH for the
rest): the limit is raised for this one request before its body is read. The CSRF check reads the body, so
this view is exempt from the application-wide check and makes the same check itself, right after raising the
limit; a body over the limit (or a Content-Length claiming more) is refused unread, with the message on the
page the user came from.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from werkzeug.exceptions import RequestEntityTooLarge

from .. import policy, rendering, scope
from ..answers import Slot
from ..errors import DomainError, Invalid, NotFound
from ..evidence import listing, service
from ..evidence.model import EvidenceFile
from ..extensions import csrf, db
from ..forms import EvidenceForm, RemoveEvidenceForm, first_error
from ..models import Assessment
from .common import formatted_time, refuse, safe_next, scoped_assessment

bp = Blueprint("evidence", __name__, url_prefix="/assessments/<int:assessment_id>")

# Room for the form's other fields and the multipart framing around the file.
FORM_OVERHEAD = 64 * 1024


def page_url(assessment_id: int) -> str:
    return url_for("evidence.page", assessment_id=assessment_id)


def back_to(assessment_id: int) -> str:
    """Where the form came from (``next`` in the form's URL, never its body: a refused body is not read)."""
    return safe_next(request.args.get("next"), page_url(assessment_id))


def own_evidence(assessment: Assessment, evidence_id: int) -> EvidenceFile:
    try:
        return scope.evidence_of(assessment, evidence_id)
    except NotFound:
        abort(404)


@dataclass(frozen=True)
class Panel:
    """What a page that shows evidence next to questions, risks or measures needs: the files by
    ``Target.value`` and whether the user may attach and remove."""

    by_target: dict[str, list[EvidenceFile]]
    can_attach: bool
    max_mb: str


@bp.app_template_global()
def evidence_panel(assessment: Assessment) -> Panel:
    """For the includes in the wizard step and the risk register (templates/evidence/_panel.html); read once
    per request and assessment."""
    panels = g.setdefault("evidence_panels", {})
    if assessment.id not in panels:
        panels[assessment.id] = Panel(listing.by_target(listing.evidence_of(assessment)),
                                      policy.can_attach_evidence(current_user, assessment),
                                      listing.megabytes(current_app.config["EVIDENCE_MAX_FILE_BYTES"]))
    return panels[assessment.id]


@bp.app_template_global()
def question_evidence(assessment: Assessment, lang: str,
                      render: Callable[[Slot], Markup]) -> Callable[[Slot], Markup]:
    """``extra`` for the wizard step's questions (rendering.QuestionRenderer): for a question with files,
    ``render(slot)`` (templates/assessments/_evidence.html); for one without, the attach control alone, which
    depends on nothing but the question, the two languages and the size limit, so it is written once and
    kept (docs/benchmarks.md, "The wizard step with evidence"); nothing where the user may not attach."""
    panel = evidence_panel(assessment)
    template = current_app.jinja_env.get_template("assessments/_evidence.html")
    interface = str(get_locale() or "sv")

    def extra(slot: Slot) -> Markup:
        key = listing.Target(question_key=slot.question.key, platform=slot.platform).value
        if panel.by_target.get(key):
            return render(slot)
        if not panel.can_attach:
            return Markup("")
        return rendering.kept(("evidence", key, lang, interface, panel.max_mb, slot.question.text.get(lang)),
                              template, lambda: render(slot))
    return extra


# Stand-ins for what differs between the overview's questions (overview_evidence): plain letters, which
# neither HTML escaping nor URL quoting changes.
_KEY, _PLATFORM, _WHAT, _QID = "konsekvensKEYmark", "konsekvensPLATFORMmark", "konsekvensWHATmark", "konsekvensQIDmark"


@dataclass(frozen=True)
class _StandIn:
    key: str
    text: dict[str, str]


@dataclass(frozen=True)
class _StandInSlot:
    question: _StandIn
    platform: str


@bp.app_template_global()
def overview_evidence(assessment: Assessment, lang: str,
                      render: Callable[[object, str], Markup]) -> Callable[[Slot, str], Markup]:
    """The overview's per-question evidence (templates/evidence/_question.html through ``render(slot, qid)``):
    for a question with files, rendered; for one without, the attach form, which differs from question to
    question only in the question's key, platform, text and anchor, rendered once per request with stand-ins
    and filled in per question (docs/benchmarks.md, "The wizard step with evidence")."""
    panel = evidence_panel(assessment)
    blank: list[str] = []

    def extra(slot: Slot, qid: str) -> Markup:
        if panel.by_target.get(listing.Target(question_key=slot.question.key, platform=slot.platform).value):
            return render(slot, qid)
        if not panel.can_attach:
            return Markup("")
        if not current_app.config.get("QUESTION_CACHE", True):
            return render(slot, qid)
        if not blank:
            blank.append(str(render(_StandInSlot(_StandIn(_KEY, {lang: _WHAT}), _PLATFORM), _QID)))
        html = blank[0].replace(_KEY, slot.question.key).replace(_PLATFORM, slot.platform).replace(_QID, qid)
        return Markup(html.replace(_WHAT, str(escape(slot.question.text.get(lang)))))
    return extra


@bp.get("/evidence")
@login_required
def page(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    can_attach = policy.can_attach_evidence(current_user, assessment)
    items = listing.listing(assessment)
    return render_template(
        "evidence/page.html", assessment=assessment, items=items, can_attach=can_attach,
        form=EvidenceForm(formdata=None), targets=listing.target_choices(assessment) if can_attach else [],
        total=sum(item.row.size for item in items), formatted=formatted_time,
        max_mb=listing.megabytes(current_app.config["EVIDENCE_MAX_FILE_BYTES"]),
        total_mb=listing.megabytes(current_app.config["EVIDENCE_MAX_TOTAL_BYTES"]))


@bp.post("/evidence")
@csrf.exempt  # checked below, once the body may be read (module docstring)
@login_required
def upload(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    if not policy.can_attach_evidence(current_user, assessment):
        abort(403)
    target = back_to(assessment.id)
    limit = current_app.config["EVIDENCE_MAX_FILE_BYTES"]
    request.max_content_length = limit + FORM_OVERHEAD
    try:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        form = EvidenceForm()
        valid = form.validate()
    except RequestEntityTooLarge:
        return refuse(Invalid(service.too_large_message()), target)
    if not valid:
        return refuse(Invalid(first_error(form)), target)
    data = form.file.data.read(limit + 1)
    try:
        row = service.attach(assessment, current_user, data=data, filename=form.file.data.filename,
                             target=listing.Target.parse(form.target.data), relationship=form.relationship.data,
                             description=form.description.data)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    flash(_("Evidence file attached: %(name)s.", name=row.filename), "success")
    return redirect(target)


@bp.get("/evidence/<int:evidence_id>")
@login_required
def download(assessment_id: int, evidence_id: int):
    assessment = scoped_assessment(assessment_id)
    row = own_evidence(assessment, evidence_id)
    try:
        data = service.read_for_download(assessment, current_user, row)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, page_url(assessment.id))
    return send_file(BytesIO(data), mimetype=row.mime_type, as_attachment=True, download_name=row.filename,
                     etag=row.sha256, last_modified=row.uploaded_at)


@bp.post("/evidence/<int:evidence_id>/delete")
@login_required
def delete(assessment_id: int, evidence_id: int):
    assessment = scoped_assessment(assessment_id)
    row = own_evidence(assessment, evidence_id)
    if not policy.can_attach_evidence(current_user, assessment):
        abort(403)
    target = back_to(assessment.id)
    form = RemoveEvidenceForm()
    if not form.validate_on_submit():
        return refuse(Invalid(first_error(form)), target)
    name = row.filename
    try:
        path = service.remove(assessment, current_user, row)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, target)
    service.discard_if_unreferenced(path)
    flash(_("Evidence file removed: %(name)s.", name=name), "success")
    return redirect(target)
