"""Review: comments, verdicts per section, the DPO's advice, data subjects' views, what changed.

Art. 35(2): the controller seeks the DPO's advice; Art. 35(9): the views of data subjects where
appropriate. Both must be on record before approval (``approval.approval_blockers``). Services flush and
audit, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from . import audit, policy
from .answers import AnswerKey, catalog_of, load_answers
from .errors import Conflict, Forbidden, Invalid, NotFound
from .extensions import db
from .limits import COMMENT_MAX, NOTE_MAX, RECORD_MAX, TOO_LONG, require_within
from .models import (
    Assessment,
    DataSubjectViews,
    DpoAdvice,
    ReviewComment,
    SectionVerdict,
    Submission,
    User,
    Verdict,
    utcnow,
)
from .plaintext import require_plain_text

FOLLOWED = ("yes", "partly", "no")


def _same_org(user: User, assessment: Assessment) -> None:
    if user.organisation_id != assessment.organisation_id:
        raise NotFound(_l("Not allowed."))


def comment_target(assessment: Assessment, field: str | None) -> tuple[str | None, str]:
    """The question and platform a comment names, from the form's "<question>" or "<question>__<platform>"
    (the wizard's field names): a question of the assessment's catalogue, with one of the assessment's
    platforms exactly when the question is asked per platform. Anything else is refused, so no comment is
    stored against a platform the assessment does not have."""
    if not field:
        return None, ""
    key, _sep, platform = field.partition("__")
    try:
        question = catalog_of(assessment).question(key)
    except KeyError:
        question = None
    if question is None or platform not in (assessment.platforms if question.per_platform else [""]):
        raise Invalid(_l("The comment names a question that is not in this assessment."))
    return key, platform


def add_comment(assessment: Assessment, actor: User, body: str, *, question: str | None = None,
                platform: str = "", parent: ReviewComment | None = None) -> ReviewComment:
    _same_org(actor, assessment)
    if parent is None and question is not None:
        question, platform = comment_target(assessment, question + (f"__{platform}" if platform else ""))
    if not policy.can_comment(actor, assessment):
        raise Forbidden(_l("You cannot comment on this assessment now."))
    body = (body or "").strip()
    require_plain_text(body)
    if not body or len(body) > COMMENT_MAX:
        raise Invalid(_l("Write a comment (at most 5,000 characters)."))
    if parent is not None:
        if parent.assessment_id != assessment.id:
            raise NotFound(_l("Not allowed."))
        question, platform = parent.question_key, parent.platform
        parent = parent if parent.parent_id is None else db.session.get(ReviewComment, parent.parent_id)
    comment = ReviewComment(assessment_id=assessment.id, question_key=question, platform=platform or "",
                            parent_id=parent.id if parent else None, author_id=actor.id, body=body)
    db.session.add(comment)
    db.session.flush()
    audit.record(assessment.organisation_id, "comment_added", actor=actor, assessment_id=assessment.id,
                 comment=comment.id, reply_to=comment.parent_id, question=question, platform=platform, body=body)
    return comment


def resolve_comment(assessment: Assessment, actor: User, comment: ReviewComment, resolved: bool = True) -> None:
    _same_org(actor, assessment)
    if comment.assessment_id != assessment.id or comment.parent_id is not None:
        raise NotFound(_l("Not allowed."))
    if not policy.can_comment(actor, assessment):
        raise Forbidden(_l("You cannot comment on this assessment now."))
    comment.resolved_at, comment.resolved_by_id = (utcnow(), actor.id) if resolved else (None, None)
    audit.record(assessment.organisation_id, "comment_resolved" if resolved else "comment_reopened", actor=actor,
                 assessment_id=assessment.id, comment=comment.id)
    db.session.flush()


@dataclass(frozen=True)
class Thread:
    comment: ReviewComment
    replies: list[ReviewComment]


# The authors in the same query: a page shows every comment's author (no query per comment). Built once:
# every step and overview runs it (docs/benchmarks.md).
_COMMENTS = (select(ReviewComment).where(ReviewComment.assessment_id == bindparam("assessment_id"))
             .options(joinedload(ReviewComment.author)).order_by(ReviewComment.created_at, ReviewComment.id))


def threads(assessment: Assessment) -> dict[tuple[str | None, str], list[Thread]]:
    """Comment threads by (question key or None, platform), oldest first."""
    comments = db.session.scalars(_COMMENTS, {"assessment_id": assessment.id}).all()
    replies: dict[int, list[ReviewComment]] = {}
    for c in comments:
        if c.parent_id:
            replies.setdefault(c.parent_id, []).append(c)
    result: dict[tuple[str | None, str], list[Thread]] = {}
    for c in comments:
        if c.parent_id is None:
            result.setdefault((c.question_key, c.platform), []).append(Thread(c, replies.get(c.id, [])))
    return result


def set_verdict(assessment: Assessment, actor: User, section_key: str, verdict: str, note: str) -> None:
    _same_org(actor, assessment)
    if not policy.can_review(actor, assessment):
        raise Forbidden(_l("Only a legal reviewer other than the author gives verdicts, during review."))
    try:
        catalog_of(assessment).section(section_key)
        value = Verdict(verdict)
    except (KeyError, ValueError):
        raise Invalid(_l("Choose one of the alternatives.")) from None
    require_plain_text(note)
    require_within(note, NOTE_MAX, TOO_LONG)
    db.session.add(SectionVerdict(assessment_id=assessment.id, section_key=section_key, verdict=value,
                                  note=(note or "").strip() or None, reviewer_id=actor.id))
    audit.record(assessment.organisation_id, "verdict_given", actor=actor, assessment_id=assessment.id,
                 section=section_key, verdict=value.value, note=(note or "").strip() or None)
    db.session.flush()


def latest_verdicts(assessment: Assessment) -> dict[str, SectionVerdict]:
    rows = db.session.scalars(select(SectionVerdict).where(SectionVerdict.assessment_id == assessment.id)
                              .options(joinedload(SectionVerdict.reviewer))
                              .order_by(SectionVerdict.created_at, SectionVerdict.id))
    return {row.section_key: row for row in rows}


def record_dpo_advice(assessment: Assessment, actor: User, *, advice: str, on_behalf: bool) -> DpoAdvice:
    """The DPO records the advice, or legal records it on the DPO's behalf and says so. Whether it is followed
    is the organisation's response (``respond_to_dpo_advice``): a changed advice needs a new response."""
    _same_org(actor, assessment)
    policy.require(policy.advises(actor), _l("Only the DPO, or legal on the DPO's behalf, records the DPO's "
                                             "advice."))
    if not policy.records_advice_on_behalf(actor):
        on_behalf = False
    elif not on_behalf:
        raise Invalid(_l("Tick that you record the advice on the DPO's behalf."), field="on_behalf")
    if policy.is_closed(assessment):
        raise Conflict(_l("The assessment is approved and can no longer be changed."))
    advice = (advice or "").strip()
    require_plain_text(advice)
    if not advice:
        raise Invalid(_l("Write the DPO's advice."), field="advice")
    if len(advice) > RECORD_MAX:
        raise Invalid(TOO_LONG, field="advice")
    row = dpo_advice_of(assessment)
    if row is None:
        row = DpoAdvice(assessment_id=assessment.id)
        db.session.add(row)
    response_cleared = row.followed is not None and row.advice != advice
    if response_cleared:
        row.followed = row.overruled_reason = row.response_by_id = row.response_at = None
    row.advice, row.recorded_by_id, row.on_behalf_of_dpo, row.recorded_at = advice, actor.id, on_behalf, utcnow()
    audit.record(assessment.organisation_id, "dpo_advice_recorded", actor=actor, assessment_id=assessment.id,
                 advice=advice, on_behalf_of_dpo=on_behalf, response_cleared=response_cleared)
    db.session.flush()
    return row


def respond_to_dpo_advice(assessment: Assessment, actor: User, *, followed: str, reason: str) -> DpoAdvice:
    """The organisation's answer to the DPO's advice: followed, partly or not, and why not (ICO step 7)."""
    _same_org(actor, assessment)
    policy.require(policy.can_respond_to_dpo_advice(actor, assessment),
                   _l("The organisation's authors and legal reviewers decide whether the DPO's advice is followed."))
    row = dpo_advice_of(assessment)
    if row is None:
        raise Conflict(_l("The DPO has not given advice yet."))
    reason = (reason or "").strip()
    require_plain_text(reason)
    if followed not in FOLLOWED:
        raise Invalid(_l("Say whether the advice is followed."), field="followed")
    if followed != "yes" and not reason:
        raise Invalid(_l("Say why the advice is not (fully) followed."), field="overruled_reason")
    if len(reason) > RECORD_MAX:
        raise Invalid(TOO_LONG, field="overruled_reason")
    row.followed, row.overruled_reason = followed, (reason if followed != "yes" else "") or None
    row.response_by_id, row.response_at = actor.id, utcnow()
    audit.record(assessment.organisation_id, "dpo_advice_response_recorded", actor=actor,
                 assessment_id=assessment.id, followed=followed, overruled_reason=row.overruled_reason)
    db.session.flush()
    return row


def record_data_subject_views(assessment: Assessment, actor: User, *, sought: bool | None, whose: str,
                              summary: str, reason_not_sought: str) -> DataSubjectViews:
    _same_org(actor, assessment)
    policy.require(policy.takes_part_in_review(actor), _l("Your role cannot record the data subjects' views."))
    if policy.is_closed(assessment):
        raise Conflict(_l("The assessment is approved and can no longer be changed."))
    whose, summary, reason = (whose or "").strip(), (summary or "").strip(), (reason_not_sought or "").strip()
    require_plain_text(whose, summary, reason)
    for name, text in (("whose", whose), ("summary", summary), ("reason_not_sought", reason)):
        if len(text) > RECORD_MAX:
            raise Invalid(TOO_LONG, field=name)
    if sought is None:
        raise Invalid(_l("Say whether the views of data subjects were sought."), field="sought")
    if sought and not whose:
        raise Invalid(_l("Say whose views were sought and what they said."), field="whose")
    if sought and not summary:
        raise Invalid(_l("Say whose views were sought and what they said."), field="summary")
    if not sought and not reason:
        # Art. 35(9): "where appropriate" — when they are not sought, the reason is part of the record.
        raise Invalid(_l("Say why the views of data subjects were not sought."), field="reason_not_sought")
    row = db.session.scalars(select(DataSubjectViews).where(DataSubjectViews.assessment_id == assessment.id)).first()
    if row is None:
        row = DataSubjectViews(assessment_id=assessment.id, sought=sought, recorded_by_id=actor.id)
        db.session.add(row)
    row.sought, row.whose, row.summary = sought, whose or None, summary or None
    row.reason_not_sought, row.recorded_by_id, row.recorded_at = reason or None, actor.id, utcnow()
    audit.record(assessment.organisation_id, "data_subject_views_recorded", actor=actor,
                 assessment_id=assessment.id, sought=sought, whose=whose or None, summary=summary or None,
                 reason_not_sought=reason or None)
    db.session.flush()
    return row


@dataclass(frozen=True)
class Consultation:
    advice: DpoAdvice | None
    views: DataSubjectViews | None


def consultation_of(assessment: Assessment) -> Consultation:
    """The record of Art. 35(2) and 35(9) as it stands."""
    return Consultation(dpo_advice_of(assessment), data_subject_views_of(assessment))


def dpo_advice_of(assessment: Assessment) -> DpoAdvice | None:
    return db.session.scalars(select(DpoAdvice).where(DpoAdvice.assessment_id == assessment.id)).first()


def data_subject_views_of(assessment: Assessment) -> DataSubjectViews | None:
    return db.session.scalars(select(DataSubjectViews).where(DataSubjectViews.assessment_id == assessment.id)).first()


def snapshot_submission(assessment: Assessment, actor: User) -> Submission:
    """Keep the answers as submitted, so the next review can show what changed since."""
    number = (db.session.scalar(select(func.max(Submission.number)).where(
        Submission.assessment_id == assessment.id)) or 0) + 1
    answers = sorted([key, platform, value] for (key, platform), value in load_answers(assessment).items())
    row = Submission(assessment_id=assessment.id, number=number, answers=answers, submitted_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass(frozen=True)
class Change:
    question: str
    platform: str
    old: Any
    new: Any


def diff_answers(old: dict[AnswerKey, Any], new: dict[AnswerKey, Any]) -> list[Change]:
    empty: tuple[Any, ...] = (None, "", [])
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if (None if before in empty else before) != (None if after in empty else after):
            changes.append(Change(key[0], key[1], before, after))
    return changes


def changes_since_previous_submission(assessment: Assessment) -> list[Change] | None:
    """None when there is no earlier submission to compare with (a first review)."""
    rows = db.session.scalars(select(Submission).where(Submission.assessment_id == assessment.id)
                              .order_by(Submission.number.desc()).limit(2)).all()
    if len(rows) < 2:
        return None
    as_dict = lambda row: {(k, p): v for k, p, v in row.answers}  # noqa: E731
    return diff_answers(as_dict(rows[1]), as_dict(rows[0]))
