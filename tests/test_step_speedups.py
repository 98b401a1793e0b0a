"""The wizard step's speed-ups change nothing but the time: the answers a save hands on are the
ones stored, a shared step form class is the one that would be built, the directly written controls are
WTForms' markup, and the template ``_()`` follows ``force_locale``."""
from __future__ import annotations

from datetime import date

import pytest
from flask import render_template_string
from flask_babel import force_locale
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from assessments.answers import catalog_of, load_answers, slots
from assessments.extensions import db
from assessments.forms import plain_control, step_form_class
from assessments.wizard import save_step
from tests.factories import answered_assessment, reload, user


def test_save_step_hands_on_exactly_the_stored_answers(app, demo_orgs):
    with app.app_context(), app.test_request_context():
        assessment = answered_assessment()
        actor = user("kommunikator@exempelkommun.example")
        section = catalog_of(assessment).section("platform")
        step = list(slots(section, assessment.platforms))
        before = load_answers(assessment)
        text = next(s for s in step if s.question.type == "long_text" and before.get(s.key))
        date_slot = next(s for s in step if s.question.type == "date")
        unanswered = next(s for s in step if s.key not in before and s.question.type in ("text", "long_text"))
        values = {s.key: before.get(s.key) for s in step}
        values[text.key] = "Ändrad text med \"citat\" & <tecken>"  # changed
        values[date_slot.key] = None  # cleared
        values[unanswered.key] = "Nytt svar"  # a new row
        blank = next(s for s in step if s.key not in before and s.key != unanswered.key)
        values[blank.key] = ""  # unanswered stays unanswered: no row, no audit event
        handed_on = dict(before)
        changed = save_step(assessment, section, values, actor, assessment.version, answers=handed_on)
        db.session.commit()
        assert changed == 3
        assert handed_on == load_answers(reload(assessment.id))
        assert handed_on[text.key] == values[text.key] and handed_on[date_slot.key] is None
        assert blank.key not in handed_on


def test_a_shared_step_form_class_is_the_one_that_would_be_built(app, demo_orgs):
    with app.app_context(), app.test_request_context():
        assessment = answered_assessment()
        section = catalog_of(assessment).section("platform")
        step = list(slots(section, assessment.platforms))
        first = step_form_class(step, "sv", assessment.platform_name)
        assert step_form_class(list(step), "sv", assessment.platform_name) is first
        english = step_form_class(step, "en", assessment.platform_name)
        assert english is not first
        assert str(english().version.label.text) == "Version"
        field = next(s for s in step if s.platform == "facebook")
        assert english()[field.field_name].label.text.endswith("(Facebook)")
        renamed = step_form_class(step, "sv", lambda platform, lang: f"<{platform}>")
        assert renamed()[field.field_name].label.text.endswith("(<facebook>)")
        # A form instance's data and errors stay its own.
        one, two = first(data={field.field_name: "x"}), first()
        one[field.field_name].errors = ["fel"]
        assert two[field.field_name].data != "x" and not two[field.field_name].errors


class Controls(FlaskForm):
    text = StringField(validators=[Optional(), Length(max=500)])
    long = TextAreaField(validators=[Optional(), Length(max=20_000)])
    when = DateField(validators=[Optional()])
    short = StringField(validators=[DataRequired(), Length(min=2, max=5)])
    email = EmailField()


@pytest.mark.parametrize("value", ['x"y<z>&\'', "", "  å \r\n två rader", "<script>alert(1)</script>"])
def test_directly_written_controls_are_wtforms_markup(app, value):
    attribute_sets = ({}, {"aria-describedby": "a-hint a-error", "aria-invalid": "true", "dir": "auto"},
                      {"data_x": 'q"', "dir": "auto"})
    with app.test_request_context():
        for form in (Controls(meta={"csrf": False}, data={"text": value, "long": value, "short": value,
                                                          "when": date(2026, 2, 3)}),
                     Controls(meta={"csrf": False}, formdata=MultiDict(
                         {"text": value, "long": value, "short": value, "when": "inte ett datum" + value}))):
            for name in ("text", "long", "when", "short"):
                for attrs in attribute_sets:
                    written = plain_control(form[name], attrs)
                    assert written == form[name](**attrs)
            assert plain_control(form.email, {}) is None  # other widgets stay with WTForms


def test_template_gettext_follows_force_locale(app):
    template = ("{{ _('Legal reference') }}|{{ _('%(name)s sent the assessment back on %(date)s:', date=1, "
                "name='<b>') }}")
    with app.test_request_context():
        swedish = render_template_string(template)
        with force_locale("en"):
            english = render_template_string(template)
        again = render_template_string(template)
    assert swedish == again == "Rättslig hänvisning|&lt;b&gt; skickade tillbaka bedömningen den 1:"
    assert english == "Legal reference|&lt;b&gt; sent the assessment back on 1:"


