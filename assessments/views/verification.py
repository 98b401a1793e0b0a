"""The verification page: upload a PDF, see whether its seal holds, whose seal it is, and whether it is one
of the documents archived by the user's own organisation.

Every organisation's installed seal is a trust root, so a document sealed by another organisation of the
installation validates too; the page therefore names the organisation whose seal it is, and says "valid for
your organisation" only for the user's own, so that another organisation's document never looks like theirs.

Nothing of the upload is stored: the bytes are checked in memory and only the hash and the outcome go to
the audit trail. A document archived by another organisation is reported exactly like an unknown one,
so the page never tells anyone what another organisation has signed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired

from .. import documents
from ..extensions import db
from ..forms import Form
from ..models import Role
from ..report import verification as checks
from ..roles import role_label
from .common import formatted_time

bp = Blueprint("verification", __name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024

# verify_pdf reports its problems in English; these are the same sentences, for translation. (A file that
# is not a PDF at all is an error on the form instead.)
PROBLEMS = {
    checks.PROBLEM_NO_SIGNATURE: _l("The document has no signature."),
    checks.PROBLEM_MODIFIED: _l("The document has been modified after it was signed: the signed content does "
                                "not match the signature."),
    checks.PROBLEM_BAD_SIGNATURE: _l("The signature value is not cryptographically valid."),
    checks.PROBLEM_UNTRUSTED: _l("The signer is unknown: the signing certificate does not chain to a trusted "
                                 "seal."),
    checks.PROBLEM_NOT_WHOLE_FILE: _l("The signature does not cover the whole file: content was added after "
                                      "signing."),
    checks.PROBLEM_NOT_PERMITTED: _l("The document was changed after it was certified, and its certification "
                                     "permits no changes."),
    checks.PROBLEM_ENCRYPTED: _l("The document is encrypted; a report sealed by Konsekvens never is. It was not "
                                 "checked further."),
    checks.PROBLEM_TOO_COSTLY: _l("Checking the document took longer than allowed; a report sealed by Konsekvens "
                                  "is checked in a fraction of that time. It was not checked further."),
}


def _pattern(template: str, name: str) -> re.Pattern:
    return re.compile(re.escape(template).replace(re.escape("{" + name + "}"), "(?P<value>.*)") + r"\Z", re.S)


_VALIDATION_FAILED = _pattern(checks.PROBLEM_VALIDATION_FAILED, "detail")
_EARLIER_SIGNATURE = _pattern(checks.PROBLEM_EARLIER_SIGNATURE, "field")
_TOO_MANY_SIGNATURES = _pattern(checks.PROBLEM_TOO_MANY_SIGNATURES, "count")
_TOO_MANY_REVISIONS = _pattern(checks.PROBLEM_TOO_MANY_REVISIONS, "count")


def translated_problem(problem: str) -> str:
    if problem in PROBLEMS:
        return str(PROBLEMS[problem])
    if match := _VALIDATION_FAILED.match(problem):
        return _("The signature could not be validated: %(detail)s", detail=match.group("value"))
    if match := _EARLIER_SIGNATURE.match(problem):
        return _("An earlier signature (%(field)s) is not valid.", field=match.group("value"))
    if match := _TOO_MANY_SIGNATURES.match(problem):
        return _("The document has %(count)s signatures; a report sealed by Konsekvens has one. It was not checked "
                 "further.", count=match.group("value"))
    if match := _TOO_MANY_REVISIONS.match(problem):
        return _("The document was changed %(count)s times after it was created; a report sealed by Konsekvens "
                 "was changed once, when it was sealed. It was not checked further.", count=match.group("value"))
    return problem


class VerifyForm(Form):
    document = FileField(_l("Signed PDF document"),
                         validators=[FileRequired(_l("Choose the PDF file you want to check."))])


def max_upload_bytes() -> int:
    return current_app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_BYTES


def too_large_message() -> str:
    return _("The file is too large. It can be at most %(size)s MB.", size=max_upload_bytes() // (1024 * 1024))


@dataclass(frozen=True)
class Result:
    check: documents.Check
    problems: list[str]
    signing_time: str | None

    @property
    def report(self):
        return self.check.report

    @property
    def sha256(self) -> str:
        return self.check.sha256

    @property
    def match(self):
        return self.check.match

    @property
    def sealed_by(self):
        return self.check.sealed_by

    @property
    def record_name(self) -> str | None:
        return self.check.record_name

    @property
    def record_problem(self) -> str | None:
        return self.check.record_problem

    @property
    def evidence_listed(self) -> int:
        return self.check.evidence_listed

    @property
    def evidence_problems(self) -> tuple[str, ...]:
        return self.check.evidence_problems

    @property
    def own_seal(self) -> bool:
        return self.check.own_seal(current_user)


def signer_role_label(value: str) -> str:
    try:
        return role_label(Role(value))
    except ValueError:
        return value


def render(form: VerifyForm, result: Result | None = None, status: int = 200):
    return render_template("verification/verify.html", form=form, result=result,
                           max_mb=max_upload_bytes() // (1024 * 1024), signer_role_label=signer_role_label,
                           formatted=formatted_time), status


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def verify():
    form = VerifyForm()
    if not form.is_submitted():
        return render(form)
    if not form.validate():
        return render(form, status=400)

    limit = max_upload_bytes()
    data = form.document.data.read(limit + 1)
    if len(data) > limit:
        form.document.errors.append(too_large_message())
        return render(form, status=413)

    check = documents.check_upload(data, current_user)
    db.session.commit()
    if not check.is_pdf:
        form.document.errors.append(_("The file is not a PDF document. Choose the signed PDF you downloaded "
                                      "from Konsekvens."))
        return render(form, status=400)
    result = Result(check=check, problems=[translated_problem(p) for p in check.report.problems],
                    signing_time=formatted_time(check.report.signing_time))
    return render(VerifyForm(formdata=None), result)


@bp.errorhandler(413)
def too_large(exc):
    """The upload exceeded MAX_CONTENT_LENGTH before the view could read it: show it on the form."""
    form = VerifyForm(formdata=None)  # the request body must not be parsed again
    form.document.errors = [too_large_message()]
    return render(form, status=413)
