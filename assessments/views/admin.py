"""The administrator's pages: the organisation's platform facts, and its failed logins and lockouts."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from .. import clock, policy
from ..catalog import latest_catalog
from ..catalog.facts import load_platform_facts
from ..extensions import db
from ..forms import Form, as_choices, no_control_characters
from ..models import AuditEvent
from ..platform_facts import effective_facts, is_overridden, save_override
from .common import formatted_time

bp = Blueprint("admin", __name__, url_prefix="/admin")


def require_admin() -> None:
    if not policy.can_administer(current_user):
        abort(403)


def not_in_future(form, field):
    if field.data and field.data > clock.today():
        raise ValidationError(_l("The date cannot be in the future."))


class PlatformFactsForm(Form):
    eu_entity = StringField(_l("EU contracting entity"),
                            validators=[DataRequired(), Length(max=200), no_control_characters])
    transfer_tool = SelectField(_l("Transfer tool the platform relies on"), validators=[Optional()])
    transfer_basis = TextAreaField(_l("Transfer basis as reported"),
                                   validators=[Optional(strip_whitespace=False), Length(max=2000),
                                               no_control_characters])
    joint_controller_addendum = RadioField(_l("Joint-controller addendum exists"), validators=[InputRequired()],
                                           choices=as_choices([("yes", _l("Yes")), ("no", _l("No")),
                                                               ("unknown", _l("Unknown"))]))
    addendum_name = StringField(_l("Name of the addendum"),
                                validators=[Optional(strip_whitespace=False), Length(max=200), no_control_characters])
    source = StringField(_l("Source"), validators=[DataRequired(), Length(max=500), no_control_characters],
                         description=_l("Where you checked it, e.g. the platform's terms page and its date."))
    verified_on = DateField(_l("Date verified"), validators=[DataRequired(), not_in_future])


def transfer_tool_choices(lang: str):
    question = latest_catalog().question("transfer_tool")
    return as_choices([("", _("Unknown"))] + question.choices(lang))


@bp.get("/platform-facts")
@login_required
def platform_facts():
    require_admin()
    facts = effective_facts(current_user.organisation_id)
    return render_template("admin/platform_facts.html", facts=facts, today=clock.today(),
                           overridden={p: is_overridden(current_user.organisation_id, p) for p in facts})


@bp.route("/platform-facts/<platform>", methods=["GET", "POST"])
@login_required
def edit_platform_facts(platform: str):
    require_admin()
    if platform not in load_platform_facts():
        abort(404)
    current = effective_facts(current_user.organisation_id)[platform]
    lang = str(get_locale() or "sv")
    form = PlatformFactsForm()
    form.transfer_tool.choices = transfer_tool_choices(lang)
    if not form.is_submitted():
        form.eu_entity.data = current.eu_entity
        form.transfer_tool.data = current.transfer_tool or ""
        form.transfer_basis.data = current.transfer_basis.get(lang)
        addendum = current.joint_controller_addendum
        form.joint_controller_addendum.data = "yes" if addendum is True else "no" if addendum is False else "unknown"
        form.addendum_name.data = current.addendum_name
    elif form.validate():
        allowed = {c.value for c in form.transfer_tool.choices}
        if form.transfer_tool.data not in allowed:
            form.transfer_tool.errors = [_("Choose one of the alternatives.")]
        else:
            values = {"eu_entity": form.eu_entity.data.strip(), "transfer_tool": form.transfer_tool.data or None,
                      "transfer_basis": (form.transfer_basis.data or "").strip(),
                      "joint_controller_addendum": {"yes": True, "no": False}.get(
                          form.joint_controller_addendum.data),
                      "addendum_name": (form.addendum_name.data or "").strip() or None}
            flagged = save_override(current_user.organisation_id, platform, values,
                                    source=form.source.data.strip(), verified_on=form.verified_on.data,
                                    actor=current_user)
            db.session.commit()
            flash(_("The platform facts were saved for your organisation."), "success")
            if flagged:
                flash(ngettext("%(num)s approved assessment relied on the changed facts and is flagged for "
                               "re-assessment.", "%(num)s approved assessments relied on the changed facts and "
                               "are flagged for re-assessment.", len(flagged)), "info")
            return redirect(url_for(".platform_facts"))
    return render_template("admin/platform_fact_form.html", form=form, platform=platform, current=current), \
        400 if form.errors else 200


SECURITY_ACTIONS = ("login_failed", "login_locked")
SECURITY_EVENTS_SHOWN = 200


@bp.get("/security-events")
@login_required
def security_events():
    """Failed logins and lockouts of the organisation's accounts, newest first (views/auth.py records them)."""
    require_admin()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.organisation_id == current_user.organisation_id,
                                 AuditEvent.action.in_(SECURITY_ACTIONS))
        .order_by(AuditEvent.seq.desc()).limit(SECURITY_EVENTS_SHOWN)).all()
    return render_template("admin/security_events.html", events=events, shown=SECURITY_EVENTS_SHOWN,
                           formatted=formatted_time,
                           until=lambda event: formatted_time(datetime.fromtimestamp(int(event.details["until"]),
                                                                                     UTC)))
