"""The three triggers (docs/reassessment.md): an organisation's platform fact changed, a new catalogue version,
and the EU–US Data Privacy Framework no longer applying. Each flags the organisation's approved assessments
that relied on what changed, once (``flags.raise_flag``); each flushes and never commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import audit
from ..answers import catalog_of, load_answers
from ..catalog import FACT_FIELDS, PlatformFacts, available_catalogs, latest_catalog
from ..errors import Conflict
from ..extensions import db
from ..models import Assessment, Organisation, Status, User
from .flags import raise_flag
from .legal import dpf_invalid_from
from .model import CATALOGUE, DPF_INVALID, FACT, LegalChange
from .relied import catalogue_slots, dpf_slots, fact_slots


def _approved(organisation_id: int) -> list[Assessment]:
    return list(db.session.scalars(select(Assessment).where(Assessment.organisation_id == organisation_id,
                                                            Assessment.status == Status.APPROVED)
                                   .order_by(Assessment.id)))


def changed_fields(old: PlatformFacts | None, new: PlatformFacts | None) -> list[str]:
    """The facts whose value differs (the transfer basis compared in both languages)."""
    if old is None or new is None:
        return []
    return [field for field in FACT_FIELDS if old.value(field) != new.value(field)]


def on_fact_change(organisation_id: int, platform: str, old: PlatformFacts | None, new: PlatformFacts | None,
                   actor: User, seq: int) -> list[int]:
    """An administrator changed ``platform``'s facts (the audit event ``seq`` records it): flag the approved
    assessments of the organisation that relied on a changed fact. Returns the flagged assessments' ids."""
    fields = changed_fields(old, new)
    if not fields:
        return []
    flagged = []
    for assessment in _approved(organisation_id):
        slots = fact_slots(catalog_of(assessment), load_answers(assessment), assessment.platforms, platform, fields)
        if not slots:
            continue
        changes = {"platform": platform, "fields": fields, "questions": [list(s) for s in slots],
                   "old": {f: _plain(old.value(f)) for f in fields if old},
                   "new": {f: _plain(new.value(f)) for f in fields if new}}
        if raise_flag(assessment, FACT, f"fact:{platform}:{seq}", changes, actor):
            flagged.append(assessment.id)
    return flagged


def _plain(value: object) -> object:
    sv = getattr(value, "sv", None)
    return sv if sv is not None else value


@dataclass(frozen=True)
class Applied:
    organisation: Organisation
    flagged: list[int]


def flag_catalogue_changes() -> list[Applied]:
    """For every organisation: flag each approved assessment on an older catalogue version whose answered,
    asked questions the latest version asks differently or no longer asks. Safe to run again."""
    latest_by_id = {cid: latest_catalog(cid) for cid, _v in available_catalogs()}
    results = []
    for organisation in db.session.scalars(select(Organisation).order_by(Organisation.id)):
        flagged = []
        for assessment in _approved(organisation.id):
            latest = latest_by_id.get(assessment.catalog_id)
            if latest is None or assessment.catalog_version >= latest.version:
                continue
            slots = catalogue_slots(catalog_of(assessment), latest, load_answers(assessment), assessment.platforms)
            if not slots:
                continue
            changes = {"from": assessment.catalog_version, "to": latest.version,
                       "questions": [list(s) for s in slots]}
            if raise_flag(assessment, CATALOGUE, f"catalogue:{latest.id}-{latest.version}", changes, None):
                flagged.append(assessment.id)
        if flagged:
            audit.record(organisation.id, "catalogue_changes_flagged", flagged=flagged,
                         catalogues=sorted(f"{c.id}-{c.version}" for c in latest_by_id.values()))
        results.append(Applied(organisation, flagged))
    return results


def apply_dpf_invalid(effective_on: date) -> list[Applied]:
    """"The EU–US Data Privacy Framework no longer applies" from ``effective_on``, for the whole installation:
    record it (the transfer outcome reads it: risk/transfers.py), and in every organisation flag each approved
    assessment whose transfer rests on it, with an audit event per organisation. Running it again with the
    same date changes nothing and records nothing; another date is refused (Conflict)."""
    recorded = dpf_invalid_from()
    if recorded is not None and recorded != effective_on:
        raise Conflict(_l("It is already recorded that the EU–US Data Privacy Framework no longer applies from "
                          "%(date)s.", date=recorded.isoformat()))
    first_time = recorded is None
    if first_time:
        db.session.add(LegalChange(kind=DPF_INVALID, effective_on=effective_on))
        db.session.flush()
    results = []
    for organisation in db.session.scalars(select(Organisation).order_by(Organisation.id)):
        flagged = []
        for assessment in _approved(organisation.id):
            platforms, slots = dpf_slots(catalog_of(assessment), load_answers(assessment), assessment.platforms)
            if not platforms:
                continue
            changes = {"effective_on": effective_on.isoformat(), "platforms": platforms,
                       "questions": [list(s) for s in slots]}
            if raise_flag(assessment, DPF_INVALID, DPF_INVALID, changes, None):
                flagged.append(assessment.id)
        if first_time or flagged:
            audit.record(organisation.id, "dpf_invalid_applied", effective_on=effective_on.isoformat(),
                         flagged=flagged)
        results.append(Applied(organisation, flagged))
    return results

