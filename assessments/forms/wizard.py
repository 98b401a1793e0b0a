"""The wizard's forms: a new assessment, and each step's form built from its catalogue section, with the
controls written directly where WTForms' widgets would cost most of a step's time."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import DateField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.csrf.core import CSRFTokenField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import DateInput, TextArea, TextInput
from wtforms.widgets.core import clean_key

from ..answers import Slot
from ..catalog import platform_label
from ..limits import ASSESSMENT_TITLE_MAX, LONG_ANSWER_MAX, OTHER_PLATFORM_NAME_MAX, SHORT_ANSWER_MAX
from .common import Form, MultiCheckboxField, as_choices, known_choices, no_control_characters


class NewAssessmentForm(Form):
    title = StringField(_l("Title"),
                        validators=[DataRequired(), Length(max=ASSESSMENT_TITLE_MAX), no_control_characters],
                        description=_l("For example: Our presence on Facebook and Instagram 2026"))
    platforms = MultiCheckboxField(_l("Platforms"), validators=[DataRequired(_l("Choose at least one platform."))])

    def validate_other_platform_name(self, field):
        if "other" in (self.platforms.data or []) and not (field.data or "").strip():
            raise ValidationError(_l("Name the other platform."))
    other_platform_name = StringField(_l("Name of the other platform"),
                                      validators=[Length(max=OTHER_PLATFORM_NAME_MAX), no_control_characters],
                                      description=_l("Only if you chose \u201cOther platform\u201d."))
    language = RadioField(_l("Language of the assessment and its report"),
                          choices=as_choices([("sv", "Svenska"), ("en", "English")]), default="sv",
                          validators=[InputRequired()])


# Built step form classes: building one (34 fields for a two-platform step) and WTForms' first
# instantiation of it (its field list and meta class) were a tenth of a wizard step's time (docs/benchmarks.md).
# A class is never changed after it is built (requests only set errors and data on their instances), so
# requests share it. Keyed by the identity of the questions (the catalogue is cached and immutable; the
# questions are kept with the class, so an id cannot be reused while its entry lives), the language and
# the platform names (an "other" platform is named by the assessment).
_STEP_FORM_CLASSES: dict[tuple, tuple[tuple, type[Form]]] = {}
_STEP_FORM_CLASSES_MAX = 512


def step_form_class(slots: list[Slot], lang: str, platform_name=platform_label) -> type[Form]:
    """A form class for one wizard step: one field per slot, named ``key`` or ``key__platform``."""
    names = {p: platform_name(p, lang) for p in {slot.platform for slot in slots} if p}
    key = (lang, tuple((id(slot.question), slot.platform) for slot in slots), tuple(sorted(names.items())))
    cached = _STEP_FORM_CLASSES.get(key)
    if cached is not None and all(q is slot.question for q, slot in zip(cached[0], slots, strict=True)):
        return cached[1]
    form_class = _build_step_form_class(slots, lang, names)
    if len(_STEP_FORM_CLASSES) >= _STEP_FORM_CLASSES_MAX:
        _STEP_FORM_CLASSES.clear()
    _STEP_FORM_CLASSES[key] = (tuple(slot.question for slot in slots), form_class)
    return form_class


_PROTOTYPE = "_konsekvens_prototype"


class _StepFormMeta:
    """Binds a step form's fields by copying a field bound once: WTForms' ``Field.__init__`` (label, flags
    from the validators, widget …) was most of building a step form, and it gives the same field for the
    same unbound field, name, prefix and translations every time. What a request changes on a field (data,
    raw data, errors, object data) is set on the copy by ``process`` and ``validate``; nothing a copy shares
    with the prototype (label, flags, validators, choices) is changed after binding (docs/benchmarks.md)."""

    def bind_field(self, form, unbound_field, options):
        if unbound_field.field_class is CSRFTokenField:  # bound to this form's own CSRF implementation
            return super().bind_field(form, unbound_field, options)
        # The interface's locale too: a field without a label of its own (``version``) gets one from WTForms'
        # translations when it is bound.
        locale = self.__dict__.get("_locale")
        if locale is None:
            locale = self._locale = str(get_locale()) if has_request_context() else ""
        key = (options["name"], options["prefix"], options["translations"], locale)
        kept = getattr(unbound_field, _PROTOTYPE, None)
        if kept is None or kept[0] != key:
            # Bound for this purpose only and never used by a form, so no request's data or errors are in it.
            kept = (key, super().bind_field(form, unbound_field, options))
            setattr(unbound_field, _PROTOTYPE, kept)
        field = object.__new__(type(kept[1]))  # Field.__new__ without _form would make an UnboundField
        field.__dict__.update(kept[1].__dict__)
        field._form, field.meta = form, form.meta
        return field


def _build_step_form_class(slots: list[Slot], lang: str, names: dict[str, str]) -> type[Form]:
    class StepForm(Form):
        Meta = _StepFormMeta  # type: ignore[assignment]  # WTForms combines the Meta classes of the MRO
        version = HiddenField()

    for slot in slots:
        q = slot.question
        label = q.text.get(lang)
        if slot.platform:
            label = f"{label} ({names[slot.platform]})"
        kwargs: dict[str, Any] = {"label": label}
        if q.type == "text":
            field = StringField(validators=[Optional(strip_whitespace=False), Length(max=SHORT_ANSWER_MAX),
                                            no_control_characters], **kwargs)
        elif q.type == "long_text":
            field = TextAreaField(validators=[Optional(strip_whitespace=False), Length(max=LONG_ANSWER_MAX),
                                              no_control_characters],
                                  **kwargs)
        elif q.type in ("single_choice", "yes_no"):
            # validate_choice=False: our own validator gives the message in the user's language. Only what
            # is empty skips it: a value of white space alone is no option either, and is refused.
            field = RadioField(choices=as_choices(q.choices(lang)), validate_choice=False,
                               validators=[Optional(strip_whitespace=False), known_choices], **kwargs)
        elif q.type == "multiple_choice":
            field = MultiCheckboxField(choices=as_choices(q.choices(lang)), validate_choice=False,
                                       validators=[Optional(strip_whitespace=False), known_choices], **kwargs)
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
        # Once each, in the order sent: a repeated value (a tampered or double-submitted form) was stored
        # twice, and the JSON import then refused the export (found by tests/test_input_properties.py).
        return list(dict.fromkeys(item for item in data if item))
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


def plain_choices(field) -> list[tuple[str, Any, Any, bool]] | None:
    """The options of a radio or checkbox group as (id, value, label, checked), for the field macro to
    write directly; None when WTForms must render them (render_kw, or flags the option widget turns into
    HTML attributes such as ``required``). The markup is the one WTForms writes (attributes in sorted
    order) at a fraction of the cost: each option through its widget was a third of a wizard step's time."""
    widget = field.option_widget
    if (field.render_kw or widget.input_type not in ("radio", "checkbox")
            or any(getattr(field.flags, attr, None) for attr in widget.validation_attrs)):
        return None
    options = []
    for index, choice in enumerate(field.iter_choices()):
        if choice.render_kw:
            return None
        options.append((f"{field.id}-{index}", choice.value, choice.label, bool(choice.selected)))
    return options


