"""Who decides: the controller body and the delegated authority to accept the residual risk and approve
(catalogue questions ``controller_body`` and ``approval_delegation``, from version 3).

A lawyer's signature is not the controller's decision by itself; the approval page and the signed PDF
therefore name the body that is the controller and whoever has the delegated authority to approve, as the
assessment answers them. Catalogues without these questions (versions 1 and 2) show nothing, so documents
signed on them render as they were signed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from .answers import catalog_of, load_answers
from .models import Assessment

QUESTIONS = (
    ("controller_body", _l("Controller")),
    ("approval_delegation", _l("Authority to accept the residual risk and approve")),
)


@dataclass(frozen=True)
class AuthorityLine:
    key: str
    label: Any  # a lazy string, translated when rendered
    answer: str | None  # None: the catalogue asks it, but it is not answered yet


def approval_authority(assessment: Assessment, answers: dict | None = None) -> list[AuthorityLine]:
    """The lines to show, in order; empty when the assessment's catalogue does not ask these questions."""
    catalog = catalog_of(assessment)
    asked = {q.key for q in catalog.questions()}
    if not any(key in asked for key, _label in QUESTIONS):
        return []
    answers = load_answers(assessment) if answers is None else answers
    lines = []
    for key, label in QUESTIONS:
        if key in asked:
            value = answers.get((key, ""))
            lines.append(AuthorityLine(key, label, value.strip() if isinstance(value, str) and value.strip() else None))
    return lines
