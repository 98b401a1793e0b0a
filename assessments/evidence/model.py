"""The evidence file model: one file attached to one question, risk or measure of one assessment revision.

Kept beside ``models.py`` (whose models it refers to by name) so that module stays one reading; its table is
part of the same metadata, and of the migrations (the application factory imports it).
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm import relationship as related

from ..extensions import db
from ..models import Model, User, utcnow


class Relationship(str, enum.Enum):
    """How the file relates to the report, as its PDF/A-3 /AFRelationship (ISO 32000-2 §7.11.3)."""

    SOURCE = "Source"  # the original the answer rests on: an agreement, a decision, a memo, minutes
    SUPPLEMENT = "Supplement"  # material that shows it another way: a screenshot, a photograph


class EvidenceFile(Model):
    """Exactly one of ``question_key`` (with ``platform``, '' for a question not asked per platform),
    ``risk_id`` and ``measure_id`` says what the file supports. The bytes live in the content-addressed
    evidence store (``path``, named by ``sha256``); the row is written only after they are durable."""

    __tablename__ = "evidence_files"
    __table_args__ = (
        CheckConstraint("(CASE WHEN question_key IS NULL THEN 0 ELSE 1 END) + (CASE WHEN risk_id IS NULL THEN 0 "
                        "ELSE 1 END) + (CASE WHEN measure_id IS NULL THEN 0 ELSE 1 END) = 1", name="one_target"),
        Index("ix_evidence_files_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    question_key: Mapped[str | None] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(32), default="")
    risk_id: Mapped[int | None] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(300))
    mime_type: Mapped[str] = mapped_column(String(40))
    relationship: Mapped[Relationship] = mapped_column(
        db.Enum(Relationship, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploaded_by: Mapped[User] = related()
