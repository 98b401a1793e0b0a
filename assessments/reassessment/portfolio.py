"""The portfolio: every current assessment of the organisation at a glance, for those who answer for all of
them (``policy.can_see_portfolio``): platforms, transfer basis, overall residual risk, review date
(Art. 35(11)), overdue and re-assessment needed; filtered, and as CSV (docs/reassessment.md).

A constant number of queries however many assessments there are: the assessments, their transfer-tool
answers, their residual levels (``dashboard.residual_levels``) and their open flags.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import csvfile
from ..catalog import PLATFORMS, latest_catalog
from ..dashboard import residual_levels
from ..extensions import db
from ..models import Answer, Assessment, Status, User
from ..risk.matrix import LEVEL_LABELS, LEVEL_ORDER
from ..roles import status_label
from .flags import describe, open_flags, stopped_by_dpf
from .model import ReassessmentFlag

UNKNOWN_TOOL = "unknown"
MAY_NOT_TAKE_PLACE = _l("may not take place")


@dataclass(frozen=True)
class Filters:
    platform: str = ""
    tool: str = ""
    level: str = ""
    flagged: str = ""
    overdue: str = ""

    @classmethod
    def parse(cls, args) -> Filters:
        """Only known values: anything else is no filter."""
        tools = {value for value, _label in tool_choices("sv")}
        return cls(platform=args.get("platform") if args.get("platform") in PLATFORMS else "",
                   tool=args.get("tool") if args.get("tool") in tools else "",
                   level=args.get("level") if args.get("level") in LEVEL_ORDER else "",
                   flagged="1" if args.get("flagged") == "1" else "",
                   overdue="1" if args.get("overdue") == "1" else "")

    def as_args(self) -> dict[str, str]:
        return {"platform": self.platform, "tool": self.tool, "level": self.level, "flagged": self.flagged,
                "overdue": self.overdue}


def tool_choices(lang: str) -> list[tuple[str, str]]:
    """The transfer tools the catalogue offers; its "unknown" also stands for "not answered"."""
    return latest_catalog().question("transfer_tool").choices(lang)


@dataclass(frozen=True)
class Row:
    assessment: Assessment
    tools: dict[str, str]  # platform → the transfer-tool answer, UNKNOWN_TOOL when not answered
    level: str
    overdue: bool
    flags: list[ReassessmentFlag] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # platforms whose transfer may not take place (DPF)


def portfolio(user: User, filters: Filters, today: date) -> list[Row]:
    """The organisation's assessments that are not superseded, review date first (none last)."""
    assessments = list(db.session.scalars(
        select(Assessment).where(Assessment.organisation_id == user.organisation_id,
                                 Assessment.status != Status.SUPERSEDED)
        .options(selectinload(Assessment.author)).order_by(Assessment.title, Assessment.id)))
    ids = [a.id for a in assessments]
    tools: dict[int, dict[str, str]] = {}
    if ids:
        for assessment_id, platform, value in db.session.execute(
                select(Answer.assessment_id, Answer.platform, Answer.value)
                .where(Answer.assessment_id.in_(ids), Answer.question_key == "transfer_tool")):
            if isinstance(value, str) and value:
                tools.setdefault(assessment_id, {})[platform] = value
    levels, flags = residual_levels(ids), open_flags(ids)
    stopped = stopped_by_dpf(flags)
    rows = []
    for a in assessments:
        row = Row(assessment=a, tools={p: tools.get(a.id, {}).get(p, UNKNOWN_TOOL) for p in a.platforms},
                  level=levels.get(a.id, "none"),
                  overdue=a.status is Status.APPROVED and a.review_due is not None and a.review_due <= today,
                  flags=flags.get(a.id, []), stopped=stopped.get(a.id, []))
        if _matches(row, filters):
            rows.append(row)
    rows.sort(key=lambda r: (r.assessment.review_due is None, r.assessment.review_due or today))
    return rows


def _matches(row: Row, filters: Filters) -> bool:
    return ((not filters.platform or filters.platform in row.assessment.platforms)
            and (not filters.tool or filters.tool in row.tools.values())
            and (not filters.level or row.level == filters.level)
            and (not filters.flagged or bool(row.flags))
            and (not filters.overdue or row.overdue))


def transfer_text(row: Row, lang: str) -> str:
    """"Facebook: EU–US Data Privacy Framework; Instagram: …", each transfer's tool as the catalogue names it."""
    labels = dict(tool_choices(lang))
    parts = []
    for platform, tool in row.tools.items():
        text = f"{row.assessment.platform_name(platform, lang)}: {labels.get(tool, tool)}"
        if platform in row.stopped:
            text += f" ({MAY_NOT_TAKE_PLACE})"
        parts.append(text)
    return "; ".join(parts)


def portfolio_csv(rows: list[Row], lang: str) -> str:
    """The rows as CSV (``csvfile``: semicolon-separated UTF-8 with BOM, formulas neutralised)."""
    header = [str(h) for h in (_l("Title"), _l("Revision"), _l("Status"), _l("Platforms"), _l("Transfer basis"),
                               _l("Overall residual risk"), _l("Review by"), _l("Review overdue"),
                               _l("Re-assessment needed"))]
    yes, no = str(_l("Yes")), str(_l("No"))
    return csvfile.write_rows([header] + [
        [r.assessment.title, r.assessment.revision, str(status_label(r.assessment.status)),
         ", ".join(r.assessment.platform_name(p, lang) for p in r.assessment.platforms), transfer_text(r, lang),
         str(LEVEL_LABELS[r.level]), r.assessment.review_due.isoformat() if r.assessment.review_due else "",
         yes if r.overdue else no, " ".join(describe(f, lang) for f in r.flags)]
        for r in rows])