def plain_control(field, attrs: dict[str, Any]) -> Markup | None:
    """A text, long-text or date control written directly, the markup its WTForms widget writes (same
    attributes in the same sorted order, the validators' flags such as ``maxlength``, the same escaping);
    None when the widget must do it (render_kw, a datalist, a date's min/max, any other widget). Each
    attribute through WTForms' ``html_params`` (a ``Markup.format`` per attribute) was a sixth of a wizard
    step's time (docs/benchmarks.md)."""
    widget = field.widget
    kind = type(widget)
    if (kind not in (TextInput, TextArea, DateInput) or field.render_kw
            or getattr(field, "_datalist", None) is not None
            or (kind is DateInput and (field.flags.min is not None or field.flags.max is not None))):
        return None
    params = {clean_key(key): value for key, value in attrs.items()}
    params.setdefault("id", field.id)
    if kind is not TextArea:
        params.setdefault("type", widget.input_type)
        if "value" not in params:
            params["value"] = field._value()
    for key, value in vars(field.flags).items():
        if key in widget.validation_attrs and key not in params:
            params[key] = value() if callable(value) and kind is not TextArea else value
    params["name"] = field.name
    parts = []
    for key, value in sorted(params.items()):
        key = clean_key(key)
        if value is True:
            parts.append(key)
        elif value is not False:
            text = escape(value)
            parts.append(f'{escape(key)}="{text.replace(chr(34), "&quot;") if chr(34) in text else text}"')
    if kind is TextArea:
        return Markup(f"<textarea {' '.join(parts)}>\r\n{escape(field._value())}</textarea>")
    return Markup(f"<input {' '.join(parts)}>")
