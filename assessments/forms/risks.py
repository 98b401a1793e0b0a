"""The risk register's forms: ratings, a free-form risk, a measure, a treatment decision, the Art. 36 record,
acceptance of the residual risk. The messages are the services' own, so a refusal reads the same whether
the form or the service caught it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..limits import (
    AFFECTED_MAX,
    CASE_NUMBER_MAX,
    MEASURE_DESCRIPTION_MAX,
    MEASURE_TITLE_MAX,
    OWNER_MAX,
    REASON_MAX,
    RECORD_MAX,
    RISK_DESCRIPTION_MAX,
    RISK_TITLE_MAX,
    SOURCE_MAX,
)
from ..models import MeasureStatus, Treatment
from .common import Form, IsoDateField, as_choices, known_choices, no_control_characters

TEXT = [Optional(strip_whitespace=False), no_control_characters]
LEVELS = as_choices((str(n), str(n)) for n in (1, 2, 3, 4))
A_LEVEL = _l("A rating is a level from 1 to 4.")


def rating(label) -> SelectField:
    return SelectField(label, choices=LEVELS, validate_choice=False, validators=[Optional(), _level])


def _level(form, field):
    if field.data not in (None, "") and field.data not in {choice.value for choice in LEVELS}:
        raise ValidationError(A_LEVEL)


class RatingsForm(Form):
    """Any of the four ratings; only those sent change."""
    inherent_likelihood = rating(_l("Likelihood"))
    inherent_severity = rating(_l("Severity"))
    residual_likelihood = rating(_l("Likelihood"))
    residual_severity = rating(_l("Severity"))
    justification = TextAreaField(_l("Justification"), validators=[*TEXT, Length(max=REASON_MAX)])

    def sent_ratings(self, formdata) -> dict[str, str]:
        return {name: self[name].data for name in ("inherent_likelihood", "inherent_severity",
                                                   "residual_likelihood", "residual_severity") if name in formdata}


class RiskForm(Form):
    title = StringField(_l("Title"), validators=[
        DataRequired(_l("Give the risk a title (at most 300 characters).")),
        Length(max=RISK_TITLE_MAX, message=_l("Give the risk a title (at most 300 characters).")),
        no_control_characters])
    description = TextAreaField(_l("What can happen to people"), validators=[*TEXT, Length(max=RISK_DESCRIPTION_MAX)])
    affected = StringField(_l("Affected"), validators=[*TEXT, Length(max=AFFECTED_MAX)])
    source = StringField(_l("Source"), validators=[*TEXT, Length(max=SOURCE_MAX)])
    inherent_likelihood = SelectField(_l("Likelihood"), choices=LEVELS, validate_choice=False,
                                      validators=[InputRequired(A_LEVEL), _level])
    inherent_severity = SelectField(_l("Severity"), choices=LEVELS, validate_choice=False,
                                    validators=[InputRequired(A_LEVEL), _level])


NEEDS_TITLE_AND_OWNER = _l("A measure needs a title and an owner.")


class MeasureForm(Form):
    title = StringField(_l("Measure"), validators=[DataRequired(NEEDS_TITLE_AND_OWNER),
                                                   Length(max=MEASURE_TITLE_MAX, message=NEEDS_TITLE_AND_OWNER),
                                                   no_control_characters])
    owner = StringField(_l("Owner"), validators=[DataRequired(NEEDS_TITLE_AND_OWNER),
                                                 Length(max=OWNER_MAX, message=NEEDS_TITLE_AND_OWNER),
                                                 no_control_characters])
    due_date = IsoDateField(_l("Due date"))
    status = SelectField(_l("Status"), choices=as_choices((s.value, s.value) for s in MeasureStatus),
                         default="planned",
                         validate_choice=False, validators=[Optional(), known_choices])
    description = TextAreaField(_l("Description"), validators=[*TEXT, Length(max=MEASURE_DESCRIPTION_MAX)])
    risks = SelectMultipleField(_l("Risks addressed"), validate_choice=False, validators=[Optional()])

    def validate_due_date(self, field) -> None:
        # The service's rule (risk/service.py save_measure), checked here too so the message is at the field.
        if not field.data and (self.status.data or "planned") != MeasureStatus.CANCELLED.value:
            raise ValidationError(_l("A measure needs a due date (only a cancelled one does not)."))

    def risk_ids(self) -> list[int] | None:
        """The risks named, as ids; None when one is not a number."""
        try:
            return [int(v) for v in self.risks.data or []]
        except ValueError:
            return None


class TreatmentForm(Form):
    treatment = RadioField(_l("How is the risk treated?"), choices=as_choices((t.value, t.value) for t in Treatment),
                           validate_choice=False, validators=[InputRequired(_l("Choose one of the alternatives.")),
                                                              known_choices])
    reason = TextAreaField(_l("Reason (required to avoid or accept)"), validators=[*TEXT, Length(max=REASON_MAX)])


class PriorConsultationForm(Form):
    requested_on = IsoDateField(_l("Date the request was sent to IMY"))
    imy_case_number = StringField(_l("IMY's case number"), validators=[*TEXT, Length(max=CASE_NUMBER_MAX)])
    answered_on = IsoDateField(_l("Date of IMY's written advice"))
    imy_advice = TextAreaField(_l("IMY's written advice"), validators=[*TEXT, Length(max=RECORD_MAX)])


class AcceptResidualForm(Form):
    reason = TextAreaField(_l("Accept the residual risk – reason"), validators=[*TEXT, Length(max=RECORD_MAX)])
