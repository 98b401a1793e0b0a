"""Every lookup scoped to the user's organisation: another organisation's assessment, and any record of it,
is simply not found — the same answer as for an id that does not exist (GDPR Art. 32(1)(b))."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from .errors import NotFound
from .evidence.model import EvidenceFile
from .extensions import db
from .models import Assessment, Measure, ReviewComment, Risk, User

NOT_FOUND = _l("The page does not exist, or it belongs to another organisation.")


# Built once (every page of an assessment runs it): building a statement and its cache key per request cost
# more than running it on SQLite (docs/benchmarks.md).
_ASSESSMENT = select(Assessment).where(Assessment.id == bindparam("assessment_id"),
                                       Assessment.organisation_id == bindparam("organisation_id"))


def assessment_for(user: User, assessment_id: int, *options) -> Assessment:
    """``options``: loader options for what the page shows of the assessment (e.g. its author)."""
    statement = _ASSESSMENT.options(*options) if options else _ASSESSMENT
    assessment = db.session.scalars(statement, {"assessment_id": assessment_id,
                                                "organisation_id": user.organisation_id}).first()
    if assessment is None:
        raise NotFound(NOT_FOUND)
    return assessment


def user_for(user: User, user_id: int) -> User:
    """A user of ``user``'s organisation; another organisation's user is not found (users.py)."""
    other = db.session.scalars(
        select(User).where(User.id == user_id, User.organisation_id == user.organisation_id)).first()
    if other is None:
        raise NotFound(NOT_FOUND)
    return other


def _child(model, assessment: Assessment, child_id: int | None):
    row = None if child_id is None else db.session.scalars(
        select(model).where(model.id == child_id, model.assessment_id == assessment.id)).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def risk_of(assessment: Assessment, risk_id: int | None) -> Risk:
    return _child(Risk, assessment, risk_id)


def measure_of(assessment: Assessment, measure_id: int | None) -> Measure:
    return _child(Measure, assessment, measure_id)


def comment_of(assessment: Assessment, comment_id: int | None) -> ReviewComment:
    return _child(ReviewComment, assessment, comment_id)


def evidence_of(assessment: Assessment, evidence_id: int | None) -> EvidenceFile:
    return _child(EvidenceFile, assessment, evidence_id)
