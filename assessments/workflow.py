"""The assessment life cycle: the one place that changes ``Assessment.status``.

draft ──submit──► in_review ──approve──► approved
                     │  ▲
        request_changes  └──submit── changes_requested

Every transition is checked against the acting user's role and organisation on the server, written to
the audit trail, and flushed but not committed: the request (or CLI command) commits once.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from . import audit
from .models import Assessment, Role, Status, User, utcnow

EDITABLE = frozenset({Status.DRAFT, Status.CHANGES_REQUESTED})
AUTHOR_ROLES = frozenset({Role.COMMUNICATOR, Role.LEGAL})


class WorkflowError(Exception):
    """A refused action; ``message`` is shown to the user in their language."""

    def __init__(self, message: str, *, status_code: int = 409) -> None:
        super().__init__(str(message))
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[Status]
    target: Status


SUBMIT = Transition("submit_for_review", EDITABLE, Status.IN_REVIEW)
REQUEST_CHANGES = Transition("request_changes", frozenset({Status.IN_REVIEW}), Status.CHANGES_REQUESTED)
APPROVE = Transition("approve", frozenset({Status.IN_REVIEW}), Status.APPROVED)


def same_organisation(user: User, assessment: Assessment) -> bool:
    return user.organisation_id == assessment.organisation_id


def can_view(user: User, assessment: Assessment) -> bool:
    return same_organisation(user, assessment)


def can_create(user: User) -> bool:
    return user.role in AUTHOR_ROLES


def can_edit(user: User, assessment: Assessment) -> bool:
    """Answers change only while the assessment is a draft or sent back, and only by an author role."""
    return same_organisation(user, assessment) and user.role in AUTHOR_ROLES and assessment.status in EDITABLE


def can_submit(user: User, assessment: Assessment) -> bool:
    return can_edit(user, assessment)


def can_review(user: User, assessment: Assessment) -> bool:
    """Legal reviews; never their own assessment (four-eyes principle behind Art. 35 sign-off)."""
    return (same_organisation(user, assessment) and user.role is Role.LEGAL
            and assessment.author_id != user.id and assessment.status is Status.IN_REVIEW)


can_approve = can_review
can_request_changes = can_review


def _check(transition: Transition, assessment: Assessment) -> None:
    if assessment.status not in transition.source:
        raise WorkflowError(_l("This assessment is no longer in a state that allows this action. "
                               "Reload the page to see its current state."))


def _move(transition: Transition, assessment: Assessment, actor: User, **details) -> None:
    previous = assessment.status
    assessment.status = transition.target
    assessment.updated_at = utcnow()
    audit.record(assessment.organisation_id, transition.name, actor=actor, assessment_id=assessment.id,
                 **{"from": previous.value, "to": transition.target.value, **details})


def submit_for_review(assessment: Assessment, actor: User) -> None:
    _check(SUBMIT, assessment)
    if not can_submit(actor, assessment):
        raise WorkflowError(_l("You may not submit this assessment."), status_code=403)
    assessment.submitted_at = utcnow()
    from .review import snapshot_submission

    snapshot_submission(assessment, actor)
    _move(SUBMIT, assessment, actor)


def request_changes(assessment: Assessment, actor: User, reason: str) -> None:
    _check(REQUEST_CHANGES, assessment)
    if not can_request_changes(actor, assessment):
        raise WorkflowError(_l("Only a legal reviewer other than the author may send it back."),
                            status_code=403)
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(_l("Say what needs to change."), status_code=400)
    _move(REQUEST_CHANGES, assessment, actor, reason=reason)


def mark_approved(assessment: Assessment, actor: User) -> None:
    """Called by the signing service once the signed document is archived; checks again under lock."""
    _check(APPROVE, assessment)
    if not can_approve(actor, assessment):
        raise WorkflowError(_l("Only a legal reviewer other than the author may approve."), status_code=403)
    assessment.approved_at = utcnow()
    _move(APPROVE, assessment, actor)
    supersede_previous(assessment, actor)


def supersede_previous(assessment: Assessment, actor: User) -> None:
    """Approving a revision marks the approved revision it replaces as superseded."""
    from .extensions import db

    previous = db.session.get(Assessment, assessment.previous_revision_id) if assessment.previous_revision_id \
        else None
    if previous is not None and previous.status is Status.APPROVED:
        previous.status = Status.SUPERSEDED
        previous.updated_at = utcnow()
        audit.record(previous.organisation_id, "superseded", actor=actor, assessment_id=previous.id,
                     **{"from": Status.APPROVED.value, "to": Status.SUPERSEDED.value, "by": assessment.id})
