"""Risks as people read them: numbered, titled in the assessment's language, with the answers behind them."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..answers import catalog_of
from ..extensions import db
from ..models import Assessment, Measure, Risk, RiskRatingChange
from .matrix import level
from .rules import RiskRule, load_risk_rules
from .service import decided_measures, proposal_of


@dataclass(frozen=True)
class RiskView:
    number: str  # R1, R2 …: given once per assessment and never reused (Risk.number)
    risk: Risk
    rule: RiskRule | None
    title: str
    description: str
    affected: str
    source: str
    triggered_by: list[str]  # question texts (with platform) whose answers proposed the risk
    suggested_measures: list[str]
    inherent_level: str
    residual_level: str
    decided_measures: list[Measure]  # the measures that can justify a residual below the inherent rating
    proposal: tuple[int, int] | None  # the rule's lower residual rating, not yet adopted


def present(assessment: Assessment, risks: list[Risk]) -> list[RiskView]:
    catalog = catalog_of(assessment)
    lang = assessment.language
    rules = {rule.key: rule for rule in load_risk_rules(catalog.id, catalog.version)}
    views = []
    for risk in sorted(risks, key=lambda r: r.number):
        rule = rules.get(risk.rule_key) if risk.rule_key else None
        platform = f" ({assessment.platform_name(risk.platform, lang)})" if risk.platform else ""
        triggered = []
        for key, answer_platform in risk.triggered_by or []:
            try:
                text = catalog.question(key).text.get(lang)
            except KeyError:
                text = key
            triggered.append(f"{text} ({assessment.platform_name(answer_platform, lang)})" if answer_platform
                             else text)
        views.append(RiskView(
            number=f"R{risk.number}", risk=risk, rule=rule,
            title=(rule.title.get(lang) if rule else risk.title or "") + platform,
            description=rule.description.get(lang) if rule else (risk.description or ""),
            affected=rule.affected.get(lang) if rule else (risk.affected or ""),
            source=rule.source.get(lang) if rule else (risk.source or ""),
            triggered_by=triggered,
            suggested_measures=[m.get(lang) for m in rule.measures] if rule else [],
            inherent_level=level(risk.inherent_likelihood, risk.inherent_severity),
            residual_level=level(risk.residual_likelihood, risk.residual_severity),
            decided_measures=decided_measures(risk), proposal=proposal_of(risk, rule)))
    return views


def no_longer_applies(assessment: Assessment, views: list[RiskView],
                      history: dict[int, list[RiskRatingChange]]) -> list[RiskView]:
    """The inactive risks worth naming as "no longer applies": those that applied in a way someone could
    have relied on (a rating changed, a measure linked, a treatment decided, or active in the revision this
    one was started from). A risk proposed for a moment while the questionnaire was being filled in (a
    rule that holds while a later step's question is still unanswered) never applied and is not listed;
    it stays in the record and the audit trail (docs/risk-method.md)."""
    inactive = [v for v in views if not v.risk.active]
    if not inactive:
        return []
    before: set[int] = set()
    if assessment.previous_revision_id is not None:
        before = set(db.session.scalars(select(Risk.number).where(
            Risk.assessment_id == assessment.previous_revision_id, Risk.active.is_(True))))
    return [v for v in inactive if v.risk.number in before or v.risk.measures or v.risk.treatment is not None
            or history.get(v.risk.id)]
