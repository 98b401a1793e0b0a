"""What every view shares: the organisation-scoped lookup, turning a service's refusal into a response, the
error pages, safe redirects and times as users read them. Blueprint modules import this, never each other."""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import scope
from ..audit import as_utc
from ..errors import DomainError, Forbidden, NotFound
from ..extensions import db
from ..models import Assessment
from ..report.identity import local_time

logger = logging.getLogger(__name__)

ERROR_TEXT = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not allow this action.")),
    404: (_l("Not found"), _l("The page does not exist, or it belongs to another organisation.")),
    405: (_l("Not allowed"), _l("That method is not allowed here.")),
    409: (_l("Conflict"), _l("The assessment changed in the meantime. Reload the page.")),
    413: (_l("Too large"), _l("What you sent is larger than the application accepts.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. Nothing you had saved was lost.")),
    503: (_l("Temporarily unavailable"), _l("The service cannot reach its database right now. Try again in "
                                            "a moment; nothing you had saved was lost.")),
}
RETRY_AFTER_SECONDS = 30  # long enough for a database restart, short enough not to lose the user


def render_error(code: int, detail: str | None = None, back: str | None = None):
    """The error page; ``back``: where the user came from (an assessment), offered as the way back."""
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
    return render_template("errors/error.html", code=code, title=title, text=detail or text, back=back), code


def error_response(exc: DomainError, back: str | None = None):
    """A refusal as a page of its own, with its status (RFC 9110 §15): 403 and 404 as for any page, the
    others with the service's message; 503 says when to try again (Retry-After)."""
    db.session.rollback()
    log_refusal(exc)
    if isinstance(exc, (Forbidden, NotFound)):
        abort(exc.status_code)
    body, code = render_error(exc.status_code, str(exc.message), back)
    return body, code, ({"Retry-After": str(RETRY_AFTER_SECONDS)} if code == 503 else {})


def refuse(exc: DomainError, target: str):
    """A refused form: what the user can correct (invalid input, a stale page) goes back to ``target`` with
    the message; access refusals, failures and unavailable parts get their status page, with the message
    and a way back to ``target``."""
    if exc.status_code in (400, 409):
        db.session.rollback()
        log_refusal(exc)
        flash(str(exc.message), "error")
        return redirect(target)
    return error_response(exc, back=target)


def log_refusal(exc: DomainError) -> None:
    """One line per refused action: who, which status, and the message in English (the log's language)."""
    with force_locale("en"):
        message = str(exc.message)
    user = current_user.email if current_user and current_user.is_authenticated else "anonymous"
    logger.info("refused %s %s for %s: %s", exc.status_code, type(exc).__name__, user, message)


def scoped_assessment(assessment_id: int, *options) -> Assessment:
    """The current user's organisation's assessment, or 404 (``scope.assessment_for``)."""
    try:
        return scope.assessment_for(current_user, assessment_id, *options)
    except NotFound:
        abort(404)


def commit_keeping_loaded() -> None:
    """Commit without expiring what the request has loaded, for a page that goes on to use it: what is in
    memory is what was written (the version counter included), so reading it back was a query per save."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def expected_version(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1  # a missing or forged version is treated as stale, never as current


# Nothing that could end the Location header or be read as another host: a URL in a redirect has no
# whitespace or control characters (RFC 3986 §2, OWASP "HTTP Response Splitting"), and "/\\host" is
# "//host" to browsers (WHATWG URL: a backslash is a slash in special schemes).
_NOT_IN_A_PATH = re.compile(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029]")


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site relative paths: a link back must not become an open redirect."""
    if not target or _NOT_IN_A_PATH.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def formatted_time(moment) -> str | None:
    """A stored time as users read it: Swedish local time with its zone."""
    if moment is None:
        return None
    return local_time(as_utc(moment)).strftime("%Y-%m-%d %H:%M %Z")
