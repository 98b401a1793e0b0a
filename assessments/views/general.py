"""Pages that belong to no assessment: language switch, error pages."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from ..extensions import db, login_manager

bp = Blueprint("general", __name__)


# Nothing that could end the Location header or be read as another host: a URL in a redirect has no
# whitespace or control characters (RFC 3986 §2, OWASP "HTTP Response Splitting"), and "/\\host" is
# "//host" to browsers (WHATWG URL: a backslash is a slash in special schemes).
_NOT_IN_A_PATH = re.compile(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029]")


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site relative paths: a language link must not become an open redirect."""
    if not target or _NOT_IN_A_PATH.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.get("/language/<code>")
def set_language(code: str):
    if code in ("sv", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("assessments.dashboard")))


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement (tillgänglighetsredogörelse, lag 2018:1937): public, no login.
    ACCESSIBILITY_CONTACT (optional config) is where users report problems; until the organisation sets
    it, the page shows a placeholder saying so."""
    return render_template("general/accessibility.html",
                           contact=current_app.config.get("ACCESSIBILITY_CONTACT"))


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


def render_error(code: int, detail: str | None = None):
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


def register_errors(app: Flask) -> None:
    for code in (400, 403, 404, 405, 409, 413, 500):
        app.register_error_handler(code, lambda exc, code=code: render_error(code))

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, str(_l("The form had expired or was sent from elsewhere. Reload the page "
                                        "and try again; nothing was saved.")))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(exc):
        # The database is down, unreachable or its file is gone (RFC 9110 § 15.6.4: 503 with Retry-After).
        # The page must not need the database itself: the user loader and the locale selector would ask it
        # again for the logged-in user, so this one response is rendered as for an anonymous visitor.
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.invalidate()
        g._login_user = login_manager.anonymous_user()
        app.logger.error("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
        body, code = render_error(503)
        return body, code, {"Retry-After": str(RETRY_AFTER_SECONDS)}
