"""Risks as people read them: numbered, titled in the assessment's language, with the answers behind them."""
from __future__ import annotations

from dataclasses import dataclass

from ..answers import catalog_of
from ..models import Assessment, Measure, Risk
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
