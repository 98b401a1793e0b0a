"""Evidence files as pages, the record and the report show them: what a file supports (``Target``), the
files of an assessment in E-number order, what each supports in words, the ``evidence`` list of record.json,
and carrying them into a new revision (docs/evidence.md)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale, format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..answers import catalog_of, load_answers, screening, visible_slots
from ..extensions import db
from ..models import Assessment, Measure
from ..risk.presenter import present
from ..risk.service import measures_of, risks_of
from .model import EvidenceFile

MB = 1024 * 1024


# -- what a file supports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A question (with the platform, '' for a question not asked per platform), a risk or a measure; as a
    form value ``q:<question>:<platform>``, ``r:<risk id>`` or ``m:<measure id>``."""

    question_key: str | None = None
    platform: str = ""
    risk_id: int | None = None
    measure_id: int | None = None

    @classmethod
    def parse(cls, raw: str | None) -> Target | None:
        kind, _, rest = (raw or "").partition(":")
        if kind == "q" and rest:
            key, _, platform = rest.partition(":")
            return cls(question_key=key, platform=platform) if key else None
        if kind in ("r", "m") and rest.isdigit():
            return cls(risk_id=int(rest)) if kind == "r" else cls(measure_id=int(rest))
        return None

    @classmethod
    def of(cls, row: EvidenceFile) -> Target:
        return cls(row.question_key, row.platform or "", row.risk_id, row.measure_id)

    @property
    def value(self) -> str:
        if self.question_key is not None:
            return f"q:{self.question_key}:{self.platform}"
        return f"r:{self.risk_id}" if self.risk_id is not None else f"m:{self.measure_id}"


def file_size(size: int) -> str:
    """A file's size as people read it, in the current locale ("340 kB", "2,4 MB")."""
    if size < MB:
        return f"{format_decimal(max(1, round(size / 1024)))} kB"
    return f"{format_decimal(round(size / MB, 1))} MB"


