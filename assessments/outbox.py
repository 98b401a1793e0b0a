"""The outgoing e-mail queue's table (mail.py sends it; docs/notifications.md). Beside ``models`` so that
module stays one job's length; schema changes go through Alembic migrations like every model's."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .models import utcnow

if TYPE_CHECKING:
    from .extensions import Base as Model
else:
    Model = db.Model


class NotificationStatus(str, enum.Enum):
    PENDING = "pending"  # queued, or failed and to be tried again at ``next_attempt_at``
    SENT = "sent"
    FAILED = "failed"  # given up after ``mail.MAX_ATTEMPTS``


class Notification(Model):
    """One e-mail in the outgoing queue (mail.py), written in the transaction of the action it tells of and
    sent after the commit. ``key`` makes a message that must go out once (a review-date reminder per
    assessment, window and recipient) unique; other messages have none."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    email: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), index=True)
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[NotificationStatus] = mapped_column(
        db.Enum(NotificationStatus, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
