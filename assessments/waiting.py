"""What waits for this user, at the top of the dashboard: each entry links to the page where they act and
says why it waits ("Changes requested 2026-11-28 by …"). Which kinds a user sees is ``policy``'s; everything
is the user's own organisation's (docs/notifications.md).

- to fix: sent back with changes requested, and drafts, of which the user is the author;
- to sign: in review, the user has given verdicts since it was submitted, and nothing blocks their approval
  (``approval.approval_blockers``, ``approval.independence_problems``);
- to review: in review, a legal reviewer other than the author, no verdict of theirs since it was submitted;
- the DPO's advice: in review without the DPO's advice (Art. 35(2));
- review date: approved, the review date (Art. 35(11)) passed or within ``notifications.REMINDER_DAYS``;
- platform facts: verified 12 months ago or more, or with facts marked unverified (administrators);
- re-assessment: approved and flagged because something it relied on changed (legal: all; authors: their own;
  docs/reassessment.md).

Each kind shows at most ``ACTIONS_SHOWN`` entries, most urgent first, with its total: a constant number of
queries however many there are, except "to sign", whose gates are checked for at most ``ACTIONS_SHOWN``
assessments the user has reviewed (docs/benchmarks.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import get_locale, gettext, ngettext
from sqlalchemy import and_, exists, func, select

from . import clock, policy
from .approval import approval_blockers, independence_problems
from .audit import as_utc
from .catalog import platform_label
from .catalog.facts import FACT_FIELDS
from .extensions import db
from .models import Assessment, AuditEvent, DpoAdvice, SectionVerdict, Status, Submission, User
from .notifications import REMINDER_DAYS
from .platform_facts import effective_facts
from .reassessment.flags import describe, flagged_statement, open_flags
from .report.identity import local_time

ACTIONS_SHOWN = 10  # per kind; the rest are one click away in the filtered list


@dataclass(frozen=True)
class Entry:
    title: str
    endpoint: str
    values: dict
    reason: str


@dataclass(frozen=True)
class Group:
    kind: str  # sign | review | advice | fix | draft | due | facts | reassess
    entries: list[Entry]
    total: int
    filters: dict[str, str] | None = field(default=None)  # the dashboard filter that lists all of them


def _day(moment) -> str:
    return local_time(as_utc(moment)).date().isoformat() if moment is not None else "–"


def _rows(statement) -> tuple[list[Assessment], int]:
    """At most ACTIONS_SHOWN assessments and the total, in one query (a window count)."""
    rows = db.session.execute(statement.add_columns(func.count().over()).limit(ACTIONS_SHOWN)).all()
    return [row[0] for row in rows], (rows[0][1] if rows else 0)


def _verdict_since_submission(user: User):
    return exists().where(SectionVerdict.assessment_id == Assessment.id, SectionVerdict.reviewer_id == user.id,
                          SectionVerdict.created_at >= Assessment.submitted_at)


def _submitters(ids: list[int]) -> dict[int, tuple[str, object]]:
    """Who submitted each assessment last, and when: one query."""
    if not ids:
        return {}
    latest = (select(Submission.assessment_id, func.max(Submission.number).label("number"))
              .where(Submission.assessment_id.in_(ids)).group_by(Submission.assessment_id).subquery())
    rows = db.session.execute(
        select(Submission.assessment_id, User.name, Submission.submitted_at)
        .join(latest, and_(latest.c.assessment_id == Submission.assessment_id, latest.c.number == Submission.number))
        .join(User, User.id == Submission.submitted_by_id))
    return {assessment_id: (name, when) for assessment_id, name, when in rows}


def _changes_requested(ids: list[int]) -> dict[int, tuple[str, object]]:
    """Who last sent each assessment back, and when (the audit trail's events): one query."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(AuditEvent.assessment_id, User.name, AuditEvent.created_at)
        .join(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.assessment_id.in_(ids), AuditEvent.action == "request_changes")
        .order_by(AuditEvent.seq))
    # The latest wins (ordered by the trail's sequence).
    return {assessment_id: (name, when) for assessment_id, name, when in rows if assessment_id is not None}


def _overview(assessment: Assessment, reason: str) -> Entry:
    return Entry(assessment.title, "assessments.overview", {"assessment_id": assessment.id}, reason)


