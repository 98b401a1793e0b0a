"""The assessment's record as JSON: what the signed report says, for a machine (docs/record-format.md).

``record.json`` is embedded in the sealed PDF/A-3 as an associated file (ISO 19005-3 §6.8, relationship
"Data") and its SHA-256 is written into the signature's reason, so the seal covers it twice over. It holds
the answers, the screening, every risk with its inherent and residual ratings, the justifications of changed
ratings and the treatment decision, the measures, the conclusion with each platform's transfer outcome, the
prior consultation record (Art. 36), the DPO's advice and the data subjects' views (Art. 35(2), 35(9)), the
review verdicts and the approval with its attestations, and the list of the evidence files embedded beside it
(name in the PDF, SHA-256, size, MIME type, relationship and what each supports; report/embedded.py checks the
embedded files against it).

Documents sealed before this format embed ``answers.json`` (format ``konsekvens.answers/1``: the answers and
the screening only); they are still read (:data:`RECORD_FILES`), and :func:`legacy_answers_document` still
builds that format, so an approval of that kind interrupted by a crash can be checked and completed.

The JSON Schema is ``record.schema.json`` beside this module, published as ``docs/record.schema.json``.
"""
from __future__ import annotations

import functools
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from jsonschema import Draft202012Validator

from .. import review
from ..answers import AnswerKey, catalog_of, screening, visible_slots
from ..approval import attestations, decision_summary
from ..approval_authority import approval_authority
from ..audit import as_utc
from ..evidence.listing import Listed, listing, record_entries
from ..models import Assessment
from ..prior_consultation import prior_consultation_of
from ..risk import service
from ..risk.matrix import LEVEL_LABELS, level
from ..risk.presenter import present
from .identity import document_id, local_time

RECORD_FORMAT = "konsekvens.record/1"
RECORD_FILE = "record.json"
LEGACY_FORMAT = "konsekvens.answers/1"
LEGACY_FILE = "answers.json"
# What a sealed report may carry, newest first: new documents carry record.json, older ones answers.json.
RECORD_FILES = (RECORD_FILE, LEGACY_FILE)
SCHEMA_PATH = Path(__file__).parent / "record.schema.json"


class RecordInvalid(ValueError):
    """An embedded record that does not follow its published schema; the message names the first problem."""


def moment(value: datetime | None) -> str | None:
    """A point in time as ISO 8601 in Swedish time with its offset (the report's one time zone)."""
    return None if value is None else local_time(as_utc(value)).isoformat(timespec="seconds")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def person(user) -> dict | None:
    return None if user is None else {"name": user.name}


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")


def _answers(assessment: Assessment, answers: dict[AnswerKey, Any], level: str) -> list[dict]:
    catalog = catalog_of(assessment)
    return [{"section": section.key, "question": slot.question.key, "platform": slot.platform or None,
             "value": answers.get(slot.key)}
            for section in catalog.sections for slot in visible_slots(assessment, section, answers, level)]


def legacy_answers_document(assessment: Assessment, answers: dict[AnswerKey, Any]) -> dict[str, Any]:
    """``answers.json`` as documents sealed before ``record.json`` carry it (format konsekvens.answers/1)."""
    catalog = catalog_of(assessment)
    outcome = screening(assessment, answers)
    return {
        "format": LEGACY_FORMAT,
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
        "answers": _answers(assessment, answers, outcome.level),
    }


