"""HTTP for the inquiry bundle and the JSON export and import (the logic is in ``assessments.exchange``).

Endpoints (for links from the overview and the dashboard):

* ``exports.bundle`` — GET /assessments/<id>/bundle.zip, any role of the organisation, approved or superseded
* ``exports.export_json`` — GET /assessments/<id>/export.json, any role of the organisation, any status
* ``exports.import_assessment`` — GET/POST /assessments/import, roles that may create (``policy.can_create``)
"""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from wtforms import Field

from .. import exchange, policy
from ..errors import DomainError
from ..extensions import db
from ..forms import Form
from .common import refuse, render_error, scoped_assessment

bp = Blueprint("exports", __name__)


class ImportForm(Form):
    # Never rendered as an input: it carries the problems found in the file to the error summary (first,
    # each linking to the file field, id "file"), while the file field itself shows one short error.
    problems = Field(_l("Problem in the file"), id="file")
    file = FileField(_l("Assessment file (JSON)"),
                     validators=[FileRequired(_l("Choose the file to import."))],
                     description=_l("A file exported from Konsekvens (format konsekvens.assessment/1)."))


def private(response):
    """Personal data: no shared or browser cache keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/assessments/<int:assessment_id>/bundle.zip")
@login_required
def bundle(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    try:
        result = exchange.inquiry_bundle(assessment, current_user)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, url_for("assessments.overview", assessment_id=assessment.id))
    except exchange.BundleError as exc:
        # Never hand over bytes that differ from what was signed and recorded.
        db.session.rollback()
        current_app.logger.error("inquiry bundle for assessment %s not made: %s", assessment.id, exc)
        return render_error(500, _("The archived document is missing or damaged, so the inquiry bundle was "
                                   "not made. An administrator can check the archive with the verification "
                                   "command."))
    return private(send_file(BytesIO(result.data), mimetype="application/zip", as_attachment=True,
                             download_name=result.filename))


@bp.get("/assessments/<int:assessment_id>/export.json")
@login_required
def export_json(assessment_id: int):
    assessment = scoped_assessment(assessment_id)
    try:
        data = exchange.export_json(assessment, current_user)
        db.session.commit()
    except DomainError as exc:
        return refuse(exc, url_for("assessments.overview", assessment_id=assessment.id))
    return private(send_file(BytesIO(data), mimetype="application/json", as_attachment=True,
                             download_name=f"konsekvensbedomning-{assessment.id}-r{assessment.revision}.json"))


@bp.route("/assessments/import", methods=["GET", "POST"])
@login_required
def import_assessment():
    if not policy.can_create(current_user):
        abort(403)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            assessment = exchange.import_assessment(upload.read(), current_user, filename=upload.filename)
            db.session.commit()
        except exchange.ImportRejected as exc:
            db.session.rollback()
            shown = [str(problem) for problem in exc.problems[:exchange.MAX_PROBLEMS]]
            hidden = len(exc.problems) - len(shown)
            if hidden:
                shown.append(ngettext("…and %(num)s more problem.", "…and %(num)s more problems.", hidden))
            form.problems.errors = shown
            form.file.errors = [_("The file was not imported; nothing was saved. Correct the problems listed "
                                  "above and upload it again.")]
        except DomainError as exc:
            return refuse(exc, url_for("assessments.dashboard"))
        else:
            flash(_("Imported as a new draft. Check the answers, risks and measures before you submit it."),
                  "success")
            return redirect(url_for("assessments.overview", assessment_id=assessment.id))
    failed = bool(form.file.errors or form.problems.errors)
    return render_template("exports/import.html", form=form), 400 if failed else 200