def megabytes(size: int) -> str:
    """A limit in MB as a number for "at most %(size)s MB": whole where it is whole, else to one decimal (a
    limit under 1 MB is never shown as "0 MB")."""
    return format_decimal(size // MB if size % MB == 0 else max(0.1, round(size / MB, 1)))


# -- listing -------------------------------------------------------------------------------------------


def evidence_of(assessment: Assessment) -> list[EvidenceFile]:
    """In the order they were attached: the order of their E-numbers."""
    return list(db.session.scalars(select(EvidenceFile).where(EvidenceFile.assessment_id == assessment.id)
                                   .options(joinedload(EvidenceFile.uploaded_by)).order_by(EvidenceFile.id)))


def target_choices(assessment: Assessment) -> list[tuple[str, list[tuple[str, str]]]]:
    """What a file can support, for the evidence page's list: the questions asked, by section (in the
    assessment's language), the active risks and the measures, each as (``Target.value``, label)."""
    catalog = catalog_of(assessment)
    lang = assessment.language
    answers = load_answers(assessment)
    level = screening(assessment, answers).level
    groups = []
    for section in catalog.sections:
        options = [(Target(question_key=slot.question.key, platform=slot.platform).value,
                    slot.question.text.get(lang) + (f" ({assessment.platform_name(slot.platform, lang)})"
                                                    if slot.platform else ""))
                   for slot in visible_slots(assessment, section, answers, level)]
        if options:
            groups.append((section.title.get(lang), options))
    with force_locale(lang):
        risks = [(f"r:{view.risk.id}", f"{view.number} {view.title}")
                 for view in present(assessment, risks_of(assessment)) if view.risk.active]
        measures = [(f"m:{measure.id}", f"M{number} {measure.title}")
                    for number, measure in enumerate(measures_of(assessment), start=1)]
        if risks:
            groups.append((str(_l("Risks")), risks))
        if measures:
            groups.append((str(_l("Measures")), measures))
    return groups


def by_target(rows: list[EvidenceFile]) -> dict[str, list[EvidenceFile]]:
    """Rows by ``Target.value``, for the pages that show each question's, risk's and measure's files."""
    grouped: dict[str, list[EvidenceFile]] = defaultdict(list)
    for row in rows:
        grouped[Target.of(row).value].append(row)
    return grouped


@dataclass(frozen=True)
class Listed:
    """An evidence file as a signed report carries it: its E-number, its name in the PDF (unique: the
    E-number first), what it supports for the record, and the same in words for the reader."""

    ref: str
    row: EvidenceFile
    embedded_name: str
    supports: dict[str, Any]
    supports_label: str


def listing(assessment: Assessment, rows: list[EvidenceFile] | None = None) -> list[Listed]:
    rows = evidence_of(assessment) if rows is None else rows
    if not rows:
        return []
    catalog = catalog_of(assessment)
    lang = assessment.language
    risk_views = {view.risk.id: view for view in present(assessment, risks_of(assessment))}
    measures = measures_of(assessment)
    measure_ref: dict[int, tuple[str, Measure]] = {m.id: (f"M{n}", m) for n, m in enumerate(measures, start=1)}
    items = []
    with force_locale(lang):
        for number, row in enumerate(rows, start=1):
            if row.question_key is not None:
                supports: dict[str, Any] = {"question": row.question_key, "platform": row.platform or None}
                try:
                    label = catalog.question(row.question_key).report_text(lang)
                except KeyError:
                    label = row.question_key
                if row.platform:
                    label = f"{label} ({assessment.platform_name(row.platform, lang)})"
            elif row.risk_id is not None:
                view = risk_views[row.risk_id]
                supports, label = {"risk": view.number}, f"{view.number} {view.title}"
            else:
                ref, measure = measure_ref[row.measure_id]  # type: ignore[index]
                supports, label = {"measure": ref}, f"{ref} {measure.title}"
            items.append(Listed(f"E{number}", row, f"E{number}-{row.filename}", supports, label))
    return items


def record_entries(items: list[Listed], moment) -> list[dict[str, Any]]:
    """The ``evidence`` list of record.json (docs/record-format.md); ``moment`` formats a time."""
    return [{"ref": item.ref, "file": item.embedded_name, "name": item.row.filename,
             "description": item.row.description, "mime_type": item.row.mime_type, "size": item.row.size,
             "sha256": item.row.sha256, "relationship": item.row.relationship.value, "supports": item.supports,
             "attached_by": {"name": item.row.uploaded_by.name}, "attached_at": moment(item.row.uploaded_at)}
            for item in items]


# -- new revisions -------------------------------------------------------------------------------------


def copy_to_revision(source: Assessment, target: Assessment) -> int:
    """Carry the evidence of ``source`` to its new revision ``target`` (the same stored files): a question's
    while the target's catalogue still asks it in the same shape, a risk's to the risk with the same R-number,
    a measure's to its copy. Returns how many were carried. Flushes."""
    catalog = catalog_of(target)
    risks = {risk.number: risk.id for risk in risks_of(target)}
    source_risks = {risk.id: risk.number for risk in risks_of(source)}
    measures = dict(zip([m.id for m in measures_of(source)], [m.id for m in measures_of(target)], strict=False))
    carried = 0
    for row in evidence_of(source):
        fields: dict[str, Any] = {}
        if row.question_key is not None:
            try:
                question = catalog.question(row.question_key)
            except KeyError:
                continue
            if question.per_platform != bool(row.platform):
                continue
            fields = {"question_key": row.question_key, "platform": row.platform}
        elif row.risk_id is not None:
            if (risk_id := risks.get(source_risks.get(row.risk_id, -1))) is None:
                continue
            fields = {"risk_id": risk_id}
        elif (measure_id := measures.get(row.measure_id)) is not None:  # type: ignore[arg-type]
            fields = {"measure_id": measure_id}
        else:
            continue
        db.session.add(EvidenceFile(assessment_id=target.id, filename=row.filename, description=row.description,
                                    mime_type=row.mime_type, relationship=row.relationship, size=row.size,
                                    sha256=row.sha256, path=row.path, uploaded_by_id=row.uploaded_by_id,
                                    uploaded_at=row.uploaded_at, **fields))
        carried += 1
    db.session.flush()
    return carried
