"""The administrator's forms for the organisation's users (views/admin_users.py; the rules are users.py's)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, ValidationError

from ..limits import EMAIL_MAX, PERSON_NAME_MAX
from ..models import Role, User
from ..passwords import MIN_LENGTH, policy_problem
from ..roles import ROLE_LABELS
from .common import Form, as_choices, known_choices, no_control_characters

CHOOSE = _l("Choose one of the alternatives.")
LANGUAGE_CHOICES = (("sv", "Svenska"), ("en", "English"))
PASSWORDS_DIFFER = _l("The two passwords are not the same.")
CHOSEN_PASSWORD_HINT = _l("Leave both password fields empty and a one-time password is made and shown to you once. "
                          "If you write one: at least %(min)s characters. Either way the user chooses a password "
                          "of their own when they next log in.", min=MIN_LENGTH)


def role_choices():
    return as_choices((role.value, ROLE_LABELS[role]) for role in Role)


def role_field():
    return RadioField(_l("Role"), choices=role_choices(), validate_choice=False,
                      validators=[InputRequired(CHOOSE), known_choices])


class ChosenPassword:
    """The password rules for a password the administrator writes for someone (empty: one is generated);
    ``person`` gives that someone's address, name and organisation's name."""

    def __init__(self, person):
        self.person = person

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        email, name, organisation = self.person(form)
        problem = policy_problem(field.data, email=email, name=name, extra=[organisation] if organisation else [],
                                 for_someone_else=True)
        if problem is not None:
            raise ValidationError(str(problem))


class NewUserForm(Form):
    """``organisation_name`` is set by the view: a password may not contain it."""

    organisation_name = ""
    email = EmailField(_l("Email address"),
                       validators=[DataRequired(_l("Write the user's email address.")),
                                   Length(max=EMAIL_MAX), no_control_characters])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Write the user's name.")),
                                               Length(max=PERSON_NAME_MAX), no_control_characters])
    role = role_field()
    language = RadioField(_l("Language"), choices=as_choices(LANGUAGE_CHOICES), default="sv", validate_choice=False,
                          validators=[InputRequired(CHOOSE), known_choices])
    password = PasswordField(_l("Initial password (optional)"), description=CHOSEN_PASSWORD_HINT,
                             validators=[Optional(strip_whitespace=False),
                                         ChosenPassword(lambda form: (form.email.data or "", form.name.data or "",
                                                                      form.organisation_name))])
    repeat_password = PasswordField(_l("Repeat the password"),
                                    validators=[EqualTo("password", message=PASSWORDS_DIFFER)])


class RoleForm(Form):
    role = role_field()


class DeactivateUserForm(Form):
    """Nothing to fill in: the button, and the CSRF token."""


class ReactivateUserForm(Form):
    """Nothing to fill in: the button, and the CSRF token."""


class UnlockUserForm(Form):
    """Nothing to fill in: the button, and the CSRF token."""


class ResetPasswordForm(Form):
    """``person``: the user whose password is reset (set by the view, for the password rules)."""

    person: User | None = None
    new_password = PasswordField(_l("New password (optional)"), description=CHOSEN_PASSWORD_HINT,
                                 validators=[Optional(strip_whitespace=False),
                                             ChosenPassword(lambda form: (form.person.email, form.person.name,
                                                                          form.person.organisation.name))])
    repeat_password = PasswordField(_l("Repeat the new password"),
                                    validators=[EqualTo("new_password", message=PASSWORDS_DIFFER)])
