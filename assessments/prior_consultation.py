"""Art. 36: the record of a prior consultation with IMY.

When a residual risk of lawful processing stays high, the controller consults IMY before the processing
starts (Art. 36(1)) and sends the impact assessment with the request (Art. 36(3)(e)); IMY gives written
advice within eight weeks, extendable by six (Art. 36(2)). So the record is kept from review onwards and can
be completed after approval: the date of the request, IMY's case number (diarienummer) and IMY's written
advice. Only legal and the DPO keep it. Services flush and audit, never commit.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import audit, clock, policy
from .errors import Forbidden, Invalid, NotFound
from .extensions import db
from .limits import CASE_NUMBER_MAX, RECORD_MAX
from .models import Assessment, PriorConsultation, User, utcnow
from .plaintext import require_plain_text


def prior_consultation_of(assessment: Assessment) -> PriorConsultation | None:
    return db.session.scalars(select(PriorConsultation).where(PriorConsultation.assessment_id == assessment.id)).first()


def record_prior_consultation(assessment: Assessment, actor: User, *, requested_on: date | None,
                              case_number: str, answered_on: date | None, advice: str) -> PriorConsultation:
    if actor.organisation_id != assessment.organisation_id:
        raise NotFound(_l("Not allowed."))
    if not policy.can_keep_prior_consultation(actor, assessment):
        raise Forbidden(_l("Only legal or the DPO keeps the record of the prior consultation."))
    case_number, advice = (case_number or "").strip(), (advice or "").strip()
    require_plain_text(case_number, advice)
    if len(case_number) > CASE_NUMBER_MAX or len(advice) > RECORD_MAX:
        raise Invalid(_l("The case number has at most 64 characters and IMY's advice at most 20,000. "
                               "Nothing was saved."))
    if requested_on is None and (case_number or answered_on or advice):
        raise Invalid(_l("Give the date the request was sent to IMY first. Nothing was saved."))
    if answered_on is not None and requested_on is not None and answered_on < requested_on:
        raise Invalid(_l("IMY cannot have answered before the request was sent. Nothing was saved."))
    if answered_on is not None and not advice:
        raise Invalid(_l("Write down IMY's written advice, or leave the date of the answer empty. Nothing "
                               "was saved."))
    if requested_on is not None and requested_on > clock.today():
        raise Invalid(_l("The request date cannot be in the future. Nothing was saved."))
    row = prior_consultation_of(assessment)
    if row is None:
        row = PriorConsultation(assessment_id=assessment.id, recorded_by_id=actor.id)
        db.session.add(row)
    row.requested_on, row.imy_case_number, row.answered_on = requested_on, case_number or None, answered_on
    row.imy_advice, row.recorded_by_id, row.recorded_at = advice or None, actor.id, utcnow()
    audit.record(assessment.organisation_id, "prior_consultation_recorded", actor=actor,
                 assessment_id=assessment.id, requested_on=requested_on, imy_case_number=case_number or None,
                 answered_on=answered_on, imy_advice=advice or None)
    db.session.flush()
    return row
