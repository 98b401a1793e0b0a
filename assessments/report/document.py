"""What goes into the report: the HTML WeasyPrint renders (the record as JSON is ``record.py``).

The report is written for the reader of the signed document (a case officer at IMY, the organisation's
own auditors), not for the person filling in the questionnaire: questions and answers without help text,
a summary of the decision on page 2, the document's language throughout (texts, citation style, labels of
events), and one time zone, Europe/Stockholm, with its abbreviation shown.
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyphen
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select

from .. import review
from ..answers import RECORDED_SECTIONS, AnswerKey, catalog_of, screening, visible_slots
from ..approval import attestations, decision_summary
from ..approval_authority import approval_authority
from ..audit import as_utc
from ..events import EVENT_LABELS
from ..evidence.listing import Listed, Target, listing
from ..evidence.model import Relationship
from ..extensions import db
from ..models import Assessment, AuditEvent, MeasureStatus, Treatment
from ..prior_consultation import prior_consultation_of
from ..risk import service as risk_service
from ..risk.matrix import LEVEL_ORDER, remains
from .citations import cite_all
from .identity import document_id, local_time
from .record import RECORD_FILE

MEASURE_STATUS_LABELS = {MeasureStatus.PLANNED: _l("Planned"), MeasureStatus.IN_PROGRESS: _l("In progress"),
                         MeasureStatus.DONE: _l("Done"), MeasureStatus.CANCELLED: _l("Cancelled")}
TREATMENT_LABELS = {Treatment.REDUCE: _l("Reduce with measures"), Treatment.AVOID: _l("Avoid"),
                    Treatment.ACCEPT: _l("Accept")}
TOP_RISKS = 5

# How the report names an evidence file's type and its relationship to the document (evidence/model.py).
EVIDENCE_TYPE_LABELS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "text/plain": _l("Text")}
RELATIONSHIP_LABELS = {Relationship.SOURCE: _l("Source"), Relationship.SUPPLEMENT: _l("Supplementary material")}

# Soft hyphens (U+00AD) at the hyphenation points of long words, computed once per word with the
# dictionaries WeasyPrint itself uses (pyphen): a narrow table cell then breaks "personuppgiftsansvaret"
# as "personuppgifts-/ansvaret" instead of anywhere, at a fraction of the cost of CSS hyphens: auto over
# the whole document (docs/benchmarks.md). Where no hyphenation point fits, overflow-wrap still breaks.
SOFT_HYPHEN = "\u00ad"
HYPHENATE_FROM = 9  # letters; shorter words always fit a cell
_LONG_WORD = re.compile(rf"[^\W\d_]{{{HYPHENATE_FROM},}}")
_DICTIONARIES = {"sv": "sv_SE", "en": "en_GB"}


@functools.lru_cache(maxsize=4)
def _dictionary(lang: str):
    return pyphen.Pyphen(lang=_DICTIONARIES.get(lang, "sv_SE"), left=3, right=3)


@functools.lru_cache(maxsize=65536)
def _hyphenated_word(word: str, lang: str) -> str:
    return _dictionary(lang).inserted(word, hyphen=SOFT_HYPHEN)


# A long run without spaces (an address, a path) gets zero-width spaces after its separators, so a cell can
# break it there: the report's cells keep overflow-wrap: normal, since WeasyPrint 70's emergency breaking
# (break-word, anywhere) splits a word at a soft hyphen without drawing the hyphen when the hyphen would not
# fit on the line.
_LONG_TOKEN = re.compile(r"\S{28,}")
_SEPARATOR = re.compile(r"([/._?&=:;,@\\-])(?=\S)")


def _breakable(token: re.Match) -> str:
    return _SEPARATOR.sub("\\1\u200b", token.group(0))


def hyphenate(text: Any, lang: str) -> str:
    """``text`` with soft hyphens in its long words (see ``SOFT_HYPHEN``) and break points in long runs."""
    if text is None:
        return ""
    text = _LONG_WORD.sub(lambda match: _hyphenated_word(match.group(0), lang), str(text))
    return _LONG_TOKEN.sub(_breakable, text)


def lines(text: Any, lang: str):
    """Hyphenated text whose line breaks are kept as <br>. The report does not use white-space: pre-wrap
    for written answers: WeasyPrint 70 then breaks some lines at a soft hyphen without drawing the hyphen
    (tests/test_report.py checks every line of every demo)."""
    return Markup("<br>").join(escape(" ".join(line.split(" "))) for line in hyphenate(text, lang).split("\n"))


def brief(text: Any, limit: int = 420) -> str:
    """``text`` cut at a word boundary to about ``limit`` characters, with an ellipsis: the summary page
    quotes long answers briefly; the sections print them in full."""
    text = " ".join(str(text or "").split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > limit // 2 else limit].rstrip(" ,;:") + " …"


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


def report_html(assessment: Assessment, answers: dict[AnswerKey, Any], *, record_sha256: str,
                signature: SignatureInfo | None, status_label=None, evidence: list[Listed] | None = None) -> str:
    """``evidence``: the files embedded beside the record (default: as the assessment has them now)."""
    catalog = catalog_of(assessment)
    evidence = listing(assessment) if evidence is None else evidence
    evidence_refs: dict[str, list[str]] = {}
    for item in evidence:
        evidence_refs.setdefault(Target.of(item.row).value, []).append(item.ref)
    lang = assessment.language
    outcome = screening(assessment, answers)
    summary = decision_summary(assessment)
    views = summary.views
    risks = [view.risk for view in views]
    conclusion = summary.conclusion
    history = risk_service.rating_history(risks)
    trail = db.session.scalars(select(AuditEvent).where(AuditEvent.assessment_id == assessment.id)
                               .order_by(AuditEvent.seq)).all()
    threads = [t for group in review.threads(assessment).values() for t in group]
    stopped = {t.platform for t in conclusion.transfers_not_allowed}
    remaining = [v for v in views if remains(v.risk, stopped)]
    top_risks = sorted(remaining, key=lambda v: (-LEVEL_ORDER[v.residual_level],
                                                 -v.risk.residual_likelihood * v.risk.residual_severity,
                                                 v.risk.number))[:TOP_RISKS]

    def question_text(key: str) -> str:
        try:
            return catalog.question(key).report_text(lang)
        except KeyError:
            return key

    def purpose() -> str | None:
        for key in ("purposes", "purpose"):
            value = answers.get((key, ""))
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    with force_locale(lang):
        attested = attestations(assessment, summary) if signature else None
        return render_template(
            "report/report.html",
            assessment=assessment,
            catalog=catalog,
            lang=lang,
            answers=answers,
            sections=[(section, visible_slots(assessment, section, answers, outcome.level))
                      for section in catalog.sections if section.key not in RECORDED_SECTIONS],
            screening=outcome,
            summary=summary,
            views=views,
            top_risks=top_risks,
            purpose=purpose(),
            measures=risk_service.measures_of(assessment),
            number_of={v.risk.id: v.number for v in views},
            conclusion=conclusion,
            consultation=prior_consultation_of(assessment),
            measure_status_labels=MEASURE_STATUS_LABELS,
            treatment_labels={t.value: str(label) for t, label in TREATMENT_LABELS.items()},
            rating_notes={risk.id: latest_changes(history[risk.id]) for risk in risks},
            rating_field_labels={f: str(label) for f, label in RATING_FIELD_LABELS.items()},
            attestations=attested,
            authority=approval_authority(assessment, answers),
            advice=review.dpo_advice_of(assessment),
            views_record=review.data_subject_views_of(assessment),
            verdicts=review.latest_verdicts(assessment),
            comment_threads=sorted(threads, key=lambda t: t.comment.created_at),
            question_text=question_text,
            cite=lambda refs: cite_all(refs, lang),
            hy=lambda text: hyphenate(text, lang),
            brief=brief,
            lines=lambda text: lines(text, lang),
            local=lambda moment, fmt="%Y-%m-%d %H:%M %Z": local_time(as_utc(moment)).strftime(fmt),
            trail=trail,
            trail_counts=sorted(Counter(e.action for e in trail).items(),
                                key=lambda item: str(EVENT_LABELS.get(item[0], item[0]))),
            event_labels=EVENT_LABELS,
            signature=signature,
            signed_at_local=local_time(signature.signed_at) if signature else None,
            record_sha256=record_sha256,
            record_file=RECORD_FILE,
            document_id=document_id(assessment),
            evidence=evidence,
            evidence_refs=evidence_refs,
            evidence_types=EVIDENCE_TYPE_LABELS,
            relationship_labels={kind.value: str(label) for kind, label in RELATIONSHIP_LABELS.items()},
            **({"status_label": status_label} if status_label else {}),
        )
