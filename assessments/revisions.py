"""New revisions: an approved assessment is never edited; it is copied into a linked draft.

An assessment stays pinned to the catalogue version it started with. A new revision may move to the
latest version: answers whose question still exists (with the same per-platform shape and a value the
new question accepts) carry over; the rest are listed so the author knows what to answer again.
Art. 35(11): the assessment is reviewed when the risk changes — a new revision is how that is recorded.
An assessment flagged for re-assessment (docs/reassessment.md) leaves behind the answers that rested on what
changed, so they are answered again; the new revision's overview lists them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import audit
from .answers import catalog_of, load_answers
from .catalog import Question, latest_catalog
from .errors import Conflict, Forbidden
from .evidence.listing import copy_to_revision as copy_evidence
from .extensions import db
from .models import Answer, Assessment, Status, User
from .policy import can_create, same_organisation
from .reassessment.flags import open_flags, slots_to_answer_again
from .risk.service import copy_risks_and_measures


@dataclass(frozen=True)
class NewRevision:
    assessment: Assessment
    not_carried: tuple[tuple[str, str], ...]  # (question key, platform) of answers left behind
    answer_again: tuple[tuple[str, str], ...] = ()  # left behind because a flag says they no longer hold

    def not_carried_names(self, source: Assessment) -> list[str]:
        """The questions left behind, as the source revision's catalogue words them (with the platform)."""
        catalog = catalog_of(source)
        lang = source.language
        names = []
        for key, platform in self.not_carried:
            try:
                text = catalog.question(key).text.get(lang)
            except KeyError:
                text = key
            names.append(f"{text} ({source.platform_name(platform, lang)})" if platform else text)
        return names


def value_fits(question: Question, value: Any) -> bool:
    """Whether an old answer is a valid answer to the (possibly changed) question."""
    allowed = {v for v, _label in question.choices("sv")}
    if question.type == "multiple_choice":
        return isinstance(value, list) and set(value) <= allowed
    if question.type in ("single_choice", "yes_no"):
        return value in allowed
    return isinstance(value, str)


def previous_revision(assessment: Assessment) -> Assessment | None:
    """The revision this one replaces, within the same organisation."""
    if not assessment.previous_revision_id:
        return None
    return db.session.scalars(select(Assessment).where(
        Assessment.id == assessment.previous_revision_id,
        Assessment.organisation_id == assessment.organisation_id)).first()


def newer_revision_exists(assessment: Assessment) -> bool:
    return db.session.scalar(select(Assessment.id).where(Assessment.previous_revision_id == assessment.id)
                             .limit(1)) is not None


def new_revision(assessment: Assessment, actor: User, *, to_latest_catalog: bool) -> NewRevision:
    if not (same_organisation(actor, assessment) and can_create(actor)):
        raise Forbidden(_l("You may not start a new revision."))
    if assessment.status is not Status.APPROVED:
        raise Conflict(_l("Only an approved assessment gets a new revision; this one can still be edited."))
    if newer_revision_exists(assessment):
        raise Conflict(_l("A newer revision of this assessment already exists."))
    source_catalog = catalog_of(assessment)
    target = latest_catalog(assessment.catalog_id) if to_latest_catalog else source_catalog
    copy = Assessment(
        organisation_id=assessment.organisation_id, title=assessment.title, language=assessment.language,
        catalog_id=target.id, catalog_version=target.version, platforms=list(assessment.platforms),
        other_platform_name=assessment.other_platform_name, status=Status.DRAFT, author_id=actor.id,
        revision=assessment.revision + 1, previous_revision_id=assessment.id)
    db.session.add(copy)
    db.session.flush()
    not_carried = []
    again = {slot for slot, _flag in slots_to_answer_again(open_flags([assessment.id]).get(assessment.id, []))}
    for (key, platform), value in sorted(load_answers(assessment).items()):
        if (key, platform) in again:
            continue
        try:
            question = target.question(key)
        except KeyError:
            question = None
        if question is None or question.per_platform != bool(platform) or not value_fits(question, value):
            not_carried.append((key, platform))
            continue
        db.session.add(Answer(assessment_id=copy.id, question_key=key, platform=platform, value=value,
                              updated_by_id=actor.id))
    db.session.flush()

    copy_risks_and_measures(assessment, copy, actor)
    carried = copy_evidence(assessment, copy)
    audit.record(assessment.organisation_id, "revision_created", actor=actor, assessment_id=copy.id,
                 previous=assessment.id, revision=copy.revision, evidence_carried=carried,
                 catalogue_from=f"{source_catalog.id}-{source_catalog.version}",
                 catalogue_to=f"{target.id}-{target.version}",
                 not_carried=[f"{k}{'/' + p if p else ''}" for k, p in not_carried],
                 answer_again=[f"{k}{'/' + p if p else ''}" for k, p in sorted(again)])
    db.session.flush()
    return NewRevision(copy, tuple(not_carried), tuple(sorted(again)))
