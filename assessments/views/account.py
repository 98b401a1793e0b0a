"""The user's own account: e-mail notifications, and changing the password (which ends every other session
of the user), before anything else when an administrator chose the current one (``User.must_change_password``)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from .. import notifications, users
from ..extensions import db
from ..forms import Form, NotificationSettingsForm
from ..passwords import POLICY_HINT, PasswordPolicy
from .throttling import account_key, per_account, throttled_response

bp = Blueprint("account", __name__, url_prefix="/account")


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), description=POLICY_HINT,
                                 validators=[DataRequired(), PasswordPolicy(lambda: current_user)])
    repeat_password = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords are not the same."))])


@bp.route("", methods=["GET", "POST"])
@login_required
def settings():
    form = NotificationSettingsForm()
    if not form.is_submitted():
        form.email_notifications.data = "yes" if current_user.email_notifications else "no"
    elif form.validate():
        notifications.set_email_notifications(current_user._get_current_object(),
                                              form.email_notifications.data == "yes")
        db.session.commit()
        flash(_("Your choice is saved."), "success")
        return redirect(url_for(".settings"))
    return render_template("account/settings.html", form=form,
                           mail_configured=bool(current_app.config.get("SMTP_URL"))), 400 if form.errors else 200


def password_throttled(request_limit):
    return throttled_response("account/password.html", ChangePasswordForm, request_limit)


@bp.route("/password", methods=["GET", "POST"])
@per_account(account_key, password_throttled)
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.is_submitted():
        valid = form.validate()
        # Checked even when the new password is refused, so all problems show at once; a wrong one counts
        # towards the account's throttle like a failed login.
        if form.current_password.data and not current_user.check_password(form.current_password.data):
            g.password_check_failed = True
            form.current_password.errors = [*form.current_password.errors,
                                            _("The current password is not correct.")]
            valid = False
        if valid:
            user = current_user._get_current_object()
            try:
                users.change_own_password(user, form.new_password.data)  # a new token: other sessions end
            except users.FieldInvalid as exc:
                db.session.rollback()
                form.new_password.errors = [*form.new_password.errors, str(exc.message)]
            else:
                db.session.commit()
                login_user(user)  # this session carries the new token and stays logged in
                flash(_("Your password has been changed. You have been logged out everywhere else."), "success")
                return redirect(url_for("assessments.dashboard"))
    return render_template("account/password.html", form=form), 400 if form.errors else 200


# Where a user whose password an administrator chose may go before changing it: nowhere else.
BEFORE_PASSWORD_CHANGE = frozenset({"static", "account.change_password", "auth.logout", "auth.login",
                                    "general.set_language", "general.accessibility"})


@bp.before_app_request
def require_own_password():
    """The administrator knows a password they chose (users.py): the user replaces it before going on."""
    if "_user_id" not in session or request.endpoint in BEFORE_PASSWORD_CHANGE:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("account.change_password"))
    return None
