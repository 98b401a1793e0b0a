"""What every form shares: a base class, no control characters in any text, checkbox groups, choices that
must be known."""
from __future__ import annotations

import functools
from datetime import date

from babel import support
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..catalog import PLATFORMS, platform_label
from ..plaintext import CONTROL_CHARACTERS_MESSAGE, has_control_characters


@functools.cache
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class WTFormsTranslations:
    """WTForms' own messages ("This field is required." …) in the user's language, as Flask-WTF gives them,
    but read from WTForms' message catalogue once per locale: Flask-WTF reads and parses the file again in
    every request that builds a form (docs/benchmarks.md)."""

    def _catalogue(self) -> support.NullTranslations | None:
        return _wtforms_catalogue(str(get_locale())) if has_request_context() else None

    def gettext(self, string: str) -> str:
        catalogue = self._catalogue()
        return string if catalogue is None else catalogue.ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        catalogue = self._catalogue()
        if catalogue is None:
            return singular if n == 1 else plural
        return catalogue.ungettext(singular, plural, n)


TRANSLATIONS = WTFormsTranslations()


class Form(FlaskForm):
    """Every form of the application: Flask-WTF's (CSRF, the request's data), with WTForms' messages from
    ``WTFormsTranslations``."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return TRANSLATIONS


# Control characters are refused in every text a user writes (why: plaintext.py).


def no_control_characters(form, field):
    # Use with Optional(strip_whitespace=False): a plain Optional() takes whitespace-only input for empty,
    # clears the errors and stops the chain, so a lone form feed or vertical tab was dropped silently.
    data = field.data if isinstance(field.data, list) else [field.data]
    if any(has_control_characters(item) for item in data):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def as_choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def platform_choices(lang: str) -> list[SelectChoice]:
    return as_choices((key, platform_label(key, lang)) for key in PLATFORMS)


def known_choices(form, field):
    """Unknown choice values are rejected, never stored (a tampered form must not smuggle data in)."""
    allowed = {choice.value for choice in field.choices}
    data = field.data if isinstance(field.data, list) else [field.data]
    if any(item not in allowed for item in data if item):
        raise ValidationError(_l("Choose one of the alternatives."))




class IsoDateField(StringField):
    """A date written YYYY-MM-DD, as a date input sends it; anything else is refused in the user's language
    (WTForms' own DateField answers in English). ``date`` is the parsed value, None when empty."""

    date: date | None = None

    def pre_validate(self, form) -> None:
        self.date = None
        if self.data:
            try:
                self.date = date.fromisoformat(self.data.strip())
            except ValueError:
                raise ValidationError(_l("Write the date as YYYY-MM-DD.")) from None


def first_error(form) -> str:
    """The first problem a refused form names (the messages are the services' own words)."""
    for field in form:
        if field.errors:
            error = field.errors[0]
            return str(error[0] if isinstance(error, (list, tuple)) else error)
    return str(_l("Choose one of the alternatives."))
