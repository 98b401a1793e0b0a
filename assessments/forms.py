"""WTForms classes; the wizard's forms are built from catalogue sections at request time."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, EmailField, HiddenField, PasswordField,
                     RadioField, SelectMultipleField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .answers import Slot
from .catalog import PLATFORMS, platform_label

# Generous but finite: a long answer is a few pages of text, never a file.
TEXT_MAX = 500
LONG_TEXT_MAX = 20_000


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def as_choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def platform_choices(lang: str) -> list[SelectChoice]:
    return as_choices((key, platform_label(key, lang)) for key in PLATFORMS)


class NewAssessmentForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)],
                        description=_l("For example: Our presence on Facebook and Instagram 2026"))
    platforms = MultiCheckboxField(_l("Platforms"), validators=[DataRequired(_l("Choose at least one platform."))])

    def validate_other_platform_name(self, field):
        if "other" in (self.platforms.data or []) and not (field.data or "").strip():
            raise ValidationError(_l("Name the other platform."))
    other_platform_name = StringField(_l("Name of the other platform"), validators=[Length(max=100)],
                                      description=_l("Only if you chose \u201cOther platform\u201d."))
    language = RadioField(_l("Language of the assessment and its report"),
                          choices=as_choices([("sv", "Svenska"), ("en", "English")]), default="sv",
                          validators=[InputRequired()])


class CommentForm(FlaskForm):
    question = HiddenField()
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5000)])


class RequestChangesForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField(_l("What needs to change"), validators=[DataRequired(), Length(max=5000)])


class ApproveForm(FlaskForm):
    version = HiddenField()
    # 21 CFR Part 11 § 11.200 pattern: a signature requires the signer to authenticate again.
    password = PasswordField(_l("Your password, to sign"), validators=[DataRequired()])
    # The four signer attestations of the CNIL PIA tool (domain.md §4).
    attest_context = BooleanField(_l("The context described matches reality."),
                                  validators=[DataRequired(_l("Confirm this to sign."))])
    attest_risks = BooleanField(_l("I am aware of the risks that remain."),
                                validators=[DataRequired(_l("Confirm this to sign."))])
    attest_measures = BooleanField(_l("The measures described are ratified."),
                                   validators=[DataRequired(_l("Confirm this to sign."))])
    attest_commitment = BooleanField(_l("The organisation commits to carry out the measures."),
                                     validators=[DataRequired(_l("Confirm this to sign."))])
    registration_number = StringField(_l("Registration number (diarienummer), if any"),
                                      validators=[Optional(), Length(max=64)])


def _known_choices(form, field):
    """Unknown choice values are rejected, never stored (a tampered form must not smuggle data in)."""
    allowed = {choice.value for choice in field.choices}
    data = field.data if isinstance(field.data, list) else [field.data]
    if any(item not in allowed for item in data if item):
        raise ValidationError(_l("Choose one of the alternatives."))


def step_form_class(slots: list[Slot], lang: str, platform_name=platform_label) -> type[FlaskForm]:
    """A form class for one wizard step: one field per slot, named ``key`` or ``key__platform``."""

    class StepForm(FlaskForm):
        version = HiddenField()

    for slot in slots:
        q = slot.question
        label = q.text.get(lang)
        if slot.platform:
            label = f"{label} ({platform_name(slot.platform, lang)})"
        kwargs: dict[str, Any] = {"label": label}
        if q.type == "text":
            field = StringField(validators=[Optional(), Length(max=TEXT_MAX)], **kwargs)
        elif q.type == "long_text":
            field = TextAreaField(validators=[Optional(), Length(max=LONG_TEXT_MAX)], **kwargs)
        elif q.type in ("single_choice", "yes_no"):
            # validate_choice=False: our own validator gives the message in the user's language.
            field = RadioField(choices=as_choices(q.choices(lang)), validate_choice=False,
                               validators=[Optional(), _known_choices], **kwargs)
        elif q.type == "multiple_choice":
            field = MultiCheckboxField(choices=as_choices(q.choices(lang)), validate_choice=False,
                                       validators=[Optional(), _known_choices], **kwargs)
        elif q.type == "date":
            field = DateField(validators=[Optional()], **kwargs)
        else:  # pragma: no cover - the catalogue loader rejects unknown types
            raise ValueError(q.type)
        setattr(StepForm, slot.field_name, field)
    return StepForm


def field_value(field) -> Any:
    """The stored form of a field's value: ISO dates, lists for multiple choice, stripped text."""
    data = field.data
    if isinstance(data, date):
        return data.isoformat()
    if isinstance(data, list):
        return [item for item in data if item]
    if isinstance(data, str):
        return data.strip()
    return data


def form_data_from_answers(slots: list[Slot], answers: dict) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for slot in slots:
        value = answers.get(slot.key)
        if value is None:
            continue
        if slot.question.type == "date" and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                continue
        data[slot.field_name] = value
    return data


__all__ = ["LoginForm", "NewAssessmentForm", "CommentForm", "RequestChangesForm", "ApproveForm",
           "step_form_class", "field_value", "form_data_from_answers", "platform_choices",
           "IntegerField", "SelectField"]
