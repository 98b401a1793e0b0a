"""What goes into the report: the answers as a versioned JSON document, and the HTML WeasyPrint renders."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..answers import AnswerKey, catalog_of, screening, visible_slots
from ..models import Assessment, MeasureStatus, Treatment

ANSWERS_FORMAT = "konsekvens.answers/1"
MEASURE_STATUS_LABELS = {MeasureStatus.PLANNED: _l("Planned"), MeasureStatus.IN_PROGRESS: _l("In progress"),
                         MeasureStatus.DONE: _l("Done"), MeasureStatus.CANCELLED: _l("Cancelled")}
TREATMENT_LABELS = {Treatment.REDUCE: _l("Reduce with measures"), Treatment.AVOID: _l("Avoid"),
                    Treatment.ACCEPT: _l("Accept")}
LOCAL_TIME = ZoneInfo("Europe/Stockholm")


def answers_document(assessment: Assessment, answers: dict[AnswerKey, Any]) -> dict[str, Any]:
    """The machine-readable record embedded in the PDF as answers.json (PDF/A-3 associated file)."""
    catalog = catalog_of(assessment)
    outcome = screening(assessment, answers)
    items = []
    for section in catalog.sections:
        for slot in visible_slots(assessment, section, answers, outcome.level):
            items.append({"section": section.key, "question": slot.question.key,
                          "platform": slot.platform or None, "value": answers.get(slot.key)})
    return {
        "format": ANSWERS_FORMAT,
        "assessment": {
            "id": assessment.id,
            "revision": assessment.revision,
            "title": assessment.title,
            "organisation": assessment.organisation.name,
            "language": assessment.language,
            "platforms": list(assessment.platforms),
            "catalogue": {"id": catalog.id, "version": catalog.version},
            "other_platform_name": assessment.other_platform_name,
        },
        "screening": {"outcome": outcome.level,
                      "criteria": {t.criterion.key: list(t.questions) for t in outcome.triggered}},
        "answers": items,
    }


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


RATING_FIELD_LABELS = {"inherent_likelihood": _l("inherent likelihood"), "inherent_severity": _l("inherent severity"),
                       "residual_likelihood": _l("residual likelihood"), "residual_severity": _l("residual severity")}


def latest_changes(changes: list) -> list:
    """The latest change of each rating of a risk, in rating order: the justification of every rating that
    is not the one first proposed, printed next to the risk."""
    latest = {change.field: change for change in changes}
    return [latest[f] for f in RATING_FIELD_LABELS if f in latest]


@dataclass(frozen=True)
class SignatureInfo:
    signer_name: str
    signer_role: str  # translated label
    meaning: str
    signed_at: datetime
    registration_number: str | None
    seal_subject: str


def local_time(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TIME)


def document_id(assessment: Assessment) -> str:
    return f"KB-{assessment.organisation_id}-{assessment.id}-r{assessment.revision}"


def report_html(assessment: Assessment, answers: dict[AnswerKey, Any], *, answers_sha256: str,
                signature: SignatureInfo | None, status_label: str | None = None) -> str:
    catalog = catalog_of(assessment)
    lang = assessment.language
    outcome = screening(assessment, answers)
    from collections import Counter

    from sqlalchemy import select

    from .. import review
    from ..approval import attestations, decision_summary
    from ..extensions import db
    from ..models import AuditEvent
    from ..prior_consultation import prior_consultation_of
    from ..risk import service as risk_service
    from ..risk.presenter import present

    risks = risk_service.risks_of(assessment)
    views = present(assessment, risks)
    history = risk_service.rating_history(risks)
    trail = db.session.scalars(select(AuditEvent).where(AuditEvent.assessment_id == assessment.id)
                               .order_by(AuditEvent.seq)).all()
    threads = [t for group in review.threads(assessment).values() for t in group]

    def question_text(key: str) -> str:
        try:
            return catalog.question(key).text.get(lang)
        except KeyError:
            return key

    with force_locale(lang):
        attested = attestations(assessment, decision_summary(assessment)) if signature else None
        return render_template(
            "report/report.html",
            assessment=assessment,
            catalog=catalog,
            lang=lang,
            answers=answers,
            sections=[(section, visible_slots(assessment, section, answers, outcome.level))
                      for section in catalog.sections],
            screening=outcome,
            views=views,
            measures=risk_service.measures_of(assessment),
            number_of={v.risk.id: v.number for v in views},
            conclusion=risk_service.conclusion(assessment, risks, answers),
            consultation=prior_consultation_of(assessment),
            measure_status_labels=MEASURE_STATUS_LABELS,
            treatment_labels={t.value: str(label) for t, label in TREATMENT_LABELS.items()},
            rating_notes={risk.id: latest_changes(history[risk.id]) for risk in risks},
            rating_field_labels={f: str(label) for f, label in RATING_FIELD_LABELS.items()},
            attestations=attested,
            advice=review.dpo_advice_of(assessment),
            views_record=review.data_subject_views_of(assessment),
            verdicts=review.latest_verdicts(assessment),
            comment_threads=sorted(threads, key=lambda t: t.comment.created_at),
            question_text=question_text,
            trail=trail,
            trail_counts=sorted(Counter(e.action for e in trail).items()),
            signature=signature,
            signed_at_local=local_time(signature.signed_at) if signature else None,
            answers_sha256=answers_sha256,
            document_id=document_id(assessment),
        )
