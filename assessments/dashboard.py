"""The dashboard: the organisation's assessments, filtered and a page at a time, and each assessment's overall
residual risk — each a constant number of queries, however many there are (docs/benchmarks.md, "Scale").
What waits for this user, at the top of the page, is ``waiting``."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, select
from sqlalchemy.orm import selectinload

from . import clock
from .catalog import PLATFORMS
from .extensions import db
from .models import Assessment, Risk, Status, Treatment, User
from .reassessment.flags import flagged_statement
from .risk.matrix import LEVEL_ORDER, level

PER_PAGE = 20
QUERY_MAX = 100


@dataclass(frozen=True)
class Filters:
    status: str = ""
    platform: str = ""
    query: str = ""
    overdue: str = ""
    flagged: str = ""  # re-assessment needed (docs/reassessment.md)

    @classmethod
    def parse(cls, status: str | None, platform: str | None, query: str | None, overdue: str | None,
              flagged: str | None = None) -> Filters:
        """Only known values: anything else is no filter."""
        return cls(status=status if status in {s.value for s in Status} else "",
                   platform=platform if platform in PLATFORMS else "",
                   query=(query or "").strip()[:QUERY_MAX], overdue="1" if overdue == "1" else "",
                   flagged="1" if flagged == "1" else "")

    def as_args(self) -> dict[str, str]:
        return {"status": self.status, "platform": self.platform, "q": self.query, "overdue": self.overdue,
                "flagged": self.flagged}


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
        statement = statement.where(Assessment.status == Status.APPROVED, Assessment.review_due <= clock.today())
    if filters.flagged:
        statement = statement.where(Assessment.id.in_(flagged_statement(user.organisation_id)))
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
