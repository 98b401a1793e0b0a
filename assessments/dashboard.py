"""The dashboard: the organisation's assessments, filtered and a page at a time, what needs this user's action
first, and each assessment's overall residual risk — each a constant number of queries, however many there
are (docs/benchmarks.md, "Scale")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import selectinload

from . import policy
from .catalog import PLATFORMS
from .extensions import db
from .models import Assessment, Risk, Status, Treatment, User
from .risk.matrix import LEVEL_ORDER, level

PER_PAGE = 20
ACTIONS_SHOWN = 10  # per kind, most urgent first; the rest are one click away in the filtered list
QUERY_MAX = 100


@dataclass(frozen=True)
class Filters:
    status: str = ""
    platform: str = ""
    query: str = ""
    overdue: str = ""

    @classmethod
    def parse(cls, status: str | None, platform: str | None, query: str | None, overdue: str | None) -> Filters:
        """Only known values: anything else is no filter."""
        return cls(status=status if status in {s.value for s in Status} else "",
                   platform=platform if platform in PLATFORMS else "",
                   query=(query or "").strip()[:QUERY_MAX], overdue="1" if overdue == "1" else "")

    def as_args(self) -> dict[str, str]:
        return {"status": self.status, "platform": self.platform, "q": self.query, "overdue": self.overdue}


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def assessments_page(user: User, filters: Filters, page: int | None = None):
    """A page (Flask-SQLAlchemy pagination) of the user's organisation's assessments, newest first."""
    statement = (select(Assessment).where(Assessment.organisation_id == user.organisation_id)
                 .options(selectinload(Assessment.author)))
    if filters.status:
        statement = statement.where(Assessment.status == Status(filters.status))
    if filters.platform:
        # Platform keys are a fixed vocabulary, so the quoted key matches exactly in the JSON text on SQLite
        # and PostgreSQL alike.
        statement = statement.where(cast(Assessment.platforms, String).like(f'%"{filters.platform}"%'))
    if filters.overdue:  # approved assessments past their review date (Art. 35(11))
        statement = statement.where(Assessment.status == Status.APPROVED, Assessment.review_due <= date.today())
    if filters.query:
        statement = statement.where(Assessment.title.ilike(f"%{escape_like(filters.query)}%", escape="\\"))
    return db.paginate(statement.order_by(Assessment.updated_at.desc(), Assessment.id.desc()), page=page,
                       per_page=PER_PAGE, error_out=False, count=True)


def residual_levels(assessment_ids: list[int]) -> dict[int, str]:
    """Overall residual risk per assessment for a whole page in one query (no query per row)."""
    levels: dict[int, str] = {i: "none" for i in assessment_ids}
    if assessment_ids:
        # Avoided risks do not remain (risk.matrix.remains); a platform whose transfer may not take place
        # needs the answers, so the overview and the register, not this list, say so.
        rows = db.session.execute(select(Risk.assessment_id, Risk.residual_likelihood, Risk.residual_severity)
                                  .where(Risk.assessment_id.in_(assessment_ids), Risk.active.is_(True),
                                         Risk.treatment.is_distinct_from(Treatment.AVOID)))
        for assessment_id, likelihood, severity in rows:
            candidate = level(likelihood, severity)
            if LEVEL_ORDER[candidate] > LEVEL_ORDER[levels[assessment_id]]:
                levels[assessment_id] = candidate
    return levels


@dataclass(frozen=True)
class ActionGroup:
    kind: str  # review | fix | overdue
    assessments: list[Assessment]
    total: int
    filters: dict[str, str]  # the dashboard filter that lists all of them


def my_actions(user: User) -> list[ActionGroup]:
    """What needs this user's action first: to review, to fix, review overdue.

    At most ``ACTIONS_SHOWN`` of each kind: an organisation with hundreds waiting for review would
    otherwise load and render all of them on every visit. The total comes with the rows (a window count),
    so a group costs one query however many there are."""
    mine = select(Assessment, func.count().over()).where(Assessment.organisation_id == user.organisation_id)
    groups: list[ActionGroup] = []

    def add(kind: str, statement, filters: dict[str, str]) -> None:
        rows = db.session.execute(statement.limit(ACTIONS_SHOWN)).all()
        if rows:
            groups.append(ActionGroup(kind, [row[0] for row in rows], rows[0][1], filters))

    if policy.reviews_for_approval(user):
        add("review", mine.where(Assessment.status == Status.IN_REVIEW, Assessment.author_id != user.id)
            .order_by(Assessment.submitted_at, Assessment.id), {"status": Status.IN_REVIEW.value})
    if policy.fixes_own_assessments(user):
        add("fix", mine.where(Assessment.status == Status.CHANGES_REQUESTED, Assessment.author_id == user.id)
            .order_by(Assessment.updated_at, Assessment.id), {"status": Status.CHANGES_REQUESTED.value})
    if policy.follows_review_dates(user):
        add("overdue", mine.where(Assessment.status == Status.APPROVED, Assessment.review_due <= date.today())
            .order_by(Assessment.review_due, Assessment.id), {"overdue": "1"})
    return groups
