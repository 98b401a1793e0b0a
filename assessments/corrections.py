"""What the author must correct after a legal reviewer sends an assessment back, and what changed against
each review comment when it comes back.

Everything here is read from the record as it is: the reason is the "request_changes" event of the audit
trail (workflow.request_changes), the sections to correct are the latest verdicts, the open items are the
unresolved comment threads, and "what changed" compares the answers as they stood when the assessment
was last submitted before the comment (review.snapshot_submission) with the answers now.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from . import review
from .answers import AnswerKey, catalog_of
from .catalog import Section
from .extensions import db
from .models import Assessment, AuditEvent, ReviewComment, SectionVerdict, Status, Submission, User, Verdict


@dataclass(frozen=True)
class OpenItem:
    """An unresolved comment thread: where it is (question and platform, or the whole assessment) and the
    step it belongs to, so the author can go there."""

    comment: ReviewComment
    section: Section | None  # None: a general comment
    question_key: str | None
    platform: str
    question_text: str | None

    @property
    def anchor(self) -> str:
        if not self.question_key:
            return "comments"
        return "q-" + self.question_key + (f"__{self.platform}" if self.platform else "")


@dataclass(frozen=True)
class Corrections:
    reason: str | None  # the reviewer's "what needs to change"
    requested_by: User | None
    requested_at: datetime | None
    sections: list[tuple[Section, str | None]]  # marked "to correct", with the reviewer's note
    open_items: list[OpenItem]

    def open_in(self, section_key: str) -> int:
        """Open items of one step: its unresolved comments, and its "to correct" verdict."""
        return (sum(1 for item in self.open_items if item.section is not None and item.section.key == section_key)
                + sum(1 for section, _note in self.sections if section.key == section_key))


Threads = dict[tuple[str | None, str], list[review.Thread]]


def open_items(assessment: Assessment, threads: Threads) -> list[OpenItem]:
    catalog = catalog_of(assessment)
    lang = assessment.language
    section_of = {q.key: s for s in catalog.sections for q in s.questions}
    items = []
    for (question_key, platform), group in threads.items():
        for thread in group:
            if thread.comment.resolved_at is not None:
                continue
            section = section_of.get(question_key or "")
            text = None
            if question_key and section is not None:
                text = catalog.question(question_key).text.get(lang)
            items.append(OpenItem(thread.comment, section, question_key, platform, text))
    order = {s.key: i for i, s in enumerate(catalog.sections)}
    return sorted(items, key=lambda i: (order.get(i.section.key, -1) if i.section else -1, i.comment.created_at))


def corrections(assessment: Assessment, threads: Threads | None = None,
                verdicts: dict[str, SectionVerdict] | None = None) -> Corrections:
    """What is open on the assessment; with the reviewer's reason while it is sent back. ``threads`` and
    ``verdicts``: as ``review.threads`` and ``review.latest_verdicts`` give them, when the page has read them."""
    catalog = catalog_of(assessment)
    reason = requested_by = requested_at = None
    if assessment.status is Status.CHANGES_REQUESTED:
        event = db.session.scalars(
            select(AuditEvent).options(joinedload(AuditEvent.actor))
            .where(AuditEvent.assessment_id == assessment.id, AuditEvent.action == "request_changes")
            .order_by(AuditEvent.seq.desc())).first()
        if event is not None:
            reason, requested_by, requested_at = event.details.get("reason"), event.actor, event.created_at
    sections = []
    for key, verdict in (review.latest_verdicts(assessment) if verdicts is None else verdicts).items():
        if verdict.verdict is not Verdict.TO_CORRECT:
            continue
        try:
            sections.append((catalog.section(key), verdict.note))
        except KeyError:
            continue
    order = {s.key: i for i, s in enumerate(catalog.sections)}
    sections.sort(key=lambda pair: order[pair[0].key])
    return Corrections(reason, requested_by, requested_at, sections,
                       open_items(assessment, review.threads(assessment) if threads is None else threads))


@dataclass(frozen=True)
class AnswerChange:
    before: Any  # the answer as last submitted before the comment was written
    after: Any  # the answer now


def changes_since_comments(assessment: Assessment, answers: dict[AnswerKey, Any],
                           threads: Threads) -> dict[int, AnswerChange]:
    """For each comment thread on a question whose answer changed since the comment: before and after.

    "Before" is the answer in the last submission made before the comment (what the reviewer read); a
    comment written before any submission is compared with the first one."""
    submissions = db.session.scalars(select(Submission).where(Submission.assessment_id == assessment.id)
                                     .order_by(Submission.number)).all()
    if not submissions:
        return {}
    snapshots = [(s.submitted_at, {(k, p): v for k, p, v in s.answers}) for s in submissions]
    result: dict[int, AnswerChange] = {}
    for (question_key, platform), group in threads.items():
        if not question_key:
            continue
        key: AnswerKey = (question_key, platform)
        for thread in group:
            read = snapshots[0][1]
            for submitted_at, answers in snapshots:
                if submitted_at <= thread.comment.created_at:
                    read = answers
            before, after = read.get(key), answers.get(key)
            if _normal(before) != _normal(after):
                result[thread.comment.id] = AnswerChange(before, after)
    return result


def _normal(value: Any) -> Any:
    return None if value in (None, "", []) else value


def open_sections(assessment: Assessment, steps: list, changes_since: list[review.Change] | None,
                  threads: dict[tuple[str | None, str], list[review.Thread]]) -> set[str] | None:
    """The sections the overview shows unfolded: those with an answer changed since the previous submission,
    an unresolved comment, an open item (a "to correct" verdict) or a question left. The others are answered
    and unchanged since the reviewer last saw them, and are folded. None: nothing to compare with (a first
    review, a draft), so every section is unfolded."""
    if changes_since is None:
        return None
    section_of = {q.key: s.key for s in catalog_of(assessment).sections for q in s.questions}
    unfolded = {step.key for step in steps if not step.complete or step.open_items}
    unfolded |= {section_of.get(change.question, "") for change in changes_since}
    unfolded |= {section_of.get(key, "") for (key, _platform), found in threads.items()
                 if key and any(thread.comment.resolved_at is None for thread in found)}
    return unfolded
