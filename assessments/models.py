"""The data model: SQLAlchemy 2 typed models. Schema changes go through Alembic migrations only."""
from __future__ import annotations

import enum
import functools
import hmac
import secrets
import unicodedata
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .catalog import platform_label
from .extensions import db

if TYPE_CHECKING:  # Flask-SQLAlchemy builds db.Model at run time; for the type checker it is the declarative base
    from .extensions import Base as Model
else:
    Model = db.Model


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(str, enum.Enum):
    """One role per user in their organisation (policy.py says what each may do)."""

    COMMUNICATOR = "communicator"
    LEGAL = "legal"
    DPO = "dpo"
    ADMIN = "admin"
    VIEWER = "viewer"


class Status(str, enum.Enum):
    """Assessment states; only ``assessments.workflow`` changes them."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    SUPERSEDED = "superseded"  # an approved revision replaced by a later approved one


class Organisation(Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_public_body: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[Role] = mapped_column(db.Enum(Role, native_enum=False, length=20,
                                               values_callable=lambda e: [m.value for m in e]))
    language: Mapped[str] = mapped_column(String(5), default="sv")
    active: Mapped[bool] = mapped_column(default=True)
    # Part of what the session cookie stores (get_id); a new token ends every session issued before it.
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_urlsafe(16))
    # Set when an administrator chose the password (a new account, a reset): after logging in, the user is
    # sent to change it before anything else (users.py).
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # How often an administrator has unlocked the login: part of the key failed logins are counted under
    # (views/throttling.py), so an unlock starts the count afresh in every browser and every process.
    unlock_count: Mapped[int] = mapped_column(default=0)
    # E-mail when something waits for the user (notifications.py); the waiting list shows it either way.
    email_notifications: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    def set_password(self, password: str) -> None:
        """Store the new password's hash and end every session (callers check ``passwords.policy_problem``
        first). Whoever changes their own password logs the current session in again."""
        # scrypt by default; the tests configure a cheaper method so a suite of logins stays fast.
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(self.normalise_password(password), method=method)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return _password_matches(self.password_hash, password)

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return db.session.scalars(select(cls).where(func.lower(cls.email) == email.strip().lower())).first()

    @classmethod
    def authenticate(cls, email: str, password: str) -> User | None:
        """The active user with this address and password, else None — in the same time either way.

        An unknown or deactivated address is checked against a dummy hash made with the configured method,
        so a wrong password costs the same work (scrypt) whether or not the account exists, and the
        response time does not reveal which addresses have accounts (OWASP Authentication Cheat Sheet,
        "Authentication Responses"; NIST SP 800-63B §5.2.2)."""
        user = cls.by_email(email)
        if user is None or not user.active:
            _password_matches(_dummy_hash(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")), password)
            return None
        return user if user.check_password(password) else None

    def end_sessions(self) -> None:
        self.session_token = secrets.token_urlsafe(16)

    def deactivate(self) -> None:
        self.active = False
        self.end_sessions()

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot log in
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @classmethod
    def from_session_id(cls, session_id: str) -> User | None:
        """The user a session belongs to, if that session is still valid: the token matches (no password
        change or deactivation since) and the user is active. Anything else is an anonymous visitor."""
        user_id, _, token = (session_id or "").partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(cls, int(user_id))
        if user is None or not user.active or not hmac.compare_digest(user.session_token.encode(), token.encode()):
            return None
        return user

    @staticmethod
    def normalise_password(password: str) -> str:
        # NIST SP 800-63B §5.1.1.2: normalise Unicode (NFKC) before hashing, so "ä" typed as one code
        # point or as "a" + combining diaeresis is the same password.
        return unicodedata.normalize("NFKC", password)


def _password_matches(password_hash: str, password: str) -> bool:
    normalised = User.normalise_password(password)
    if check_password_hash(password_hash, normalised):
        return True
    # Hashes stored before passwords were normalised (NFKC) were made from the text as typed.
    return normalised != password and check_password_hash(password_hash, password)


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash of a random password nobody knows, made once per process and method (User.authenticate)."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


class Assessment(Model):
    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_org_status", "organisation_id", "status"),
        # The dashboard lists an organisation's assessments newest first, a page at a time: with this index
        # the database reads the page's rows in order instead of sorting all of them (benchmarks/scale.py).
        Index("ix_assessments_org_updated", "organisation_id", "updated_at"),
        # "Is there a newer revision?" on every approved assessment's overview; without it, a table scan.
        Index("ix_assessments_previous_revision_id", "previous_revision_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="sv")
    catalog_id: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[int]
    platforms: Mapped[list[str]] = mapped_column(JSON)
    # The name of the "other" platform, when the organisation uses one not in the list.
    other_platform_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[Status] = mapped_column(
        db.Enum(Status, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=Status.DRAFT,
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    last_step: Mapped[str | None] = mapped_column(String(64))
    # Optimistic locking: every change bumps it; a form posted from an older page is refused.
    version: Mapped[int] = mapped_column(default=1)
    revision: Mapped[int] = mapped_column(default=1)
    # A new revision is a linked copy; the chain shows how the assessment evolved (Art. 35(11)).
    previous_revision_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    # The conclusion (Art. 35(11), Art. 36): when to review, and legal's acceptance of residual risk.
    review_due: Mapped[date | None]
    residual_accepted_reason: Mapped[str | None] = mapped_column(Text)
    residual_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    residual_accepted_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    answers: Mapped[list[Answer]] = relationship(back_populates="assessment", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    def platform_name(self, key: str, lang: str) -> str:
        """The platform's label; for "other", the name the organisation gave it."""
        if key == "other" and self.other_platform_name:
            return self.other_platform_name
        return platform_label(key, lang)


