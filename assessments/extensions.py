"""Flask extensions, unbound: the factory binds them to an app (cookiecutter-flask's habit)."""
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, registry

# Named constraints, so later migrations can alter them (SQLite's batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # Timestamps are stored in UTC with their zone where the database keeps it (PostgreSQL);
    # SQLite hands them back naive, so readers go through ``audit.as_utc``.
    registry = registry(type_annotation_map={datetime: DateTime(timezone=True)},
                        metadata=MetaData(naming_convention=NAMING_CONVENTION))


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


# --- Login throttling -------------------------------------------------------------------------------------


class AppLimiter(Limiter):
    """Flask-Limiter with its counters and its on/off switch kept per application.

    Flask-Limiter keeps one storage on the extension object, replaced by every ``init_app``; with one
    module-level limiter and an app per test (or two apps in one process) the counters would leak from one
    app to the next. Here each app keeps the storage its ``init_app`` created, and ``RATELIMIT_ENABLED``
    is read from the app that serves the request.
    """

    APP_KEY = "konsekvens.ratelimit"

    @property
    def enabled(self) -> bool:
        if has_app_context() and self.APP_KEY in current_app.extensions:
            return bool(current_app.config.get("RATELIMIT_ENABLED", True))
        return self._enabled_default

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled_default = value

    def init_app(self, app) -> None:
        # Neither an earlier app's RATELIMIT_ENABLED=False, nor its unreachable storage, nor its storage
        # options (Flask-Limiter merges RATELIMIT_STORAGE_OPTIONS into what it has) carry over.
        self._enabled_default, self._storage_dead = True, False
        self._storage_options = {}
        super().init_app(app)
        enabled = app.config.get("RATELIMIT_ENABLED", True)
        app.extensions[self.APP_KEY] = (self._storage, self._limiter) if enabled else (None, None)

    def _own(self, index: int):
        if has_app_context() and self.APP_KEY in current_app.extensions:
            return current_app.extensions[self.APP_KEY][index]
        return None

    @property
    def storage(self):
        own = self._own(0)
        return own if own is not None else super().storage

    @property
    def counting_storage(self):
        """Where failures are counted right now: the app's storage, or this process's memory while that
        storage cannot be reached (the same switch as ``limiter``), so a caller that counts for itself never
        waits on a store that does not answer."""
        fallback = getattr(self, "_fallback_storage", None)
        if self._storage_dead and self._in_memory_fallback_enabled and fallback is not None:
            return fallback
        return self.storage

    @property
    def limiter(self):
        own = self._own(1)
        if own is None or (self._storage_dead and self._in_memory_fallback_enabled):
            return super().limiter  # no app, or shared storage unreachable: count in this process meanwhile
        return own


# No default limits: only the routes that check a password are throttled (views/auth.py, views/account.py).
limiter = AppLimiter(get_remote_address, strategy="fixed-window")
