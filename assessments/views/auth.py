"""Log in and out; failed logins are throttled; sessions end on logout, when idle and when too old."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from .. import audit
from ..extensions import db, limiter
from ..forms import LoginForm
from ..models import User
from .common import safe_next
from .throttling import (
    account_bucket,
    on_known_device,
    per_account,
    per_address,
    remember_device,
    submitted_email,
    throttled_response,
)

bp = Blueprint("auth", __name__)
logger = logging.getLogger(__name__)


def login_throttled(request_limit):
    email, address = submitted_email(), get_remote_address()
    logger.warning("login refused, too many failed attempts: account %s from %s", email, address)
    # Once per account and window on the organisation's audit trail, however often the locked page is asked
    # for (a throttled request never reaches the password check, so nothing else bounds them). The marker
    # lives as long as the rest of the window; it is not named after the window's reset time, which limits
    # reads from Redis's TTL, in whole seconds (Redis documentation, TTL), so it wobbles by a second.
    remaining = max(1, int(request_limit.window.reset_time - time.time()) + 1)
    if limiter.counting_storage.incr(f"lockout-noted/{account_bucket()}", remaining) == 1:
        account = User.by_email(email)
        if account is not None:
            audit.record(account.organisation_id, "login_locked", account=email, user_id=account.id,
                         address=address, until=int(request_limit.window.reset_time))
            db.session.commit()
    return throttled_response("auth/login.html", LoginForm, request_limit)


@bp.route("/login", methods=["GET", "POST"])
@per_account(account_bucket, login_throttled)
@per_address(login_throttled)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("assessments.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = User.authenticate(form.email.data, form.password.data)
        if user is not None:
            fresh_session()  # a new session on login: no fixation
            login_user(user)
            session[AUTHENTICATED_AT] = session[SEEN_AT] = int(time.time())
            return remember_device(redirect(safe_next(request.args.get("next"), url_for("assessments.dashboard"))),
                                   user.email)
        g.password_check_failed = True
        email, address = submitted_email(), get_remote_address()
        logger.warning("login failed: account %s from %s", email, address)  # never the password
        account = User.by_email(email)
        if account is not None:  # the organisation's administrator sees it (admin.security_events)
            audit.record(account.organisation_id, "login_failed", account=email, user_id=account.id,
                         address=address, known_device=on_known_device(email))
            db.session.commit()
        # One message for unknown user and wrong password: do not reveal which addresses exist.
        form.password.errors.append(_("The email address or the password is not correct."))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout():
    # The session cookie is signed, not stored: forgetting it here would leave any copy of it valid. A new
    # session token makes every cookie issued to this user so far log nobody in (OWASP Session Management
    # Cheat Sheet, "Manual Session Expiration"), on this and on the user's other devices.
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    fresh_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


# --- Session lifetime (OWASP Session Management Cheat Sheet, "Session Expiration"; NIST SP 800-63B §7.2) ---
# The login time and the time of the last request are kept in the signed session cookie; the limits are
# SESSION_IDLE_MINUTES and SESSION_MAX_HOURS (config.py). A session from before these were recorded has no
# login time and ends at once.

AUTHENTICATED_AT, SEEN_AT = "authenticated_at", "seen_at"
SEEN_RESOLUTION = 60  # seconds: the cookie is rewritten at most once a minute, not on every request


def fresh_session() -> None:
    """An empty session that keeps only the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def expiry_message(now: float) -> str | None:
    """Why the logged-in session of this request has ended, or None while it is still valid."""
    idle_minutes = int(current_app.config["SESSION_IDLE_MINUTES"])
    max_hours = int(current_app.config["SESSION_MAX_HOURS"])
    authenticated_at, seen_at = session.get(AUTHENTICATED_AT), session.get(SEEN_AT)
    if not isinstance(authenticated_at, int) or not isinstance(seen_at, int) \
            or now - authenticated_at >= max_hours * 3600:
        return _("You were logged out because you logged in more than %(hours)s hours ago. Log in again to "
                 "continue.", hours=max_hours)
    if now - seen_at >= idle_minutes * 60:
        return _("You were logged out because you had not used Konsekvens for %(minutes)s minutes. Log in "
                 "again to continue; nothing you had saved was lost.", minutes=idle_minutes)
    return None


@bp.before_app_request
def end_expired_session():
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    now = time.time()
    message = expiry_message(now)
    if message is None:
        if now - session[SEEN_AT] >= SEEN_RESOLUTION:
            session[SEEN_AT] = int(now)
        return None
    logout_user()
    fresh_session()
    flash(message, "info")
    if request.endpoint == "auth.login":
        return None
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))
