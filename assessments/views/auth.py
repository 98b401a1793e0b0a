"""Log in and out; failed logins are throttled; sessions end on logout, when idle and when too old."""
from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from datetime import timedelta

from flask import (Blueprint, current_app, flash, g, make_response, redirect, render_template, request, session,
                   url_for)
from flask_babel import format_timedelta, gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer

from .. import audit
from ..extensions import db, limiter
from ..forms import LoginForm
from ..models import User
from .general import safe_next

bp = Blueprint("auth", __name__)
logger = logging.getLogger(__name__)


# --- Throttling (NIST SP 800-63B §5.2.2; the limits and why are in config.py) ---------------------------
# Only failed password checks count (deduct_when); a throttled request is answered before the view runs, so
# the password is not checked at all. Counting per submitted address stops many passwords being tried on one
# account from many machines; counting per client address stops one machine trying many accounts.

def password_check_failed(_response) -> bool:
    return bool(g.get("password_check_failed"))


def submitted_email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254] or "-"


def throttle_message(request_limit) -> tuple[str, int]:
    """What to tell the user, and the seconds until the window ends."""
    wait = max(1, math.ceil(request_limit.window.reset_time - time.time()))
    minutes = timedelta(minutes=math.ceil(wait / 60))  # "in 2 minutes" rather than a rounded-down 1
    message = _("Too many failed attempts. For your security you can try again %(when)s.",
                when=format_timedelta(minutes, granularity="minute", add_direction=True))
    return message, wait


def throttled_response(template: str, form_factory, request_limit, **context):
    """The page again, with how long to wait, as 429 with Retry-After (RFC 6585 §4)."""
    message, wait = throttle_message(request_limit)
    response = make_response(render_template(template, form=form_factory(), throttled=message, **context), 429)
    response.headers["Retry-After"] = str(wait)
    return response


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


# --- Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies") ------------------------
# A browser in which an account has logged in before keeps a signed cookie naming that account. Its failed
# attempts count in a bucket of their own (account + device), so a stranger who keeps the account's shared
# bucket full (5 wrong passwords every 15 minutes) locks out unknown devices only, never the real user's
# browser; and a stolen device cookie still gets only 5 guesses per 15 minutes.

DEVICE_COOKIE = "konsekvens_device"
DEVICE_DAYS = 180
DEVICE_ACCOUNTS = 10  # the accounts remembered per browser


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="konsekvens.device-cookie")


def account_tag(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:16]


def device() -> tuple[str | None, list[str]]:
    """This browser's device id and the accounts that have logged in here, if it has a valid cookie."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None, []
    try:
        nonce, accounts = _device_serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except (BadData, TypeError, ValueError):
        return None, []
    return (str(nonce), [str(a) for a in accounts]) if isinstance(accounts, list) else (None, [])


def account_bucket(email: str | None = None) -> str:
    """What failed password checks of an account (default: the one the login form names) are counted
    against: the account, or the account on this known device."""
    email = submitted_email() if email is None else email.strip().lower()
    nonce, accounts = device()
    return f"{email}|device:{nonce}" if nonce and account_tag(email) in accounts else email


def remember_device(response, email: str):
    nonce, accounts = device()
    tag = account_tag(email)
    accounts = ([tag] + [a for a in accounts if a != tag])[:DEVICE_ACCOUNTS]
    value = _device_serializer().dumps([nonce or secrets.token_urlsafe(16), accounts])
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def per_account(key_func, on_breach):
    """Failed password checks per account, shared by every page that checks a password (login, change of
    password): a stolen session gets no more guesses at the password than the login page gives."""
    return limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_EMAIL"],
                                scope="failed-password-per-account", key_func=key_func, methods=["POST"],
                                deduct_when=password_check_failed, on_breach=on_breach)


def per_address(on_breach):
    return limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], key_func=get_remote_address,
                         methods=["POST"], deduct_when=password_check_failed, on_breach=on_breach)


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
                         address=address, known_device=account_bucket() != email)
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
