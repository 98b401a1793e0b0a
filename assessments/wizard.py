"""The wizard as a service: starting an assessment, which questions a step asks, what it suggests and warns
about, saving a step (the risks follow the answers, Art. 35(7)(c)) and what is still missing.

The view only parses the form and renders; everything it decides comes from here (docs/architecture.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from . import audit, policy
from .answers import (
    RECORDED_SECTIONS,
    AnswerKey,
    Slot,
    applies,
    catalog_of,
    is_answered,
    progress,
    save_answers,
    screening,
    slots,
)
from .catalog import PLATFORMS, Section, latest_catalog
from .catalog.screening import ScreeningOutcome
from .errors import Invalid
from .extensions import db
from .models import Assessment, Status, User
from .reassessment.legal import dpf_invalid_on
from .risk.service import affects_risks, sync_risks


def start_assessment(actor: User, *, title: str, language: str, platforms: list[str],
                     other_platform_name: str | None) -> Assessment:
    """A new draft on the latest catalogue, authored by ``actor``, platforms in the catalogue's order."""
    policy.require(policy.can_create(actor), _l("Your role does not allow creating assessments."))
    if set(platforms) - set(PLATFORMS):
        raise Invalid(_l("Choose platforms from the list."))
    catalog = latest_catalog()
    assessment = Assessment(
        organisation_id=actor.organisation_id, title=title.strip(), language=language, catalog_id=catalog.id,
        catalog_version=catalog.version, platforms=[p for p in PLATFORMS if p in platforms], author_id=actor.id,
        other_platform_name=(other_platform_name or "").strip() or None if "other" in platforms else None,
        status=Status.DRAFT)
    db.session.add(assessment)
    db.session.flush()
    audit.record(assessment.organisation_id, "created", actor=actor, assessment_id=assessment.id,
                 title=assessment.title, platforms=assessment.platforms,
                 catalogue=f"{catalog.id}-{catalog.version}")
    return assessment


def asked_in_step(assessment: Assessment, section: Section, answers: dict, level: str | None = None) -> list[Slot]:
    """The slots a step shows. A question whose condition depends on another question of the same step
    is shown (JavaScript may hide it) and only counted when its condition holds; one hidden by an answer
    in an earlier step, or by the screening outcome (``level``, computed when not given), is not asked."""
    if section.key in RECORDED_SECTIONS:
        return []  # the consultation page keeps the record (answers.RECORDED_SECTIONS)
    catalog = catalog_of(assessment)
    if level is None:
        level = screening(assessment, answers).level
    same_step = {q.key for q in section.questions}
    return [s for s in slots(section, assessment.platforms)
            if s.question.show_if is None or s.question.show_if.question in same_step
            or applies(catalog, s.question, s.platform, answers, level)]


# A transfer tool the law has overtaken is never suggested: from the day an operator records that the EU–US
# Data Privacy Framework no longer applies, a transfer may not rely on it (Art. 45; docs/reassessment.md),
# whatever the platform facts still say.
OVERTAKEN_SUGGESTIONS = {"dpf_adequacy": dpf_invalid_on}


class _Law:
    """Whether a suggested value has been overtaken, looked up once per page and only when it matters."""

    def __init__(self) -> None:
        self.seen: dict[str, bool] = {}

    def overtakes(self, value: Any) -> bool:
        if not isinstance(value, str) or value not in OVERTAKEN_SUGGESTIONS:
            return False
        if value not in self.seen:
            self.seen[value] = OVERTAKEN_SUGGESTIONS[value]()
        return self.seen[value]


def suggestions(shown: list[Slot], answers: dict, facts: dict, lang: str) -> dict[str, Any]:
    """Form data for unanswered per-platform questions that the platform facts can suggest."""
    data = {}
    law = _Law()
    for slot in shown:
        fact = facts.get(slot.platform)
        if slot.question.suggest and fact and not is_answered(answers.get(slot.key)):
            value = fact.suggestion(slot.question, lang)
            if value is not None and not law.overtakes(value):
                data[slot.field_name] = value
    return data


def suggested_facts(shown: list[Slot], answers: dict, facts: dict) -> dict[str, Any]:
    """The platform facts behind each suggestion shown, by field name."""
    law = _Law()
    return {slot.field_name: facts[slot.platform] for slot in shown
            if slot.question.suggest and slot.platform in facts and not is_answered(answers.get(slot.key))
            and not (slot.question.type == "single_choice"
                     and law.overtakes(facts[slot.platform].suggestion(slot.question, None)))}


def warnings(assessment: Assessment, shown: list[Slot], values: dict[str, Any]) -> dict[str, list[str]]:
    """The catalogue's warnings for the values on the page (``values`` by field name), in the assessment's
    language."""
    public = assessment.organisation.is_public_body
    found = {}
    for slot in shown:
        value = values.get(slot.field_name)
        texts = slot.question.warnings_for(value, public_body=public) if value not in (None, "", []) else []
        if texts:
            found[slot.field_name] = [t.get(assessment.language) for t in texts]
    return found


@dataclass(frozen=True)
class Feedback:
    """What the page says about answers not yet saved: the warnings and the screening outcome. The same
    functions decide them as on save; the live preview changes nothing."""

    warnings: dict[str, list[str]]
    outcome: ScreeningOutcome


def feedback(assessment: Assessment, shown: list[Slot], answers: dict[AnswerKey, Any],
             values: dict[str, Any]) -> Feedback:
    """``values``: the step's values as sent, by field name; ``answers``: what is stored."""
    merged = {**answers, **{slot.key: values.get(slot.field_name) for slot in shown}}
    return Feedback(warnings(assessment, shown, values), screening(assessment, merged))


def save_step(assessment: Assessment, section: Section, values: dict[AnswerKey, Any], actor: User,
              expected_version: int, answers: dict[AnswerKey, Any] | None = None) -> int:
    """Store one step's answers (``answers.save_answers``) and, when a changed answer can change the risks
    (``risk.service.affects_risks``), re-derive them from the answers as stored (``answers`` if given,
    brought up to date in place; otherwise loaded again). Returns how many answers changed."""
    platforms_before = None if answers is None else {platform for _key, platform in answers}
    changed = save_answers(assessment, section, values, actor, expected_version, answers=answers)
    if affects_risks(assessment, changed, platforms_before):
        sync_risks(assessment, actor, answers)  # risks follow the answers (Art. 35(7)(c))
    return len(changed)


def missing_required(assessment: Assessment, shown: list[Slot], answers: dict, level: str) -> list[Slot]:
    """The required questions of a step that apply and are not answered."""
    catalog = catalog_of(assessment)
    return [slot for slot in shown if slot.question.required and not is_answered(answers.get(slot.key))
            and applies(catalog, slot.question, slot.platform, answers, level)]  # the cheap test first


def incomplete_sections(assessment: Assessment) -> list:
    """The sections with required questions still unanswered (submission waits for them)."""
    return [p for p in progress(assessment) if not p.complete]
