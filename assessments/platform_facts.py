"""Platform facts as an organisation sees them: the shipped, dated facts, or the organisation's own
re-verified ones. They prefill per-platform answers as suggestions the user confirms or changes; facts
verified more than 12 months ago are shown as stale (docs/legal-sources.md: verify and date before relying)."""
from __future__ import annotations

import dataclasses
from datetime import date

from sqlalchemy import select

from . import audit
from .catalog import Text
from .catalog.facts import PlatformFacts, load_platform_facts
from .extensions import db
from .models import PlatformFactOverride, User
from .reassessment.triggers import on_fact_change


def effective_facts(organisation_id: int) -> dict[str, PlatformFacts]:
    facts = dict(load_platform_facts())
    for override in db.session.scalars(select(PlatformFactOverride)
                                       .where(PlatformFactOverride.organisation_id == organisation_id)):
        base = facts.get(override.platform)
        if base is None:
            continue
        values = override.values
        basis = values.get("transfer_basis") or ""
        facts[override.platform] = dataclasses.replace(
            base, eu_entity=values.get("eu_entity") or base.eu_entity,
            transfer_tool=values.get("transfer_tool") or None,
            transfer_basis=Text(sv=basis, en=basis) if basis else base.transfer_basis,
            joint_controller_addendum=values.get("joint_controller_addendum"),
            addendum_name=values.get("addendum_name") or None,
            unverified=(), source=override.source, verified_on=override.verified_on, sources=())
    return facts


def is_overridden(organisation_id: int, platform: str) -> bool:
    return db.session.scalar(select(PlatformFactOverride.id).where(
        PlatformFactOverride.organisation_id == organisation_id,
        PlatformFactOverride.platform == platform)) is not None


def save_override(organisation_id: int, platform: str, values: dict, *, source: str, verified_on: date,
                  actor: User) -> list[int]:
    """Save the organisation's own facts about ``platform`` and flag the approved assessments that relied on a
    fact that changed (docs/reassessment.md). Returns the flagged assessments' ids."""
    before = effective_facts(organisation_id).get(platform)
    row = db.session.scalars(select(PlatformFactOverride).where(
        PlatformFactOverride.organisation_id == organisation_id,
        PlatformFactOverride.platform == platform)).first()
    old = dict(row.values) if row else None
    if row is None:
        row = PlatformFactOverride(organisation_id=organisation_id, platform=platform)
        db.session.add(row)
    row.values, row.source, row.verified_on, row.updated_by_id = values, source, verified_on, actor.id
    event = audit.record(organisation_id, "platform_facts_updated", actor=actor, platform=platform, old=old,
                         new=values, source=source, verified_on=verified_on.isoformat())
    db.session.flush()
    after = effective_facts(organisation_id).get(platform)
    return on_fact_change(organisation_id, platform, before, after, actor, event.seq)