def test_an_answer_that_no_condition_or_screening_reads_changes_no_question_asked():
    """After a save the step asks again which questions apply only when an answer in
    ``visibility_inputs`` changed: any other answer, changed to anything, must leave the screening outcome
    and every step's questions as they were (every demo, every catalogue version)."""
    from assessments.answers import screening, visibility_inputs
    from assessments.catalog import get_catalog
    from assessments.demo import DEMO_DIR, load_demo_assessment
    from assessments.models import Assessment
    from assessments.wizard import asked_in_step

    checked = 0
    for path in sorted(DEMO_DIR.glob("*.yaml")):
        spec = load_demo_assessment(path.stem)
        catalog = get_catalog(spec["catalogue"]["id"], spec["catalogue"]["version"])
        assessment = Assessment(catalog_id=catalog.id, catalog_version=catalog.version,
                                platforms=list(spec["platforms"]), language=spec["language"])
        answers = {}
        for key, value in spec["answers"].items():
            for platform, item in (value.items() if isinstance(value, dict) else [("", value)]):
                answers[(key, platform)] = item
        inputs = visibility_inputs(catalog)
        assert inputs

        def picture(answers, assessment=assessment, catalog=catalog):
            outcome = screening(assessment, answers)
            return outcome, [[s.key for s in asked_in_step(assessment, section, answers, outcome.level)]
                             for section in catalog.sections]

        before = picture(answers)
        for question in catalog.questions():
            if question.key in inputs:
                continue
            for platform in assessment.platforms if question.per_platform else [""]:
                for value in (None, "", "ett svar", "yes", "no", ["x"]):
                    changed = dict(answers)
                    if value is None:
                        changed.pop((question.key, platform), None)
                    else:
                        changed[(question.key, platform)] = value
                    assert picture(changed) == before, (path.stem, question.key, platform, value)
                    checked += 1
    assert checked > 500


def test_a_step_form_field_copied_from_its_prototype_is_the_field_wtforms_binds(app, demo_orgs):
    """The step form binds its fields by copying one bound before (forms.wizard._StepFormMeta): each copy
    has exactly the attributes WTForms' own binding gives, belongs to its own form, and a request's data
    and errors on one form never reach another."""
    from wtforms.meta import DefaultMeta

    with app.app_context(), app.test_request_context():
        assessment = answered_assessment()
        section = catalog_of(assessment).section("platform")
        step = list(slots(section, assessment.platforms))
        form_class = step_form_class(step, "sv", assessment.platform_name)
        text = next(s for s in step if s.question.type in ("text", "long_text")).field_name
        first = form_class(formdata=MultiDict({text: "fel\x01"}))
        assert not first.validate() and first[text].errors
        second = form_class(formdata=MultiDict({text: "annat <svar>"}))
        for name, field in second._fields.items():
            unbound = getattr(form_class, name, None)
            if unbound is None:
                continue  # the CSRF token (bound by WTForms itself)
            fresh = DefaultMeta.bind_field(second.meta, second, unbound, {
                "name": name, "prefix": "", "translations": second.meta.get_translations(second)})
            fresh.process(MultiDict({text: "annat <svar>"}))
            if name == "version":
                fresh.process(MultiDict())
            assert field._form is second and field.meta is second.meta
            assert first[name] is not field
            mine = {k: v for k, v in vars(field).items() if k not in ("_form", "meta")}
            theirs = {k: v for k, v in vars(fresh).items() if k not in ("_form", "meta")}
            assert mine.keys() == theirs.keys(), name
            for key in mine:
                if key == "label":
                    assert (mine[key].field_id, mine[key].text) == (theirs[key].field_id, theirs[key].text), name
                elif key == "flags":
                    assert vars(mine[key]) == vars(theirs[key]), name
                else:
                    assert mine[key] == theirs[key], (name, key)
        second.validate()
        second[text].errors = ["ett fel"]
        assert first[text].errors != ["ett fel"] and not form_class(formdata=None)[text].errors
        assert first[text].data == "fel\x01"
        assert second[text].data == "annat <svar>"


def test_wtforms_messages_follow_the_interface_language_request_by_request(app):
    """WTForms' own messages come from its catalogue, read once per locale (forms.common.Form): each
    request still gets the language it asks for, in any order, and the same text as Flask-WTF gives."""
    from flask_wtf.i18n import translations as flask_wtf_translations

    from assessments.forms import Form

    class Required(Form):
        name = StringField("Namn", validators=[DataRequired()])

    for language, expected in (("sv", "Det här fältet är obligatoriskt."), ("en", "This field is required."),
                               ("sv", "Det här fältet är obligatoriskt.")):
        with app.test_request_context(method="POST", data={}):
            with force_locale(language):
                form = Required()
                assert not form.validate()
                assert form.name.errors == [expected]
                assert flask_wtf_translations.gettext("This field is required.") == expected
