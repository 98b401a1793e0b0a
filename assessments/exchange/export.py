"""The export: an assessment as a ``konsekvens.assessment/1`` JSON document (docs/exchange-format.md)."""
from __future__ import annotations

import json
from typing import Any

from flask_babel import lazy_gettext as _l

from .. import audit, policy
from ..answers import catalog_of, is_answered, load_answers, slots
from ..errors import Forbidden
from ..models import (
    Assessment,
    User,
    utcnow,
)
from ..report.identity import sha256_hex
from ..risk.presenter import present
from ..risk.service import RATING_FIELDS, measures_of, risks_of

FORMAT = "konsekvens.assessment/1"

def export_document(assessment: Assessment) -> dict[str, Any]:
    """The assessment as a ``konsekvens.assessment/1`` document (docs/exchange-format.md)."""
    catalog = catalog_of(assessment)
    lang = assessment.language
    stored = load_answers(assessment)
    answers = []
    for section in catalog.sections:
        for slot in slots(section, list(assessment.platforms)):
            value = stored.get(slot.key)
            if is_answered(value):
                answers.append({"question": slot.question.key, "platform": slot.platform or None,
                                "value": value})
    views = present(assessment, risks_of(assessment))
    ref_of = {view.risk.id: view.number for view in views}
    risks = []
    for view in views:
        risk, rule = view.risk, view.rule
        risks.append({
            "ref": view.number,
            "rule": risk.rule_key,
            "platform": risk.platform or None,
            "title": rule.title.get(lang) if rule else risk.title,
            "description": rule.description.get(lang) if rule else risk.description,
            "affected": rule.affected.get(lang) if rule else risk.affected,
            "source": rule.source.get(lang) if rule else risk.source,
            "active": risk.active,
            "ratings": {name: getattr(risk, name) for name in RATING_FIELDS},
        })
    measures = [{
        "title": measure.title,
        "description": measure.description,
        "owner": measure.owner,
        "due_date": measure.due_date.isoformat() if measure.due_date else None,
        "status": measure.status.value,
        "risks": [ref_of[r.id] for r in sorted(measure.risks, key=lambda r: r.id) if r.id in ref_of],
    } for measure in measures_of(assessment)]
    return {
        "format": FORMAT,
        "exported_at": audit.as_utc(utcnow()).isoformat(timespec="seconds"),
        "assessment": {
            "title": assessment.title,
            "language": assessment.language,
            "platforms": list(assessment.platforms),
            "other_platform_name": assessment.other_platform_name,
            "catalogue": {"id": catalog.id, "version": catalog.version},
        },
        "answers": answers,
        "risks": risks,
        "measures": measures,
    }


def export_json(assessment: Assessment, actor: User) -> bytes:
    """The export as UTF-8 JSON; records "exported" (data leaving the tool is traceable)."""
    if not policy.can_view(actor, assessment):
        raise Forbidden(_l("You may not see this assessment."))
    document = export_document(assessment)
    data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    audit.record(assessment.organisation_id, "exported", actor=actor, assessment_id=assessment.id,
                 format=FORMAT, sha256=sha256_hex(data))
    return data