class Answer(Model):
    """One answer to one question; ``platform`` is '' for questions not repeated per platform."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("assessment_id", "question_key", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(32), default="")
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    assessment: Mapped[Assessment] = relationship(back_populates="answers")


class ReviewComment(Model):
    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    question_key: Mapped[str | None] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(32), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("review_comments.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    author: Mapped[User] = relationship(foreign_keys=[author_id])


class Verdict(str, enum.Enum):
    """The CNIL method's verdict on a section: acceptable, improvable, to correct."""

    ACCEPTABLE = "acceptable"
    IMPROVABLE = "improvable"
    TO_CORRECT = "to_correct"


class SectionVerdict(Model):
    __tablename__ = "section_verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    section_key: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[Verdict] = mapped_column(
        db.Enum(Verdict, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]))
    note: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User] = relationship()


class DpoAdvice(Model):
    """Art. 35(2): the DPO's advice, and the organisation's response to it: whether it is followed and, if
    not, why (ICO step 7). The DPO gives the advice; the response is the organisation's, not the DPO's."""

    __tablename__ = "dpo_advice"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), unique=True)
    advice: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_dpo: Mapped[bool] = mapped_column(default=False)  # legal recording it for the DPO
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    followed: Mapped[str | None] = mapped_column(String(10))  # yes | partly | no; None: not yet responded
    overruled_reason: Mapped[str | None] = mapped_column(Text)
    response_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    response_at: Mapped[datetime | None]

    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    response_by: Mapped[User | None] = relationship(foreign_keys=[response_by_id])


class DataSubjectViews(Model):
    """Art. 35(9): the views of data subjects, or why they were not sought."""

    __tablename__ = "data_subject_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), unique=True)
    sought: Mapped[bool]
    whose: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    reason_not_sought: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[User] = relationship()


class Submission(Model):
    """The answers as they stood at each submission for review, so a reviewer sees what changed since."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assessment_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    number: Mapped[int]
    answers: Mapped[list] = mapped_column(JSON)  # [[question, platform, value], …]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ArchivedDocument(Model):
    """A signed PDF in the write-once archive; the row is written only after the file is durable."""

    __tablename__ = "archived_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    size: Mapped[int]
    path: Mapped[str] = mapped_column(String(300))
    answers_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signature(Model):
    """An approval signature. Unique per assessment revision: a double click cannot sign twice."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("assessment_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    revision: Mapped[int]
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_role: Mapped[str] = mapped_column(String(20))
    meaning: Mapped[str] = mapped_column(String(100))
    signed_at: Mapped[datetime]
    certificate_subject: Mapped[str] = mapped_column(String(300))
    document_id: Mapped[int] = mapped_column(ForeignKey("archived_documents.id"))

    signer: Mapped[User] = relationship()
    document: Mapped[ArchivedDocument] = relationship()


