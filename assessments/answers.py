"""Answers: reading them, deciding which questions apply, saving a step without losing an edit.

A step is saved only against the version of the assessment the user's page was built from; an edit made
on a stale page is refused and nothing already saved changes (the user's input is shown back to them).
"""
from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from . import audit
from .catalog import Catalog, Question, Section, get_catalog
from .catalog.screening import ScreeningOutcome, screening_outcome
from .catalog.screening import applies as catalog_applies
from .errors import Conflict, Forbidden
from .extensions import db
from .models import Answer, Assessment, User, utcnow
from .policy import can_edit

AnswerKey = tuple[str, str]  # (question key, platform or '')

# Catalogue sections whose subject has a formal record of its own instead of answers: the DPO's advice and
# the data subjects' views (Art. 35(2), 35(9)) are kept on the consultation page (review.py), which the
# wizard's step links to and the report prints, so that there is never a second copy to disagree.
RECORDED_SECTIONS = frozenset({"consultation"})


class StaleEdit(Conflict):
    def __init__(self) -> None:
        super().__init__(_l("Someone else saved this assessment after you opened the page. Your changes on "
                            "this page were not saved; they are shown below so you can compare and save "
                            "again."))


def catalog_of(assessment: Assessment) -> Catalog:
    """The catalogue version the assessment is pinned to; a newer version never changes it."""
    return get_catalog(assessment.catalog_id, assessment.catalog_version)


# Statements every step runs, built once with parameters: building a statement and its cache key on every
# request cost more than running it on SQLite (docs/benchmarks.md).
_ANSWERS_OF = select(Answer.question_key, Answer.platform, Answer.value).where(
    Answer.assessment_id == bindparam("assessment_id"))


def load_answers(assessment: Assessment) -> dict[AnswerKey, Any]:
    rows = db.session.execute(_ANSWERS_OF, {"assessment_id": assessment.id})
    return {(key, platform): value for key, platform, value in rows}


def answer_key(question: Question, platform: str) -> AnswerKey:
    return (question.key, platform if question.per_platform else "")


INCOMPLETE = "incomplete"


def screening(assessment: Assessment, answers: dict[AnswerKey, Any]) -> ScreeningOutcome:
    """Whether a DPIA is required, from the screening answers (WP248 rev.01, IMY's Art. 35(4) list).

    "Required" holds as soon as two criteria are met; "recommended" or "not required" only once every
    criterion question is answered — until then the outcome is ``incomplete``, so the questions that a
    "not required" conclusion demands (the reason, the DPO's view) are not asked prematurely.
    """
    catalog = catalog_of(assessment)
    outcome = screening_outcome(catalog, answers, assessment.platforms)
    if outcome.level in ("required", "not_assessed"):
        return outcome
    criteria = {c.key for c in catalog.screening_criteria}
    unanswered = [q for q in catalog.questions() if q.type == "yes_no" and criteria & set(q.tags)
                  and q.show_if is None and not is_answered(answers.get((q.key, "")))]
    return dataclasses.replace(outcome, level=INCOMPLETE) if unanswered else outcome


ANSWERS = cast(Table, Answer.__table__)
ASSESSMENTS = cast(Table, Assessment.__table__)
_UPDATE_ANSWER = update(ANSWERS).where(
    ANSWERS.c.assessment_id == bindparam("a"), ANSWERS.c.question_key == bindparam("q"),
    ANSWERS.c.platform == bindparam("p")).values(
    value=bindparam("value"), updated_at=bindparam("updated_at"), updated_by_id=bindparam("updated_by_id"))
_TOUCH = update(ASSESSMENTS).where(ASSESSMENTS.c.id == bindparam("id_"),
                                   ASSESSMENTS.c.version == bindparam("old_version")).values(
    version=bindparam("version"), updated_at=bindparam("updated_at"), last_step=bindparam("last_step"))

_VISIBILITY_INPUTS: dict[int, tuple[Catalog, frozenset[str]]] = {}


