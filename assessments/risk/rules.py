"""Risk rules: data files next to the catalogue (RISK_RULES.md) that turn answers into proposed risks.

Pure: no Flask, no database. ``derive_risks`` says which rules hold for a set of answers and which
answers made them hold, so a proposed risk can always explain itself.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ..catalog import Catalog, CatalogError, Text, get_catalog
from ..catalog.screening import applies, screening_dependent
from ..catalog.yaml_reader import read_yaml

# Kept apart from the catalogues so that no rules file is ever mistaken for one (<id>-<version>.yaml).
RULES_DIR = Path(__file__).resolve().parent.parent / "catalog" / "data" / "risk-rules"
LEVELS = (1, 2, 3, 4)
LEAF_OPERATORS = ("equals", "any_of", "includes", "not_includes", "unanswered", "answered")

Answers = Mapping[tuple[str, str], Any]


class RiskRuleError(Exception):
    """The rules file is malformed; the message names the file and the rule."""


@dataclass(frozen=True)
class Rating:
    likelihood: int
    severity: int


@dataclass(frozen=True)
class Condition:
    """A node of a rule's condition tree: ``all``/``any``/``not`` of children, or a leaf."""

    kind: str  # all | any | not | question | public_body
    children: tuple[Condition, ...] = ()
    question: str | None = None
    operator: str | None = None
    value: Any = None


@dataclass(frozen=True)
class RiskRule:
    key: str
    title: Text
    description: Text
    affected: Text
    source: Text
    per_platform: bool
    when: Condition
    inherent: Rating
    residual: Rating
    measures: tuple[Text, ...]
    refs: tuple[str, ...]


@dataclass(frozen=True)
class DerivedRisk:
    rule: RiskRule
    platform: str  # '' for a global rule
    triggered_by: tuple[tuple[str, str], ...]  # (question key, platform '' if global)


def _text(value: Any, where: str) -> Text:
    if not isinstance(value, dict) or set(value) != {"sv", "en"} or not all(
            isinstance(v, str) and v.strip() for v in value.values()):
        raise RiskRuleError(f"{where}: needs non-empty sv and en texts")
    return Text(sv=value["sv"].strip(), en=value["en"].strip())


def _rating(value: Any, where: str) -> Rating:
    if not isinstance(value, dict) or set(value) != {"likelihood", "severity"} or not all(
            v in LEVELS for v in value.values()):
        raise RiskRuleError(f"{where}: needs likelihood and severity, each 1–4")
    return Rating(value["likelihood"], value["severity"])


def _condition(node: Any, catalog: Catalog, per_platform: bool, where: str) -> Condition:
    if not isinstance(node, dict) or len(node) == 0:
        raise RiskRuleError(f"{where}: a condition is a mapping")
    if set(node) <= {"all", "any"} and len(node) == 1:
        kind = next(iter(node))
        children = node[kind]
        if not isinstance(children, list) or not children:
            raise RiskRuleError(f"{where}.{kind}: needs a non-empty list")
        return Condition(kind, tuple(_condition(c, catalog, per_platform, f"{where}.{kind}[{i}]")
                                     for i, c in enumerate(children)))
    if set(node) == {"not"}:
        return Condition("not", (_condition(node["not"], catalog, per_platform, f"{where}.not"),))
    if set(node) == {"public_body"}:
        if not isinstance(node["public_body"], bool):
            raise RiskRuleError(f"{where}: public_body is true or false")
        return Condition("public_body", value=node["public_body"])
    if "question" not in node or len(node) != 2:
        raise RiskRuleError(f"{where}: a leaf is {{question: KEY, <one of {', '.join(LEAF_OPERATORS)}>: …}}")
    key = node["question"]
    try:
        question = catalog.question(key)
    except KeyError:
        raise RiskRuleError(f"{where}: unknown question {key!r}") from None
    if question.per_platform and not per_platform:
        raise RiskRuleError(f"{where}: per-platform question {key!r} in a global rule")
    operator = next(k for k in node if k != "question")
    if operator not in LEAF_OPERATORS:
        raise RiskRuleError(f"{where}: unknown operator {operator!r}")
    value = node[operator]
    allowed = {v for v, _label in question.choices("sv")}
    if operator in ("unanswered", "answered"):
        if value is not True:
            raise RiskRuleError(f"{where}: {operator} takes true")
    elif operator in ("includes", "not_includes"):
        if question.type != "multiple_choice" or value not in allowed:
            raise RiskRuleError(f"{where}: {operator} needs a multiple-choice question and one of its options")
    else:
        values = value if operator == "any_of" else [value]
        if question.type not in ("single_choice", "yes_no") or not isinstance(values, list) or not values \
                or not set(values) <= allowed:
            raise RiskRuleError(f"{where}: {operator} needs a single-choice/yes-no question and its options "
                                f"({', '.join(sorted(allowed))})")
        value = tuple(values) if operator == "any_of" else value
    return Condition("question", question=key, operator=operator, value=value)


