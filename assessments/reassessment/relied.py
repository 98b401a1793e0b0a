"""What an approved assessment relied on (docs/reassessment.md, "Relied on"): pure, answers in, slots out.

A slot is ``(question key, platform)``, the platform '' for a question not asked per platform, as answers
are stored. A slot counts only when the question was asked (its ``show_if`` chain held) and answered.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..catalog import Catalog, Question
from ..catalog.screening import applies
from ..risk.transfers import transfer_outcomes

Slot = tuple[str, str]
Answers = Mapping[tuple[str, str], Any]

# The facts no question suggests, and the questions that read them: the words behind the transfer tool go
# with the transfer tool's question; the joint-controller addendum with the question that asks whether the
# organisation has taken a position on it (Art. 26; C-210/16 Wirtschaftsakademie).
_READ_BY_SUGGESTION_OF = {"transfer_basis": "transfer_tool"}
_READ_BY_QUESTION = {"joint_controller_addendum": "joint_controller_addendum",
                     "addendum_name": "joint_controller_addendum"}


def _answered(value: Any) -> bool:
    return value not in (None, "", [])


def _asked(catalog: Catalog, question: Question, platform: str, answers: Answers,
           platforms: Sequence[str]) -> bool:
    slot = (question.key, platform if question.per_platform else "")
    return _answered(answers.get(slot)) and applies(catalog, question, slot[1], answers, platforms=platforms)


def questions_reading(catalog: Catalog, field: str) -> list[Question]:
    """The catalogue's questions whose answer rests on the platform fact ``field`` (a FACT_FIELDS name)."""
    suggested = _READ_BY_SUGGESTION_OF.get(field, field)
    return [q for q in catalog.questions()
            if q.suggest == suggested or q.key == _READ_BY_QUESTION.get(field)]


def dependents(catalog: Catalog, keys: Iterable[str]) -> list[Question]:
    """The questions shown only because of an answer to one of ``keys``, directly or through others."""
    found: set[str] = set(keys)
    result: list[Question] = []
    changed = True
    while changed:
        changed = False
        for question in catalog.questions():
            show_if = question.show_if
            if question.key in found or show_if is None or show_if.question not in found:
                continue
            found.add(question.key)
            result.append(question)
            changed = True
    return result


def _with_dependents(catalog: Catalog, direct: list[Slot], answers: Answers,
                     platforms: Sequence[str]) -> list[Slot]:
    if not direct:
        return []
    slots = list(direct)
    for platform in sorted({p for _key, p in direct}):
        keys = [key for key, p in direct if p == platform]
        for question in dependents(catalog, keys):
            slot = (question.key, platform if question.per_platform else "")
            if slot not in slots and _answered(answers.get(slot)):
                slots.append(slot)
    return slots


def fact_slots(catalog: Catalog, answers: Answers, platforms: Sequence[str], platform: str,
               fields: Iterable[str]) -> list[Slot]:
    """The answers that relied on the changed ``fields`` of ``platform``'s facts, and those asked because of
    them; empty when the assessment does not use the platform or never answered a question reading them."""
    if platform not in platforms:
        return []
    direct: list[Slot] = []
    for field in fields:
        for question in questions_reading(catalog, field):
            slot = (question.key, platform if question.per_platform else "")
            if slot not in direct and _asked(catalog, question, platform, answers, platforms):
                direct.append(slot)
    return _with_dependents(catalog, direct, answers, platforms)


def dpf_slots(catalog: Catalog, answers: Answers, platforms: Sequence[str]) -> tuple[list[str], list[Slot]]:
    """The platforms whose transfer rests on the EU–US Data Privacy Framework (the transfer tool answered as
    ``dpf_adequacy``, as the transfer outcome reads it: risk/transfers.py), and the answers to give again."""
    relying = [t.platform for t in transfer_outcomes(catalog, answers, platforms) if t.reason == "dpf"]
    direct = [("transfer_tool", p) for p in relying]
    return relying, _with_dependents(catalog, direct, answers, platforms)


def _shape(question: Question) -> tuple:
    """What a question asks, for comparing two catalogue versions: its wording, type, choices and when it is
    asked (help texts, references and report labels do not change what was answered)."""
    options = tuple((o.value, o.label.sv, o.label.en) for o in question.options)
    return (question.text.sv, question.text.en, question.type, question.per_platform, options, question.show_if)


def catalogue_slots(old: Catalog, new: Catalog, answers: Answers, platforms: Sequence[str]) -> list[Slot]:
    """The answered, asked questions of ``old`` that ``new`` asks differently or no longer asks."""
    slots: list[Slot] = []
    for question in old.questions():
        try:
            same = _shape(new.question(question.key)) == _shape(question)
        except KeyError:
            same = False
        if same:
            continue
        for platform in (platforms if question.per_platform else [""]):
            if _asked(old, question, platform, answers, platforms):
                slots.append((question.key, platform))
    return slots
