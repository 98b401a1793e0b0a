"""Writing a checked import: a new draft in the importing user's organisation, authored by them; ids, status,
authors and signatures never come from a file (docs/exchange-format.md, "Import")."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from .. import audit, policy
from ..errors import Forbidden
from ..extensions import db
from ..models import (
    Answer,
    Assessment,
    Measure,
    Risk,
    Status,
    User,
)
from ..report.identity import sha256_hex
from ..risk.service import enforce_decided_measures, sync_risks
from .export import FORMAT
from .import_check import parse_import


def import_assessment(data: bytes, actor: User, *, filename: str | None = None) -> Assessment:
    """A new draft in the actor's organisation from an exported file; ImportRejected writes nothing."""
    if not policy.can_create(actor):
        raise Forbidden(_l("Your role does not allow creating assessments."))
    plan = parse_import(data)
    catalog = plan.catalog
    assessment = Assessment(
        organisation_id=actor.organisation_id, title=plan.title, language=plan.language,
        catalog_id=catalog.id, catalog_version=catalog.version, platforms=plan.platforms,
        other_platform_name=plan.other_platform_name, author_id=actor.id, status=Status.DRAFT)
    db.session.add(assessment)
    db.session.flush()
    for key, platform, value in plan.answers:
        db.session.add(Answer(assessment_id=assessment.id, question_key=key, platform=platform, value=value,
                              updated_by_id=actor.id))
    by_ref: dict[str, Risk] = {}
    numbers = _risk_numbers([spec.ref for spec in plan.risks])
    for spec, number in zip(plan.risks, numbers, strict=True):
        derived = spec.rule is not None
        risk = Risk(assessment_id=assessment.id, number=number, rule_key=spec.rule, platform=spec.platform,
                    title=None if derived else spec.title,
                    description=None if derived else spec.description,
                    affected=None if derived else spec.affected,
                    source=None if derived else spec.source,
                    active=True, triggered_by=[], created_by_id=actor.id, **spec.ratings)
        db.session.add(risk)
        by_ref[spec.ref] = risk
    db.session.flush()
    for measure_spec in plan.measures:
        db.session.add(Measure(assessment_id=assessment.id, title=measure_spec.title,
                               description=measure_spec.description, owner=measure_spec.owner,
                               due_date=measure_spec.due_date, status=measure_spec.status,
                               risks=[by_ref[ref] for ref in measure_spec.risks]))
    db.session.flush()
    audit.record(assessment.organisation_id, "imported", actor=actor, assessment_id=assessment.id,
                 title=assessment.title, platforms=assessment.platforms,
                 catalogue=f"{catalog.id}-{catalog.version}", format=FORMAT, sha256=sha256_hex(data),
                 filename=(filename or "")[:200] or None, answers=len(plan.answers), risks=len(plan.risks),
                 measures=len(plan.measures))
    # Free-form risks follow the file; derived ones follow the imported answers (Art. 35(7)(c)); a residual
    # rating below the inherent one stays only where the file links a decided measure to the risk.
    sync_risks(assessment, actor)
    enforce_decided_measures(assessment, actor)
    return assessment


def _risk_numbers(refs: list[str]) -> list[int]:
    """Keep the file's R-numbers ("R12" stays R12, so references in the text still hold); any other
    reference gets the next free number after them."""
    wanted = [int(ref[1:]) if re.fullmatch(r"R[1-9][0-9]{0,5}", ref) else None for ref in refs]
    taken = {n for n in wanted if n is not None}
    if len(taken) != sum(n is not None for n in wanted):
        wanted, taken = [None] * len(refs), set()
    following = max(taken, default=0)
    numbers = []
    for number in wanted:
        if number is None:
            following += 1
            number = following
        numbers.append(number)
    return numbers
