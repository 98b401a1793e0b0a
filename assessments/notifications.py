"""What is told to whom, and when, by e-mail (docs/notifications.md). The workflow calls one function per
event; who receives it is ``policy``'s ``told_of_…``; each message is written in its recipient's language
with an absolute link to the page where they act, and queued by ``mail`` in the action's transaction.

Events: submitted for review (legal reviewers and the DPO; a DPO whose advice is not yet recorded is asked
for it instead), changes requested (the author), approved (the author and the DPO), and the review date
(Art. 35(11)) within ``REMINDER_DAYS`` or passed (the author, legal and the DPO), queued once per assessment,
window and recipient by ``flask mail send-due-reminders``, and re-assessment needed (the author and legal, once
per flag: docs/reassessment.md).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from flask import render_template
from flask_babel import force_locale, gettext
from sqlalchemy import select

from . import audit, clock, mail, policy
from .extensions import db
from .i18n import LANGUAGES
from .models import Assessment, Status, User, utcnow
from .report.identity import local_time
from .review import dpo_advice_of

logger = logging.getLogger(__name__)

REMINDER_DAYS = 30  # a review date this close is announced; the dashboard lists it from then on too

SUBMITTED, ADVICE, CHANGES, APPROVED = "submitted", "dpo_advice_requested", "changes_requested", "approved"
DUE_SOON, OVERDUE = "review_due_soon", "review_overdue"
REASSESS = "reassessment_needed"
KINDS = (SUBMITTED, ADVICE, CHANGES, APPROVED, DUE_SOON, OVERDUE, REASSESS)


def _subject(kind: str, assessment: Assessment) -> str:
    values = {"title": assessment.title, "date": assessment.review_due.isoformat() if assessment.review_due else ""}
    subjects = {
        SUBMITTED: gettext("To review: %(title)s", **values),
        ADVICE: gettext("The DPO's advice is requested: %(title)s", **values),
        CHANGES: gettext("Changes requested: %(title)s", **values),
        APPROVED: gettext("Approved: %(title)s", **values),
        DUE_SOON: gettext("To be reviewed by %(date)s: %(title)s", **values),
        OVERDUE: gettext("Review overdue: %(title)s", **values),
        REASSESS: gettext("Re-assessment needed: %(title)s", **values),
    }
    return " ".join(subjects[kind].split())  # one line, whatever the title holds


def _today() -> str:
    return local_time(utcnow()).date().isoformat()


def _recipients(assessment: Assessment, told: Callable[[User, Assessment], bool],
                actor: User | None) -> list[User]:
    users = db.session.scalars(select(User).where(User.organisation_id == assessment.organisation_id,
                                                  User.active.is_(True)).order_by(User.id))
    return [user for user in users if told(user, assessment) and (actor is None or user.id != actor.id)]


def _queue(user: User, kind: str, assessment: Assessment, endpoint: str, *, key: str | None = None,
           **context) -> bool:
    if not user.email_notifications:  # turned off on the account page; the waiting list still shows it
        return False
    language = user.language if user.language in LANGUAGES else LANGUAGES[0]
    try:
        link, account_link = mail.link(endpoint, assessment_id=assessment.id), mail.link("account.settings")
    except mail.LinkUnavailable as exc:  # a command without KONSEKVENS_BASE_URL: the action goes on
        logger.warning("no %s message to %s about assessment %s: %s", kind, user.email, assessment.id, exc)
        return False
    with force_locale(language):
        subject = _subject(kind, assessment)
        body = render_template(f"mail/{kind}.txt", user=user, assessment=assessment, link=link,
                               account_link=account_link, **context)
    if key is None:
        queued = mail.enqueue(user, kind=kind, subject=subject, body=body, assessment=assessment)
    else:
        queued = mail.enqueue_once(user, key=key, kind=kind, subject=subject, body=body, assessment=assessment)
    return queued is not None


def on_submitted(assessment: Assessment, actor: User) -> None:
    if not mail.configured():
        return
    advice_missing = dpo_advice_of(assessment) is None
    for user in _recipients(assessment, policy.told_of_submission, actor):
        if advice_missing and policy.asked_for_dpo_advice(user, assessment):
            _queue(user, ADVICE, assessment, "review.consultation", actor=actor, on=_today())
        else:
            _queue(user, SUBMITTED, assessment, "assessments.overview", actor=actor, on=_today())


def on_changes_requested(assessment: Assessment, actor: User, reason: str) -> None:
    if not mail.configured():
        return
    for user in _recipients(assessment, policy.told_of_changes_requested, actor):
        _queue(user, CHANGES, assessment, "assessments.overview", actor=actor, on=_today(), reason=reason)


def on_approved(assessment: Assessment, actor: User) -> None:
    if not mail.configured():
        return
    for user in _recipients(assessment, policy.told_of_approval, actor):
        _queue(user, APPROVED, assessment, "assessments.overview", actor=actor, on=_today())


def on_reassessment_needed(assessment: Assessment, flag_id: int, what: Callable[[str], str]) -> None:
    """An approved assessment relied on something that changed (docs/reassessment.md): its author and legal,
    once per flag and recipient. ``what`` says what changed, in the language it is given."""
    if not mail.configured():
        return
    for user in _recipients(assessment, policy.told_of_reassessment, None):
        _queue(user, REASSESS, assessment, "assessments.overview", key=f"{REASSESS}:{flag_id}:{user.id}", what=what)


def review_window(review_due: date, today: date) -> str | None:
    """``review_overdue`` from the review date on, ``review_due_soon`` in the ``REMINDER_DAYS`` before it."""
    if review_due <= today:
        return OVERDUE
    if review_due <= today + timedelta(days=REMINDER_DAYS):
        return DUE_SOON
    return None


def queue_review_reminders(today: date | None = None) -> int:
    """Queue the review-date reminders that are due and not yet queued (each once per assessment, window,
    review date and recipient: running this every hour sends nothing twice). Returns how many were queued;
    flushes, never commits."""
    if not mail.configured():
        return 0
    today = today or clock.today()
    horizon = today + timedelta(days=REMINDER_DAYS)
    queued = 0
    due = db.session.scalars(select(Assessment).where(Assessment.status == Status.APPROVED,
                                                      Assessment.review_due.is_not(None),
                                                      Assessment.review_due <= horizon)
                             .order_by(Assessment.review_due, Assessment.id))
    for assessment in due:
        assert assessment.review_due is not None
        window = review_window(assessment.review_due, today)
        if window is None:
            continue
        for user in _recipients(assessment, policy.told_of_review_date, None):
            key = f"{window}:{assessment.id}:{assessment.review_due.isoformat()}:{user.id}"
            if mail.already_queued(key):
                continue
            days = (assessment.review_due - today).days
            queued += _queue(user, window, assessment, "assessments.overview", key=key, days=days)
    return queued


def set_email_notifications(user: User, enabled: bool) -> None:
    """The user's own choice (the account page); the waiting list on the dashboard does not depend on it."""
    if user.email_notifications == enabled:
        return
    user.email_notifications = enabled
    audit.record(user.organisation_id, "email_notifications_changed", actor=user, enabled=enabled)
    db.session.flush()