def parse_rules(data: Any, catalog: Catalog, file: str) -> tuple[RiskRule, ...]:
    if not isinstance(data, dict) or set(data) != {"catalogue", "rules"}:
        raise RiskRuleError(f"{file}: top level is catalogue and rules")
    if data["catalogue"] != {"id": catalog.id, "version": catalog.version}:
        raise RiskRuleError(f"{file}: written for {data['catalogue']}, not {catalog.id} {catalog.version}")
    rules, seen = [], set()
    known = {"key", "title", "description", "affected", "source", "per_platform", "when", "inherent",
             "residual", "measures", "refs"}
    for index, raw in enumerate(data["rules"] or []):
        where = f"{file}: rules[{index}]"
        if not isinstance(raw, dict):
            raise RiskRuleError(f"{where}: a rule is a mapping")
        key = raw.get("key")
        where = f"{where} (key {key!r})"
        if not isinstance(key, str) or not key.replace("_", "").isalnum() or key in seen:
            raise RiskRuleError(f"{where}: key missing, malformed or repeated")
        seen.add(key)
        unknown = set(raw) - known
        if unknown:
            raise RiskRuleError(f"{where}: unknown keys {sorted(unknown)}")
        per_platform = raw.get("per_platform", False)
        if not isinstance(per_platform, bool):
            raise RiskRuleError(f"{where}: per_platform is true or false")
        rules.append(RiskRule(
            key=key, title=_text(raw.get("title"), f"{where}.title"),
            description=_text(raw.get("description"), f"{where}.description"),
            affected=_text(raw.get("affected"), f"{where}.affected"),
            source=_text(raw.get("source"), f"{where}.source"), per_platform=per_platform,
            when=_condition(raw.get("when"), catalog, per_platform, f"{where}.when"),
            inherent=_rating(raw.get("inherent"), f"{where}.inherent"),
            residual=_rating(raw.get("residual"), f"{where}.residual"),
            measures=tuple(_text(m, f"{where}.measures[{i}]") for i, m in enumerate(raw.get("measures") or [])),
            refs=tuple(str(r) for r in raw.get("refs") or ())))
    return tuple(rules)


@functools.cache
def load_risk_rules(catalog_id: str = "social-media", version: int = 2) -> tuple[RiskRule, ...]:
    """The rules for one catalogue version; a catalogue version without rules proposes no risks."""
    path = RULES_DIR / f"{catalog_id}-{version}.yaml"
    if not path.exists():
        return ()
    try:
        # Strict like a catalogue: YAML 1.2 booleans, a repeated key is an error (catalog/yaml_reader.py).
        data = read_yaml(path, path.name)
    except CatalogError as exc:
        raise RiskRuleError(f"not valid YAML: {exc}") from exc
    return parse_rules(data, get_catalog(catalog_id, version), path.name)


def _holds(node: Condition, catalog: Catalog, answers: Answers, platform: str, public_body: bool,
           used: list[tuple[str, str]]) -> bool:
    if node.kind == "all":
        # Each branch collects into its own list: a branch that fails half-way must not leave the answers
        # it matched among the reasons of a rule that holds for another reason.
        found: list[tuple[str, str]] = []
        if all(_holds(c, catalog, answers, platform, public_body, found) for c in node.children):
            used.extend(found)
            return True
        return False
    if node.kind == "any":
        held = False
        for child in node.children:  # every branch that holds is a reason worth showing
            found = []
            if _holds(child, catalog, answers, platform, public_body, found):
                used.extend(found)
                held = True
        return held
    if node.kind == "not":
        return not _holds(node.children[0], catalog, answers, platform, public_body, [])
    if node.kind == "public_body":
        return public_body is node.value
    question = catalog.question(cast(str, node.question))  # a leaf always names its question
    key = (question.key, platform if question.per_platform else "")
    # A question that is not asked counts as unanswered, whatever a stale answer says.
    asked = applies(catalog, question, key[1], answers)
    value = answers.get(key) if asked else None
    answered = value not in (None, "", [])
    if node.operator == "unanswered":
        result = not answered
    elif node.operator == "answered":
        result = answered
    elif not answered:
        result = False
    elif node.operator == "equals":
        result = value == node.value
    elif node.operator == "any_of":
        result = value in cast(tuple, node.value)
    elif node.operator == "includes":
        result = node.value in cast(list, value)
    else:  # not_includes
        result = node.value not in cast(list, value)
    if result:
        used.append(key)
    return result


def _leaf_questions(node: Condition) -> list[str]:
    if node.kind == "question":
        return [cast(str, node.question)]
    return [key for child in node.children for key in _leaf_questions(child)]


def rule_inputs(catalog: Catalog, rules: Sequence[RiskRule]) -> frozenset[str]:
    """The questions whose answers ``derive_risks`` can read: those a rule's condition names, every question
    of their ``show_if`` chains (a question not asked counts as unanswered), and, when a chain ends on the
    screening outcome, every question the screening reads, with their chains. An answer to any other
    question cannot change what the rules propose."""
    keys: set[str] = set()

    def chain(question) -> bool:
        """Adds the question and its chain; True if the chain ends on the screening outcome."""
        while True:
            keys.add(question.key)
            show_if = question.show_if
            if show_if is None:
                return False
            if show_if.is_screening:
                return True
            question = catalog.question(cast(str, show_if.question))

    reads_screening = False
    for rule in rules:
        for key in _leaf_questions(rule.when):
            reads_screening |= chain(catalog.question(key))
    if reads_screening:
        criteria = {c.key for c in catalog.screening_criteria}
        dependent = screening_dependent(catalog)
        for question in catalog.questions():
            if question.key not in dependent and (question.triggers or (
                    question.type == "yes_no" and criteria & set(question.tags))):
                chain(question)
    return frozenset(keys)


@functools.cache
def rule_inputs_of(catalog_id: str, version: int) -> frozenset[str]:
    """``rule_inputs`` of a catalogue version's rules, computed once."""
    return rule_inputs(get_catalog(catalog_id, version), load_risk_rules(catalog_id, version))


def derive_risks(catalog: Catalog, rules: Sequence[RiskRule], answers: Answers, platforms: Sequence[str], *,
                 public_body: bool) -> list[DerivedRisk]:
    derived = []
    for rule in rules:
        for platform in (platforms if rule.per_platform else [""]):
            used: list[tuple[str, str]] = []
            if _holds(rule.when, catalog, answers, platform, public_body, used):
                derived.append(DerivedRisk(rule, platform, tuple(dict.fromkeys(used))))
    return derived
