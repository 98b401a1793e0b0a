"""Pages that belong to no assessment: language switch, error pages."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from ..errors import DomainError
from ..extensions import db, login_manager
from ..i18n import LANGUAGES
from .common import RETRY_AFTER_SECONDS, error_response, render_error, safe_next

bp = Blueprint("general", __name__)


@bp.get("/language/<code>")
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("assessments.dashboard")))


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement (tillgänglighetsredogörelse, lag 2018:1937): public, no login.
    ACCESSIBILITY_CONTACT (optional config) is where users report problems; until the organisation sets
    it, the page shows a placeholder saying so."""
    return render_template("general/accessibility.html",
                           contact=current_app.config.get("ACCESSIBILITY_CONTACT"))


def register_errors(app: Flask) -> None:
    for code in (400, 403, 404, 405, 409, 413, 500):
        app.register_error_handler(code, lambda exc, code=code: render_error(code))
    # A service's refusal that no view turned into a form message: its own status page (views.common).
    app.register_error_handler(DomainError, error_response)

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