def visibility_inputs(catalog: Catalog) -> frozenset[str]:
    """The questions whose answers can change which questions are asked: every question a ``show_if``
    names, and every question the screening outcome reads (a criterion's yes/no question, a question with
    triggers). An answer to any other question leaves ``screening`` and the questions asked as they are."""
    known = _VISIBILITY_INPUTS.get(id(catalog))
    if known is not None and known[0] is catalog:
        return known[1]
    criteria = {c.key for c in catalog.screening_criteria}
    keys = frozenset(
        {q.show_if.question for q in catalog.questions() if q.show_if is not None and q.show_if.question}
        | {q.key for q in catalog.questions() if q.triggers or (q.type == "yes_no" and criteria & set(q.tags))})
    _VISIBILITY_INPUTS[id(catalog)] = (catalog, keys)  # the catalogue is kept, so its id is not reused
    return keys


def applies(catalog: Catalog, question: Question, platform: str, answers: dict[AnswerKey, Any],
            level: str | None = None) -> bool:
    """Whether a question is asked, given the answers so far (its ``show_if`` chain, including a
    condition on the screening outcome ``level``; computed from the answers when not given)."""
    return catalog_applies(catalog, question, platform, answers, outcome_level=level)


@dataclass(frozen=True)
class Slot:
    """One place an answer goes: a question, for one platform when it repeats per platform."""

    question: Question
    platform: str  # '' for global questions

    @property
    def key(self) -> AnswerKey:
        return (self.question.key, self.platform)

    @property
    def field_name(self) -> str:
        return f"{self.question.key}__{self.platform}" if self.platform else self.question.key


def slots(section: Section, platforms: list[str]) -> Iterator[Slot]:
    """Global questions first, then each platform's repetition, in catalogue order."""
    for question in section.questions:
        if not question.per_platform:
            yield Slot(question, "")
    for platform in platforms:
        for question in section.questions:
            if question.per_platform:
                yield Slot(question, platform)


def is_answered(value: Any) -> bool:
    return value not in (None, "", [])


def text_direction(text: Any) -> str:
    """``"rtl"`` for a text whose first strong character is right-to-left (Arabic, Hebrew …), else ``"auto"``.

    The rule of HTML's ``dir="auto"`` (Unicode UAX #9, P2–P3), computed here because WeasyPrint ignores
    ``dir="auto"`` and ``unicode-bidi: plaintext``: an answer written in Arabic or Hebrew is laid out
    right-to-left in the PDF as in the browser, and ``"auto"`` leaves every other text to the browser (and
    left-to-right in the PDF, like the rest of the report)."""
    if isinstance(text, str):
        for char in text:
            kind = unicodedata.bidirectional(char)
            if kind == "L":
                return "auto"
            if kind in ("R", "AL"):
                return "rtl"
    return "auto"


