"""The assessment life cycle: the one place that changes ``Assessment.status``.

draft ──submit──► in_review ──approve──► approved
                     │  ▲
        request_changes  └──submit── changes_requested

Every transition is checked against the acting user's role and organisation on the server (``policy``),
written to the audit trail, and flushed but not committed: the request (or CLI command) commits once. Whom a
transition concerns is told through ``notifications`` (an e-mail queued in the same transaction).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from . import audit, notifications
from .answers import progress
from .errors import Conflict, Forbidden, Invalid
from .extensions import db
from .models import Assessment, Status, User, utcnow
from .policy import EDITABLE, can_approve, can_request_changes, can_submit
from .reassessment.flags import resolve as resolve_flags
from .review import snapshot_submission


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[Status]
    target: Status


SUBMIT = Transition("submit_for_review", EDITABLE, Status.IN_REVIEW)
REQUEST_CHANGES = Transition("request_changes", frozenset({Status.IN_REVIEW}), Status.CHANGES_REQUESTED)
APPROVE = Transition("approve", frozenset({Status.IN_REVIEW}), Status.APPROVED)


def _check(transition: Transition, assessment: Assessment) -> None:
    if assessment.status not in transition.source:
        raise Conflict(_l("This assessment is no longer in a state that allows this action. "
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
        raise Forbidden(_l("You may not submit this assessment."))
    incomplete = [p for p in progress(assessment) if not p.complete]
    if incomplete:
        raise Invalid(_l("Answer every required question before submitting. Missing in: %(sections)s",
                         sections=", ".join(p.section.title.get(assessment.language) for p in incomplete)))
    assessment.submitted_at = utcnow()

    snapshot_submission(assessment, actor)
    _move(SUBMIT, assessment, actor)
    notifications.on_submitted(assessment, actor)


def request_changes(assessment: Assessment, actor: User, reason: str) -> None:
    _check(REQUEST_CHANGES, assessment)
    if not can_request_changes(actor, assessment):
        raise Forbidden(_l("Only a legal reviewer other than the author may send it back."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Say what needs to change."))
    _move(REQUEST_CHANGES, assessment, actor, reason=reason)
    notifications.on_changes_requested(assessment, actor, reason)


def mark_approved(assessment: Assessment, actor: User) -> None:
    """Called by the signing service once the signed document is archived; checks again under lock."""
    _check(APPROVE, assessment)
    if not can_approve(actor, assessment):
        raise Forbidden(_l("Only a legal reviewer other than the author may approve."))
    assessment.approved_at = utcnow()
    _move(APPROVE, assessment, actor)
    supersede_previous(assessment, actor)
    notifications.on_approved(assessment, actor)


def supersede_previous(assessment: Assessment, actor: User) -> None:
    """Approving a revision marks the approved revision it replaces as superseded."""
    previous = db.session.get(Assessment, assessment.previous_revision_id) if assessment.previous_revision_id \
        else None
    if previous is not None:
        resolve_flags(previous, assessment, actor)  # the new revision is the re-assessment (docs/reassessment.md)
    if previous is not None and previous.status is Status.APPROVED:
        previous.status = Status.SUPERSEDED
        previous.updated_at = utcnow()
        audit.record(previous.organisation_id, "superseded", actor=actor, assessment_id=previous.id,
                     **{"from": Status.APPROVED.value, "to": Status.SUPERSEDED.value, "by": assessment.id})
