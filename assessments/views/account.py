"""The user's own account: changing the password (which ends every other session of the user)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from .. import audit
from ..extensions import db
from ..forms import Form
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
            user.set_password(form.new_password.data)  # a new session token: every other session ends
            audit.record(user.organisation_id, "password_changed", actor=user, email=user.email)
            db.session.commit()
            login_user(user)  # this session carries the new token and stays logged in
            flash(_("Your password has been changed. You have been logged out everywhere else."), "success")
            return redirect(url_for("assessments.dashboard"))
    return render_template("account/password.html", form=form), 400 if form.errors else 200
