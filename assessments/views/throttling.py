"""Counting failed password checks, shared by every page that checks a password (login, change of password,
approval): the limits, the per-account buckets with device cookies, and the 429 page (RFC 6585 §4)."""
from __future__ import annotations

import hashlib
import math
import secrets
import time
from datetime import timedelta

from flask import current_app, g, make_response, render_template, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select

from ..extensions import db, limiter
from ..models import User

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


# --- Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies") ------------------------
# A browser in which an account has logged in before keeps a signed cookie naming that account. Its failed
# attempts count in a bucket of their own (account + device), so a stranger who keeps the account's shared
# bucket full (5 wrong passwords every 15 minutes) locks out unknown devices only, never the real user's
# browser; and a stolen device cookie still gets only 5 guesses per 15 minutes.

DEVICE_COOKIE = "konsekvens_device"
DEVICE_DAYS = 180
DEVICE_ACCOUNTS = 10  # the accounts remembered per browser


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="konsekvens.device-cookie")


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


def unlocks(email: str) -> int:
    """How often an administrator has unlocked this account (``User.unlock_count``; 0 for an address without
    an account). Kept in the database, not in the throttle's storage, so that one unlock reaches every
    process and node, whatever storage counts (users.py)."""
    if email == "-":
        return 0
    return db.session.scalar(select(User.unlock_count).where(func.lower(User.email) == email)) or 0


def on_known_device(email: str) -> bool:
    nonce, accounts = device()
    return bool(nonce) and account_tag(email) in accounts


def account_bucket(email: str | None = None) -> str:
    """What failed password checks of an account (default: the one the login form names) are counted
    against: the account, or the account on this known device; after an unlock, buckets of their own, so
    the failures counted before no longer count."""
    email = submitted_email() if email is None else email.strip().lower()
    unlocked = unlocks(email)
    account = f"{email}#unlock:{unlocked}" if unlocked else email
    nonce, accounts = device()
    return f"{account}|device:{nonce}" if nonce and account_tag(email) in accounts else account


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


def account_key() -> str:
    """The logged-in user's bucket: the same as the login page's for that account (``account_bucket``)."""
    return account_bucket(current_user.email) if current_user.is_authenticated else "-"