@dataclass(frozen=True)
class SectionProgress:
    section: Section
    answered: int
    required: int
    missing: tuple[Slot, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def visible_slots(assessment: Assessment, section: Section, answers: dict[AnswerKey, Any],
                  level: str | None = None) -> list[Slot]:
    """The slots of a section that are asked, given the answers (what the report and review show)."""
    if section.key in RECORDED_SECTIONS:
        return []
    catalog = catalog_of(assessment)
    if level is None:
        level = screening(assessment, answers).level
    return [slot for slot in slots(section, assessment.platforms)
            if applies(catalog, slot.question, slot.platform, answers, level)]


def progress(assessment: Assessment, answers: dict[AnswerKey, Any] | None = None,
             level: str | None = None) -> list[SectionProgress]:
    """``level``: the screening outcome of these answers, when the caller has it already."""
    catalog = catalog_of(assessment)
    answers = load_answers(assessment) if answers is None else answers
    if level is None:
        level = screening(assessment, answers).level
    result = []
    for section in catalog.sections:
        answered = required = 0
        missing = []
        for slot in visible_slots(assessment, section, answers, level):
            done = is_answered(answers.get(slot.key))
            answered += done
            if slot.question.required:
                required += 1
                if not done:
                    missing.append(slot)
        result.append(SectionProgress(section, answered, required, tuple(missing)))
    return result


def save_answers(assessment: Assessment, section: Section, values: dict[AnswerKey, Any], actor: User,
                 expected_version: int, answers: dict[AnswerKey, Any] | None = None) -> list[AnswerKey]:
    """Store the answers of one step (the wizard's ``save_step`` derives the risks after). Returns the keys
    of the answers that changed.

    ``answers``: the assessment's answers as this request loaded them (``load_answers``), if it did; they
    are brought in place to what is stored after the save, so neither the risk derivation nor the page
    loads them again. They cannot be out of date: any save since they were read changed the
    version, and the check below, under the row lock, refuses the edit; this step's own answers are
    taken from the rows read under the lock."""
    if not can_edit(actor, assessment):
        raise Forbidden(_l("This assessment cannot be edited now."))
    if assessment.version != expected_version:
        raise StaleEdit()
    # Lock the assessment row and read its version as committed now, before writing anything: checking
    # the copy loaded at the start of the request let two first saves of a step both pass the check and
    # collide on the answers' unique constraint (found by tests/test_concurrency.py on PostgreSQL). SQLite
    # has no row locks (the statement would be a plain read) and lets one writer at a time: there a save
    # in between is caught by the version check of the assessment's own update at the end (optimistic
    # locking, answered as a stale edit), which rolls back everything this save wrote.
    if db.session.get_bind().dialect.name != "sqlite":
        current = db.session.execute(select(Assessment.version).where(Assessment.id == assessment.id)
                                     .with_for_update()).scalar_one()
        if current != expected_version:
            raise StaleEdit()
    if answers is not None:
        # Checked above: nothing was saved since ``answers`` were read, so they are what is stored, and the
        # changed answers are written by statement, without loading the step's rows.
        return _save_changed(assessment, section, values, actor, answers)
    existing = {(a.question_key, a.platform): a for a in db.session.scalars(
        select(Answer).where(Answer.assessment_id == assessment.id,
                             Answer.question_key.in_([q.key for q in section.questions])))}
    changed = []
    for key, value in values.items():
        row = existing.get(key)
        old = row.value if row else None
        if (old if is_answered(old) else None) == (value if is_answered(value) else None):
            continue
        changed.append(key)
        if row is None:
            db.session.add(Answer(assessment_id=assessment.id, question_key=key[0], platform=key[1],
                                  value=value, updated_by_id=actor.id))
        else:
            row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor.id
        audit.record(assessment.organisation_id, "answer_changed", actor=actor, assessment_id=assessment.id,
                     question=key[0], platform=key[1], old=old, new=value)
        if answers is not None:
            answers[key] = value
    db.session.flush()
    _touch(assessment, section)
    return changed


def _save_changed(assessment: Assessment, section: Section, values: dict[AnswerKey, Any], actor: User,
                  answers: dict[AnswerKey, Any]) -> list[AnswerKey]:
    changed = []
    now = utcnow()
    for key, value in values.items():
        old = answers.get(key)
        if (old if is_answered(old) else None) == (value if is_answered(value) else None):
            continue
        changed.append(key)
        if key in answers:  # a row exists (perhaps with no answer in it); no Answer of it is loaded
            db.session.connection().execute(_UPDATE_ANSWER, {
                "a": assessment.id, "q": key[0], "p": key[1], "value": value, "updated_at": now,
                "updated_by_id": actor.id})
        else:
            db.session.add(Answer(assessment_id=assessment.id, question_key=key[0], platform=key[1],
                                  value=value, updated_by_id=actor.id))
        audit.record(assessment.organisation_id, "answer_changed", actor=actor, assessment_id=assessment.id,
                     question=key[0], platform=key[1], old=old, new=value)
        answers[key] = value
    db.session.flush()
    _touch(assessment, section)
    return changed


def _touch(assessment: Assessment, section: Section) -> None:
    """Touching the row bumps the version counter even when only answers changed, so a second page open on
    the old version is refused (optimistic locking). Written by one statement that checks the version, as
    the mapper's version counter would, without a flush of the unit of work; the loaded assessment is
    brought to what was written."""
    db.session.flush()  # whatever else is pending first (nothing, usually)
    version, now = assessment.version, utcnow()
    written = db.session.connection().execute(_TOUCH, {
        "id_": assessment.id, "old_version": version, "version": version + 1, "updated_at": now,
        "last_step": section.key})
    if written.rowcount != 1:
        raise StaleEdit()  # saved by someone else in between: the request rolls back what this one wrote
    for name, value in (("version", version + 1), ("updated_at", now), ("last_step", section.key)):
        set_committed_value(assessment, name, value)
