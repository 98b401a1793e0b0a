"""The review's forms: logging in, comments, verdicts, sending back, the consultation record, approval."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..limits import COMMENT_MAX, EMAIL_MAX, NOTE_MAX, REASON_MAX, RECORD_MAX, REGISTRATION_NUMBER_MAX, TOO_LONG
from .common import Form, as_choices, known_choices, no_control_characters

TEXT = [Optional(strip_whitespace=False), no_control_characters]  # presence and length: the service decides


class LoginForm(Form):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=EMAIL_MAX)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class CommentForm(Form):
    """A comment on a question (``question``: the wizard's field name) or a reply (``parent``)."""
    question = HiddenField()
    parent = IntegerField(validators=[Optional()])
    body = TextAreaField(_l("Comment"), validators=[*TEXT, Length(max=COMMENT_MAX,
                                                                  message=_l("Write a comment (at most 5,000 "
                                                                             "characters)."))])
    next = HiddenField()


class ResolveForm(Form):
    resolved = HiddenField(default="1")
    next = HiddenField()


VERDICTS = (("acceptable", _l("Acceptable")), ("improvable", _l("Improvable")), ("to_correct", _l("To correct")))


class VerdictForm(Form):
    section = HiddenField()
    verdict = RadioField(_l("Verdict"), choices=as_choices(VERDICTS), validate_choice=False,
                         validators=[InputRequired(_l("Choose one of the alternatives.")), known_choices])
    note = TextAreaField(_l("Note"), validators=[*TEXT, Length(max=NOTE_MAX)])
    next = HiddenField()


FOLLOWED = (("yes", _l("Yes")), ("partly", _l("Partly")), ("no", _l("No")))


class DpoAdviceForm(Form):
    """The DPO's advice (Art. 35(2)); whether it is followed is the organisation's ``AdviceResponseForm``."""

    advice = TextAreaField(_l("Advice"), validators=[*TEXT, Length(max=RECORD_MAX, message=TOO_LONG)])
    on_behalf = BooleanField(_l("I record this on the DPO's behalf"), false_values=("", "0", "false"))


class AdviceResponseForm(Form):
    followed = RadioField(_l("Does the organisation follow the advice?"), choices=as_choices(FOLLOWED),
                          validate_choice=False, validators=[Optional(), known_choices])
    overruled_reason = TextAreaField(_l("If not, or only partly: why"),
                                     validators=[*TEXT, Length(max=RECORD_MAX, message=TOO_LONG)])


class DataSubjectViewsForm(Form):
    sought = RadioField(_l("Were the views of data subjects sought?"),
                        choices=as_choices((("yes", _l("Yes")), ("no", _l("No")))), validate_choice=False,
                        validators=[Optional(), known_choices])
    whose = StringField(_l("If yes: whose views"), validators=[*TEXT, Length(max=RECORD_MAX, message=TOO_LONG)])
    summary = TextAreaField(_l("If yes: what they said"), validators=[*TEXT, Length(max=RECORD_MAX, message=TOO_LONG)])
    reason_not_sought = TextAreaField(_l("If no: why not"),
                                      validators=[*TEXT, Length(max=RECORD_MAX, message=TOO_LONG)])


class RequestChangesForm(Form):
    version = HiddenField()
    reason = TextAreaField(_l("What needs to change"),
                           validators=[DataRequired(), Length(max=REASON_MAX), no_control_characters])


class ApproveForm(Form):
    version = HiddenField()
    # 21 CFR Part 11 § 11.200 pattern: a signature requires the signer to authenticate again.
    password = PasswordField(_l("Your password, to sign"), validators=[DataRequired()])
    # The four signer attestations of the CNIL PIA tool (docs/risk-method.md, "What the signer sees").
    attest_context = BooleanField(_l("The context described matches reality."),
                                  validators=[DataRequired(_l("Confirm this to sign."))])
    attest_risks = BooleanField(_l("I am aware of the risks that remain."),
                                validators=[DataRequired(_l("Confirm this to sign."))])
    attest_measures = BooleanField(_l("The measures described are ratified."),
                                   validators=[DataRequired(_l("Confirm this to sign."))])
    attest_commitment = BooleanField(_l("The organisation commits to carry out the measures."),
                                     validators=[DataRequired(_l("Confirm this to sign."))])
    registration_number = StringField(_l("Registration number (diarienummer), if any"),
                                      validators=[Optional(strip_whitespace=False), Length(max=REGISTRATION_NUMBER_MAX),
                                                  no_control_characters])
    # Asked only when the conclusion needs it (prior consultation, or a transfer that may not take place);
    # the view names the outcome in the label and requires the box then.
    confirm_conclusion = BooleanField(_l("I approve with this conclusion."))


