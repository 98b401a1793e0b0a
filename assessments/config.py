"""Configuration: defaults, then ``instance/config.py``, then the environment.

The secret key is generated into the instance folder on first start and reused, so that no key is ever
committed and sessions survive a restart.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

# Environment variables that override configuration, with the config key they set.
ENVIRONMENT_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "KONSEKVENS_ARCHIVE_DIR": "ARCHIVE_DIR",
    "KONSEKVENS_SEAL_DIR": "SEAL_DIR",
    "KONSEKVENS_DEMO_PASSWORD": "DEMO_PASSWORD",
    "KONSEKVENS_TSA_URL": "TSA_URL",
}


def configure(app: Flask, test_config: dict | None) -> None:
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'konsekvens.sqlite'}",
        ARCHIVE_DIR=str(instance / "archive"),
        SEAL_DIR=str(instance / "seals"),
        DEMO_PASSWORD=None,
        TSA_URL=None,  # an RFC 3161 time-stamping authority: when set, every seal gets a timestamp (PAdES B-T)
        BABEL_DEFAULT_LOCALE="sv",
        LANGUAGES=("sv", "en"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # a communicator may keep a step open for hours; the session bounds it
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        for env_name, key in ENVIRONMENT_KEYS.items():
            if os.environ.get(env_name):
                app.config[key] = os.environ[env_name]
    else:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # SQLite serialises writers; signing holds the write lock for a few seconds, so a second writer
        # waits rather than failing after pysqlite's default 5 s.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    # Behind HTTPS (the production setting), cookies are sent over TLS only.
    if os.environ.get("KONSEKVENS_HTTPS") == "1":
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")


def normalise_database_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` forms hosting providers hand out; we ship psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker won the race; use its key
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
