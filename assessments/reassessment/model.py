"""The tables of re-assessment (docs/reassessment.md). Kept beside ``models.py`` so that module stays one
reading; part of the same metadata and of the migrations (the application factory imports this module)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Model, utcnow

FACT, CATALOGUE, DPF_INVALID = "platform_fact", "catalogue", "dpf_invalid"
KINDS = (FACT, CATALOGUE, DPF_INVALID)


class ReassessmentFlag(Model):
    """An approved assessment that relied on something that has changed: "re-assessment needed".

    ``trigger`` names the change (``fact:<platform>:<audit seq>``, ``catalogue:<id>-<version>``,
    ``dpf_invalid``): unique per assessment, so raising the same trigger twice flags once. ``changes`` says
    what changed and which answers (``questions``: ``[key, platform]`` pairs) must be given again. The flag is
    resolved when a new revision of the assessment is approved (``resolved_by_assessment_id``)."""

    __tablename__ = "reassessment_flags"
    __table_args__ = (UniqueConstraint("assessment_id", "trigger"),
                      Index("ix_reassessment_flags_org_resolved", "organisation_id", "resolved_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # one of KINDS
    trigger: Mapped[str] = mapped_column(String(120))
    changes: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: an operator command
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_by_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))


class LegalChange(Model):
    """A change in the law that applies to the whole installation, from a date: for now only
    ``dpf_invalid``, the EU–US Data Privacy Framework (Decision (EU) 2023/1795) no longer applying."""

    __tablename__ = "legal_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), unique=True)
    effective_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
