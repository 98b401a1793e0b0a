"""Konsekvens: consequence analysis (DPIA) of an organisation's social-media presence."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_login import current_user

from . import i18n
from .config import configure
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .i18n import LANGUAGES
from .logs import configure_logging

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None, *, instance_path: str | Path | None = None) -> Flask:
    """The application. ``instance_path`` (default ``instance/`` of the checkout) is where ``config.py``,
    the generated secret key and the default database and archive live; tests give a temporary one."""
    # Everything the application creates — the SQLite database and its -wal/-shm (SQLite gives them the
    # database file's mode), the secret key, seals, backups — is for the service user only (CIS Benchmarks:
    # restrictive default umask). The archive sets its own group-readable modes (archive.FILE_MODE).
    os.umask(0o077)
    app = Flask(
        __name__,
        instance_path=str(instance_path or PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    configure(app, test_config)
    configure_logging(app)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    register_security_headers(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind a reverse proxy (TLS ends there): take the client's address, scheme and host from the
    X-Forwarded-* headers of exactly the configured number of proxies, so the login throttle counts per
    client rather than per proxy, and HSTS and secure redirects see HTTPS."""
    count = int(app.config.get("TRUSTED_PROXIES") or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]


# Everything the pages use is served by the app itself: no inline script or style, no outside resources.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
])


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            # Pages and downloads hold an organisation's data: no browser or proxy keeps a copy, so the Back
            # button after logout or a shared computer shows nothing (OWASP Session Management Cheat Sheet,
            # "Web Content Caching"). The public pages are cheap to serve again.
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response



def select_locale() -> str:
    """Swedish first: the user's explicit choice, then their profile, else Swedish."""
    if not has_request_context():
        return "sv"
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    return "sv"


def register_extensions(app: Flask) -> None:
    from .database import configure_sqlite

    configure_sqlite()  # before the first connection: WAL and durable commits on SQLite
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    i18n.install(app)  # the same _() in templates, without Flask-Babel's per-call lookups
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Log in to continue.")

    from .evidence import model as _evidence_model  # noqa: F401  (its table is in the same metadata)
    from .models import User
    from .reassessment import model as _reassessment_model  # noqa: F401  (likewise)

    @login_manager.user_loader
    def load_user(session_id: str):
        # "<id>:<session token>": a cookie issued before a password change or deactivation no longer
        # matches the user's token, so it logs nobody in (models.User.get_id).
        return User.from_session_id(session_id)

    limiter.init_app(app)
    from . import mail

    mail.install(app)  # queued e-mail is sent after the response (docs/notifications.md)


def register_blueprints(app: Flask) -> None:
    from .views import (
        account,
        admin,
        admin_users,
        assessments,
        auth,
        evidence,
        exports,
        general,
        portfolio,
        review,
        risks,
        verification,
    )

    app.register_blueprint(general.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_users.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(assessments.bp)
    app.register_blueprint(risks.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(verification.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(evidence.bp)
    app.register_blueprint(portfolio.bp)


def register_errorhandlers(app: Flask) -> None:
    from .views.general import register_errors

    register_errors(app)


def register_commands(app: Flask) -> None:
    from . import cli

    cli.register(app)


def register_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from .catalog import platform_label
    from .forms import plain_choices, plain_control
    from .risk.matrix import HIGH_POLICY, LEVEL_LABELS, LIKELIHOOD_MEANING, SCALE_LABELS, SEVERITY_MEANING, level
    from .roles import role_label, status_label

    app.add_template_global(plain_choices)
    app.add_template_global(plain_control)
    from .answers import text_direction

    app.add_template_filter(text_direction)  # dir= of user-written text, also in the PDF (WeasyPrint)
    from .evidence.listing import file_size

    app.add_template_filter(file_size)
    # The heat maps colour each cell by the one policy of what is high (risk.matrix.HIGH_CELLS).
    app.add_template_global(level, "risk_level")
    from .approval_authority import approval_authority

    app.add_template_global(approval_authority)  # the approval page and the PDF name who decides

    from flask_login import current_user

    from .policy import can_administer, can_manage_users, can_see_portfolio

    @app.context_processor
    def inject() -> dict:
        logged_in = bool(current_user and current_user.is_authenticated)
        return {"can_administer": logged_in and can_administer(current_user),
                "can_manage_users": logged_in and can_manage_users(current_user),
                "can_see_portfolio": logged_in and can_see_portfolio(current_user),
                "current_lang": str(get_locale() or "sv"), "platform_label": platform_label,
                "role_label": role_label, "status_label": status_label, "scale_labels": SCALE_LABELS,
                "level_labels": LEVEL_LABELS, "likelihood_meaning": LIKELIHOOD_MEANING,
                "severity_meaning": SEVERITY_MEANING, "high_policy": HIGH_POLICY}