def waiting_for(user: User, today: date | None = None) -> list[Group]:
    today = today or clock.today()
    mine = select(Assessment).where(Assessment.organisation_id == user.organisation_id)
    groups: list[Group] = []

    def add(kind: str, entries: list[Entry], total: int, filters: dict[str, str] | None = None) -> None:
        if entries:
            groups.append(Group(kind, entries, total, filters))

    if policy.reviews_for_approval(user):
        in_review = mine.where(Assessment.status == Status.IN_REVIEW, Assessment.author_id != user.id)
        reviewed, _total = _rows(in_review.where(_verdict_since_submission(user))
                                 .order_by(Assessment.submitted_at, Assessment.id))
        ready = [a for a in reviewed if not approval_blockers(a) and not independence_problems(a, user)]
        add("sign", [_overview(a, gettext("Nothing blocks approval any more; submitted %(date)s.",
                                          date=_day(a.submitted_at))) for a in ready], len(ready))
        to_review, total = _rows(in_review.where(~_verdict_since_submission(user))
                                 .order_by(Assessment.submitted_at, Assessment.id))
        by = _submitters([a.id for a in to_review])
        add("review", [_overview(a, gettext("Submitted for review %(date)s by %(name)s.",
                                            date=_day(by.get(a.id, ("", a.submitted_at))[1]),
                                            name=by.get(a.id, (a.author.name, None))[0])) for a in to_review],
            total, {"status": Status.IN_REVIEW.value})
    if policy.gives_dpo_advice(user):
        no_advice = ~exists().where(DpoAdvice.assessment_id == Assessment.id)
        asked, total = _rows(mine.where(Assessment.status == Status.IN_REVIEW, no_advice)
                             .order_by(Assessment.submitted_at, Assessment.id))
        add("advice", [Entry(a.title, "review.consultation", {"assessment_id": a.id},
                             gettext("In review since %(date)s; the DPO's advice is not recorded (Art. 35(2)).",
                                     date=_day(a.submitted_at))) for a in asked],
            total, {"status": Status.IN_REVIEW.value})
    if policy.fixes_own_assessments(user):
        sent_back, total = _rows(mine.where(Assessment.status == Status.CHANGES_REQUESTED,
                                            Assessment.author_id == user.id)
                                 .order_by(Assessment.updated_at, Assessment.id))
        by = _changes_requested([a.id for a in sent_back])
        add("fix", [_overview(a, gettext("Changes requested %(date)s by %(name)s.",
                                         date=_day(by.get(a.id, ("", a.updated_at))[1]),
                                         name=by.get(a.id, ("–", None))[0])) for a in sent_back],
            total, {"status": Status.CHANGES_REQUESTED.value})
        drafts, total = _rows(mine.where(Assessment.status == Status.DRAFT, Assessment.author_id == user.id)
                              .order_by(Assessment.updated_at.desc(), Assessment.id.desc()))
        add("draft", [Entry(a.title, "assessments.step", {"assessment_id": a.id, "section_key": a.last_step},
                            gettext("Your draft, last changed %(date)s.", date=_day(a.updated_at)))
                      if a.last_step else
                      _overview(a, gettext("Your draft, last changed %(date)s.", date=_day(a.updated_at)))
                      for a in drafts], total, {"status": Status.DRAFT.value})
    if policy.follows_review_dates(user):
        due, total = _rows(mine.where(Assessment.status == Status.APPROVED,
                                      Assessment.review_due <= today + timedelta(days=REMINDER_DAYS))
                           .order_by(Assessment.review_due, Assessment.id))
        add("due", [_overview(a, _due_reason(a.review_due, today)) for a in due if a.review_due], total,
            {"overdue": "1"})
    if policy.follows_all_reassessments(user) or policy.fixes_own_assessments(user):
        flagged = mine.where(Assessment.status == Status.APPROVED,
                             Assessment.id.in_(flagged_statement(user.organisation_id)))
        if not policy.follows_all_reassessments(user):
            flagged = flagged.where(Assessment.author_id == user.id)
        found, total = _rows(flagged.order_by(Assessment.approved_at, Assessment.id))
        flags = open_flags(a.id for a in found)
        lang = str(get_locale() or "sv")
        add("reassess", [_overview(a, " ".join(describe(f, lang) for f in flags.get(a.id, [])))
                         for a in found], total, {"flagged": "1"})
    if policy.keeps_platform_facts(user):
        facts = _facts_to_verify(user, today)
        add("facts", facts, len(facts))
    return groups


def _due_reason(review_due: date, today: date) -> str:
    if review_due <= today:
        return gettext("The review was due %(date)s (Art. 35(11)).", date=review_due.isoformat())
    days = (review_due - today).days
    return ngettext("To be reviewed by %(date)s, in %(num)s day (Art. 35(11)).",
                    "To be reviewed by %(date)s, in %(num)s days (Art. 35(11)).", days, date=review_due.isoformat())


def _facts_to_verify(user: User, today: date) -> list[Entry]:
    lang = str(get_locale() or "sv")  # the page's language
    entries = []
    for platform, facts in effective_facts(user.organisation_id).items():
        if facts.is_stale(today):
            reason = gettext("Verified %(date)s, 12 months ago or more.", date=facts.verified_on.isoformat())
        elif facts.unverified:
            reason = ngettext("%(num)s fact is not verified in its primary source.",
                              "%(num)s facts are not verified in their primary sources.",
                              len([f for f in facts.unverified if f in FACT_FIELDS]))
        else:
            continue
        entries.append(Entry(platform_label(platform, lang), "admin.edit_platform_facts", {"platform": platform},
                             reason))
    return entries