measure_risks = db.Table(
    "measure_risks",
    db.Column("measure_id", ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True),
    db.Column("risk_id", ForeignKey("risks.id", ondelete="CASCADE"), primary_key=True),
    # The primary key serves lookups by measure; a risk's measures (the register, the report) need this one.
    Index("ix_measure_risks_risk_id", "risk_id"),
)


class Treatment(str, enum.Enum):
    """What the organisation decided to do about a risk (ISO 31000's risk treatment, as the CNIL method
    asks): lower it with measures, stop what causes it, or live with it for a stated reason."""

    REDUCE = "reduce"  # with at least one decided measure
    AVOID = "avoid"  # stop or leave the platform or the feature (or use it without personal data)
    ACCEPT = "accept"  # with the reason, and who accepted it


class Risk(Model):
    """A risk to people (Art. 35(7)(c)), proposed by a rule (``rule_key``) or written by hand.

    A derived risk whose rule stops holding is kept inactive, never deleted, so what legal wrote about
    it survives an answer changing back and forth. ``number`` is its R-number, given once and never
    reused within the assessment (and kept by later revisions), so "see R12" always means the same risk.
    """

    __tablename__ = "risks"
    __table_args__ = (UniqueConstraint("assessment_id", "rule_key", "platform"),
                      UniqueConstraint("assessment_id", "number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    rule_key: Mapped[str | None] = mapped_column(String(64))  # None: a free-form risk
    platform: Mapped[str] = mapped_column(String(32), default="")
    title: Mapped[str | None] = mapped_column(String(300))  # free-form risks; derived ones take the rule's
    description: Mapped[str | None] = mapped_column(Text)
    affected: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    triggered_by: Mapped[list] = mapped_column(JSON, default=list)
    inherent_likelihood: Mapped[int]
    inherent_severity: Mapped[int]
    residual_likelihood: Mapped[int]
    residual_severity: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    treatment: Mapped[Treatment | None] = mapped_column(
        db.Enum(Treatment, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]))
    treatment_reason: Mapped[str | None] = mapped_column(Text)
    treatment_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    treatment_at: Mapped[datetime | None]

    measures: Mapped[list[Measure]] = relationship(secondary=measure_risks, back_populates="risks")
    treatment_by: Mapped[User | None] = relationship(foreign_keys=[treatment_by_id])


class RiskRatingChange(Model):
    """Who changed which rating, when, and why (legal must justify every change). ``changed_by_id`` is
    None for a change the tool made itself, e.g. a residual rating set back to the inherent one when the
    last decided measure behind it went away."""

    __tablename__ = "risk_rating_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[int]
    new: Mapped[int]
    justification: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by: Mapped[User | None] = relationship()


class MeasureStatus(str, enum.Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"  # kept in the action plan's history; lowers no risk


class Measure(Model):
    """A measure in the action plan (Art. 35(7)(d)); one measure can address several risks."""

    __tablename__ = "measures"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date | None]
    status: Mapped[MeasureStatus] = mapped_column(
        db.Enum(MeasureStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=MeasureStatus.PLANNED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    risks: Mapped[list[Risk]] = relationship(secondary=measure_risks, back_populates="measures")


class PriorConsultation(Model):
    """Art. 36: the record of a prior consultation with IMY, when a residual risk of lawful processing
    stays high. It may be completed after approval (IMY answers within eight weeks, Art. 36(2)); the
    processing must not start or continue until IMY has answered."""

    __tablename__ = "prior_consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), unique=True)
    requested_on: Mapped[date | None]
    imy_case_number: Mapped[str | None] = mapped_column(String(64))
    answered_on: Mapped[date | None]
    imy_advice: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[User] = relationship()


class PlatformFactOverride(Model):
    """An organisation's own, re-verified facts about one platform (replacing the shipped ones from
    catalog/data/platform-facts.yaml for that organisation), with its source and date."""

    __tablename__ = "platform_fact_overrides"
    __table_args__ = (UniqueConstraint("organisation_id", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    platform: Mapped[str] = mapped_column(String(32))
    values: Mapped[dict] = mapped_column(JSON)  # the FACT_FIELDS, as entered
    source: Mapped[str] = mapped_column(String(500))
    verified_on: Mapped[date]
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Model):
    """Append-only and hash-chained per organisation (``assessments.audit``)."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("organisation_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    seq: Mapped[int]
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()