def record_document(assessment: Assessment, answers: dict[AnswerKey, Any], *, approval: dict[str, Any] | None,
                    evidence: list[Listed] | None = None) -> dict[str, Any]:
    """The record of ``assessment`` as it is now, with ``approval`` (see :func:`approval_part`) or null, and
    ``evidence`` as listed for the files embedded beside it (default: as the assessment has them now)."""
    catalog = catalog_of(assessment)
    lang = assessment.language
    outcome = screening(assessment, answers)
    risks = service.risks_of(assessment)
    views = present(assessment, risks)
    number_of = {view.risk.id: view.number for view in views}
    history = service.rating_history(risks)
    measures = service.measures_of(assessment)
    measure_ref = {measure.id: f"M{index}" for index, measure in enumerate(measures, start=1)}
    conclusion = service.conclusion(assessment, risks, answers)
    consultation = prior_consultation_of(assessment)
    advice = review.dpo_advice_of(assessment)
    views_record = review.data_subject_views_of(assessment)

    def rating(likelihood: int, severity: int) -> dict:
        return {"likelihood": likelihood, "severity": severity, "level": level(likelihood, severity)}

    with force_locale(lang):
        risk_items = [{
            "number": view.number,
            "rule": view.risk.rule_key,
            "platform": view.risk.platform or None,
            "title": view.title,
            "description": view.description,
            "affected": view.affected or None,
            "source": view.source or None,
            "active": view.risk.active,
            "triggered_by": [{"question": key, "platform": platform or None}
                             for key, platform in view.risk.triggered_by or []],
            "inherent": rating(view.risk.inherent_likelihood, view.risk.inherent_severity),
            "residual": rating(view.risk.residual_likelihood, view.risk.residual_severity),
            "rating_changes": [{"field": change.field, "old": change.old, "new": change.new,
                                "justification": change.justification, "changed_by": person(change.changed_by),
                                "changed_at": moment(change.changed_at)} for change in history[view.risk.id]],
            "treatment": None if view.risk.treatment is None else {
                "decision": view.risk.treatment.value, "reason": view.risk.treatment_reason or None,
                "decided_by": person(view.risk.treatment_by), "decided_at": moment(view.risk.treatment_at)},
            "measures": [measure_ref[m.id] for m in sorted(view.risk.measures, key=lambda m: m.id)
                         if m.id in measure_ref],
        } for view in views]
        transfers = [{"platform": t.platform, "status": t.status, "tool": t.tool, "reason": t.reason,
                      "reason_text": t.reason_text} for t in conclusion.transfers]
        overall_label = str(LEVEL_LABELS[conclusion.overall_level])
    return {
        "format": RECORD_FORMAT,
        "document": {"id": document_id(assessment), "language": lang},
        "assessment": {
            "id": assessment.id,
            "revision": assessment.revision,
            "title": assessment.title,
            "organisation": {"id": assessment.organisation_id, "name": assessment.organisation.name,
                             "public_body": bool(assessment.organisation.is_public_body)},
            "platforms": [{"key": p, "name": assessment.platform_name(p, lang)} for p in assessment.platforms],
            "catalogue": {"id": catalog.id, "version": catalog.version},
            "author": person(assessment.author),
        },
        "screening": {"outcome": outcome.level,
                      "criteria": [{"key": t.criterion.key, "label": t.criterion.label.get(lang),
                                    "questions": list(t.questions)} for t in outcome.triggered]},
        "answers": _answers(assessment, answers, outcome.level),
        "risks": risk_items,
        "measures": [{
            "ref": measure_ref[m.id], "title": m.title, "description": m.description or None, "owner": m.owner,
            "due_date": day(m.due_date), "status": m.status.value, "decided": service.is_decided(m),
            "risks": [number_of[r.id] for r in sorted(m.risks, key=lambda r: r.number) if r.id in number_of],
        } for m in measures],
        "conclusion": {
            "overall_residual_level": conclusion.overall_level,
            "overall_residual_label": overall_label,
            "prior_consultation_required": conclusion.prior_consultation_required,
            "high_risks": [number_of[r.id] for r in conclusion.high_risks if r.id in number_of],
            "transfers": transfers,
            "review_due": day(conclusion.review_due),
            "depends_on_dpf": conclusion.depends_on_dpf,
            "residual_accepted": None if not assessment.residual_accepted_reason else {
                "reason": assessment.residual_accepted_reason, "at": moment(assessment.residual_accepted_at)},
        },
        "prior_consultation": None if consultation is None else {
            "requested_on": day(consultation.requested_on), "imy_case_number": consultation.imy_case_number or None,
            "answered_on": day(consultation.answered_on), "imy_advice": consultation.imy_advice or None},
        "consultation": {
            "dpo_advice": None if advice is None else {
                "advice": advice.advice, "followed": advice.followed,
                "not_followed_reason": advice.overruled_reason or None, "recorded_by": person(advice.recorded_by),
                "on_behalf_of_dpo": bool(advice.on_behalf_of_dpo), "recorded_at": moment(advice.recorded_at),
                "decided_by": person(advice.response_by), "decided_at": moment(advice.response_at)},
            "data_subject_views": None if views_record is None else {
                "sought": bool(views_record.sought), "whose": views_record.whose or None,
                "summary": views_record.summary or None, "reason_not_sought": views_record.reason_not_sought or None,
                "recorded_by": person(views_record.recorded_by), "recorded_at": moment(views_record.recorded_at)},
        },
        "review": {"verdicts": [{
            "section": key, "verdict": verdict.verdict.value, "note": verdict.note or None,
            "given_by": person(verdict.reviewer), "given_at": moment(verdict.created_at)}
            for key, verdict in sorted(review.latest_verdicts(assessment).items())]},
        "approval": approval,
        # Optional in the schema (documents sealed before evidence could be attached have none); always
        # written now, empty when nothing is attached.
        "evidence": record_entries(listing(assessment) if evidence is None else evidence, moment),
    }


def approval_part(assessment: Assessment, *, meaning: str, signer_name: str, signer_role: str,
                  signed_at: datetime, registration_number: str | None, seal_subject: str) -> dict[str, Any]:
    """What the approval adds to the record: who, when, in what capacity, and what they attested."""
    with force_locale(assessment.language):
        attested = attestations(assessment, decision_summary(assessment)).all()
        authority = [{"key": line.key, "label": str(line.label), "answer": line.answer}
                     for line in approval_authority(assessment)]
    return {"meaning": meaning, "signer": {"name": signer_name, "role": signer_role},
            "signed_at": moment(signed_at), "registration_number": registration_number or None,
            "seal": seal_subject, "authority": authority, "attestations": attested}


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(document: Any) -> None:
    """Raise :class:`RecordInvalid` unless ``document`` follows the published schema."""
    errors = sorted(Draft202012Validator(schema()).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(part) for part in error.absolute_path) or "(the document)"
        raise RecordInvalid(f"{where}: {error.message}"[:300])


def embedded_record(files: dict[str, bytes]) -> tuple[str, bytes] | None:
    """The record a sealed report carries: ``record.json``, or ``answers.json`` in older documents."""
    for name in RECORD_FILES:
        if name in files:
            return name, files[name]
    return None


def check_embedded(name: str, data: bytes) -> str | None:
    """A problem with an embedded record, or None. ``record.json`` must parse and follow the schema;
    ``answers.json`` (documents sealed before the record format) must parse and say its format."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"{name} is not JSON: {exc}"[:300]
    if name == LEGACY_FILE:
        return None if isinstance(document, dict) and document.get("format") == LEGACY_FORMAT \
            else f"{name} does not say format {LEGACY_FORMAT}"
    try:
        validate(document)
    except RecordInvalid as exc:
        return f"{name} does not follow the schema {RECORD_FORMAT}: {exc}"
    return None
