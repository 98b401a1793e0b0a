"""The screening outcome: is a DPIA required? (WP248 rev.01; IMY's list under Art. 35(4).)

A ``yes_no`` question tagged with a criterion key triggers that criterion when answered "yes"; a
question's ``triggers`` trigger theirs when their ``when`` matches the answer (a per-platform question on
any of the assessment's platforms). The number of distinct criteria triggered gives the level:

* ``required`` — two or more;
* ``recommended`` — one;
* ``not_required`` — none (the reasons and the DPO's view must still be recorded: the questions with
  ``show_if: {screening: [not_required]}``);
* ``not_assessed`` — the catalogue has no screening block (version 1). No ``show_if`` can name it.

Only answers that count: an unanswered question triggers nothing, and neither does the stale answer of a
question that is hidden (its ``show_if`` chain does not hold), nor of a platform no longer chosen.
Questions shown only for a screening outcome (directly or through their ``show_if`` chain) never count
towards it — the loader rejects triggers on them — so the outcome is computed without recursion.

Answers are keyed ``(question_key, platform)``, with platform ``""`` for global questions; values as
described in ``model.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .model import SCREENING_LEVELS, Catalog, Criterion, Question

__all__ = ["NOT_ASSESSED", "SCREENING_LEVELS", "ScreeningOutcome", "TriggeredCriterion", "applies",
           "screening_dependent", "screening_outcome"]

NOT_ASSESSED = "not_assessed"

Answers = Mapping[tuple[str, str], object]


@dataclass(frozen=True)
class TriggeredCriterion:
    criterion: Criterion
    questions: tuple[str, ...]  # keys of the questions whose answers triggered it, in catalogue order


@dataclass(frozen=True)
class ScreeningOutcome:
    level: str  # one of SCREENING_LEVELS, or "not_assessed"
    triggered: tuple[TriggeredCriterion, ...]  # in the order of the catalogue's screening.criteria

    @property
    def count(self) -> int:
        """The number of distinct criteria triggered."""
        return len(self.triggered)


def screening_dependent(catalog: Catalog) -> frozenset[str]:
    """Keys of the questions shown only for a screening outcome, directly or through their show_if chain."""
    dependent: set[str] = set()
    for question in catalog.questions():  # a show_if only refers to an earlier question
        show_if = question.show_if
        if show_if is not None and (show_if.is_screening or show_if.question in dependent):
            dependent.add(question.key)
    return frozenset(dependent)


def _level(count: int) -> str:
    if count >= 2:
        return "required"
    return "recommended" if count == 1 else "not_required"


def _platforms_in(answers: Answers) -> list[str]:
    return list(dict.fromkeys(platform for _, platform in answers if platform))


def applies(catalog: Catalog, question: Question | str, platform: str, answers: Answers,
            outcome_level: str | None = None, *, platforms: Sequence[str] | None = None) -> bool:
    """Whether a question is asked, given the answers so far: its whole ``show_if`` chain holds.

    ``platform`` is the platform of a per-platform question ("" or anything for a global one). A
    ``show_if: {screening: [...]}`` in the chain is decided by ``outcome_level``; when that is None, the
    outcome is computed from ``answers`` for ``platforms`` (default: the platforms the answers mention;
    pass the assessment's platforms, or better the level computed once, when answers of a deselected
    platform may linger).
    """
    if isinstance(question, str):
        question = catalog.question(question)
    if not question.per_platform:
        platform = ""
    current = question
    while current.show_if is not None:
        show_if = current.show_if
        if show_if.is_screening:
            if outcome_level is None:
                chosen = _platforms_in(answers) if platforms is None else platforms
                outcome_level = screening_outcome(catalog, answers, chosen).level
            return show_if.is_met_screening(outcome_level)
        parent = catalog.question(show_if.question)  # type: ignore[arg-type]  # question form
        value = answers.get((parent.key, platform if parent.per_platform else ""))
        if not show_if.is_met(value):
            return False
        current = parent
    return True


def screening_outcome(catalog: Catalog, answers: Answers, platforms: Sequence[str]) -> ScreeningOutcome:
    """The outcome of the screening for the given answers and the assessment's chosen platforms."""
    if not catalog.screening_criteria:
        return ScreeningOutcome(level=NOT_ASSESSED, triggered=())
    criteria = {c.key for c in catalog.screening_criteria}
    dependent = screening_dependent(catalog)
    chosen = list(dict.fromkeys(platforms))
    hits: dict[str, list[str]] = {}
    for question in catalog.questions():
        if question.key in dependent:
            continue
        tagged = [t for t in question.tags if t in criteria] if question.type == "yes_no" else []
        if not tagged and not question.triggers:
            continue
        for platform in (chosen if question.per_platform else [""]):
            value = answers.get((question.key, platform))
            if value is None or not applies(catalog, question, platform, answers, outcome_level=NOT_ASSESSED):
                continue
            found = [t for t in tagged if value == "yes"]
            found += [t.criterion for t in question.triggers if t.when.is_met(value)]
            for key in found:
                keys = hits.setdefault(key, [])
                if question.key not in keys:
                    keys.append(question.key)
    triggered = tuple(TriggeredCriterion(criterion=c, questions=tuple(hits[c.key]))
                      for c in catalog.screening_criteria if c.key in hits)
    return ScreeningOutcome(level=_level(len(triggered)), triggered=triggered)
