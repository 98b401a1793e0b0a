"""Raising, describing and resolving "re-assessment needed" flags (docs/reassessment.md).

A flag is raised once per assessment and trigger, in the transaction of the change that caused it, with an
audit event and (with e-mail configured) a message to the assessment's author and legal; it is resolved when a
new revision of the assessment is approved (``resolve``, called by the workflow).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import audit, notifications
from ..answers import catalog_of, load_answers
from ..catalog import platform_label
from ..extensions import db
from ..models import Assessment, User, utcnow
from .legal import dpf_invalid_on
from .model import CATALOGUE, DPF_INVALID, FACT, ReassessmentFlag
from .relied import Slot

FACT_LABELS = {"eu_entity": _l("EU contracting entity"), "transfer_tool": _l("Transfer tool the platform relies on"),
               "transfer_basis": _l("Transfer basis as reported"),
               "joint_controller_addendum": _l("Joint-controller addendum exists"),
               "addendum_name": _l("Name of the addendum")}


def raise_flag(assessment: Assessment, kind: str, trigger: str, changes: dict, actor: User | None) -> \
        ReassessmentFlag | None:
    """Flag ``assessment`` for ``trigger`` unless it already is (then None). Flushes; never commits."""
    exists = db.session.scalar(select(ReassessmentFlag.id).where(ReassessmentFlag.assessment_id == assessment.id,
                                                                 ReassessmentFlag.trigger == trigger))
    if exists is not None:
        return None
    flag = ReassessmentFlag(organisation_id=assessment.organisation_id, assessment_id=assessment.id, kind=kind,
                            trigger=trigger, changes=changes, created_by_id=actor.id if actor else None)
    db.session.add(flag)
    db.session.flush()
    audit.record(assessment.organisation_id, "reassessment_flagged", actor=actor, assessment_id=assessment.id,
                 flag=flag.id, kind=kind, trigger=trigger, changes=changes)
    notifications.on_reassessment_needed(assessment, flag.id, lambda lang: describe(flag, lang))
    return flag


def open_flags(assessment_ids: Iterable[int]) -> dict[int, list[ReassessmentFlag]]:
    """The unresolved flags of each assessment (one query)."""
    ids = list(assessment_ids)
    found: dict[int, list[ReassessmentFlag]] = {}
    if ids:
        for flag in db.session.scalars(select(ReassessmentFlag).where(
                ReassessmentFlag.assessment_id.in_(ids), ReassessmentFlag.resolved_at.is_(None))
                .order_by(ReassessmentFlag.id)):
            found.setdefault(flag.assessment_id, []).append(flag)
    return found


def flags_of(assessment: Assessment) -> list[ReassessmentFlag]:
    """Every flag of the assessment, open or resolved, oldest first."""
    return list(db.session.scalars(select(ReassessmentFlag).where(ReassessmentFlag.assessment_id == assessment.id)
                                   .order_by(ReassessmentFlag.id)))


def flagged_statement(organisation_id: int):
    """The ids of the organisation's assessments with an open flag (for ``where(Assessment.id.in_(…))``)."""
    return select(ReassessmentFlag.assessment_id).where(ReassessmentFlag.organisation_id == organisation_id,
                                                        ReassessmentFlag.resolved_at.is_(None))


def describe(flag: ReassessmentFlag, lang: str = "sv") -> str:
    """What changed, in the current language (``lang`` names the platforms)."""
    changes = flag.changes
    day = flag.created_at.date().isoformat() if flag.created_at else ""
    if flag.kind == FACT:
        fields = ", ".join(str(FACT_LABELS.get(f, f)).lower() for f in changes.get("fields", []))
        return gettext("The organisation's facts about %(platform)s changed on %(date)s (%(fields)s), and the "
                       "assessment relied on them.",
                       platform=platform_label(changes.get("platform", ""), lang), date=day, fields=fields)
    if flag.kind == CATALOGUE:
        count = len(changes.get("questions", []))
        return ngettext("Catalogue version %(version)s asks %(num)s answered question differently.",
                        "Catalogue version %(version)s asks %(num)s answered questions differently.",
                        count, version=changes.get("to"))
    if flag.kind == DPF_INVALID:
        platforms = ", ".join(platform_label(p, lang) for p in changes.get("platforms", []))
        return gettext("The EU–US Data Privacy Framework no longer applies from %(date)s: the transfer for "
                       "%(platforms)s may not take place until the assessment is redone.",
                       date=changes.get("effective_on"), platforms=platforms)
    return flag.kind


def slots_to_answer_again(flags: Iterable[ReassessmentFlag]) -> list[tuple[Slot, ReassessmentFlag]]:
    """Each answer the flags say must be given again, with the first flag that says so."""
    seen: dict[Slot, ReassessmentFlag] = {}
    for flag in flags:
        for key, platform in flag.changes.get("questions", []):
            seen.setdefault((key, platform), flag)
    return list(seen.items())


@dataclass(frozen=True)
class AnswerAgain:
    key: str
    platform: str
    text: str  # the question as the revision's catalogue words it (the key when it no longer exists)
    section_key: str | None
    answered: bool
    why: str


def answer_again(revision: Assessment) -> list[AnswerAgain]:
    """For a draft revision of a flagged assessment: the answers its flags say must be given again, as this
    revision's catalogue words them, and whether each has been answered in it."""
    if not revision.previous_revision_id:
        return []
    flags = open_flags([revision.previous_revision_id]).get(revision.previous_revision_id, [])
    if not flags:
        return []
    catalog, answers, lang = catalog_of(revision), load_answers(revision), revision.language
    items = []
    for (key, platform), flag in slots_to_answer_again(flags):
        try:
            question = catalog.question(key)
        except KeyError:
            question = None
        text = question.text.get(lang) if question else key
        if platform:
            text = f"{text} ({revision.platform_name(platform, lang)})"
        items.append(AnswerAgain(key=key, platform=platform, text=text,
                                 section_key=question.section_key if question else None,
                                 answered=answers.get((key, platform)) not in (None, "", []),
                                 why=describe(flag, lang)))
    return items


def stopped_by_dpf(flags: dict[int, list[ReassessmentFlag]]) -> dict[int, list[str]]:
    """Per flagged assessment, the platforms whose transfer may not take place because the Data Privacy
    Framework no longer applies (from its date on; until then, none)."""
    if not any(f.kind == DPF_INVALID for group in flags.values() for f in group) or not dpf_invalid_on():
        return {}
    return {assessment_id: [p for f in group if f.kind == DPF_INVALID for p in f.changes.get("platforms", [])]
            for assessment_id, group in flags.items() if any(f.kind == DPF_INVALID for f in group)}


def resolve(previous: Assessment, approved: Assessment, actor: User) -> int:
    """Approving ``approved`` (a new revision of ``previous``) resolves ``previous``'s open flags."""
    flags = open_flags([previous.id]).get(previous.id, [])
    now = utcnow()
    for flag in flags:
        flag.resolved_at, flag.resolved_by_id, flag.resolved_by_assessment_id = now, actor.id, approved.id
    if flags:
        audit.record(previous.organisation_id, "reassessment_resolved", actor=actor, assessment_id=previous.id,
                     flags=[f.id for f in flags], by=approved.id)
        db.session.flush()
    return len(flags)
