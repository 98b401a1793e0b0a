"""Installation-wide changes in the law (docs/reassessment.md): from the day the EU–US Data Privacy
Framework no longer applies, a transfer that relies on it may not take place (Art. 44, Art. 45; C-311/18
Schrems II, paras 134–135), whatever the approved assessment said."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..clock import today
from ..extensions import db
from .model import DPF_INVALID, LegalChange


def dpf_invalid_from() -> date | None:
    """The day from which the EU–US Data Privacy Framework no longer applies, if an operator recorded it."""
    return db.session.scalar(select(LegalChange.effective_on).where(LegalChange.kind == DPF_INVALID))


def dpf_invalid_on(day: date | None = None) -> bool:
    """Whether the Data Privacy Framework no longer applies on ``day`` (default: today)."""
    since = dpf_invalid_from()
    return since is not None and since <= (day or today())
