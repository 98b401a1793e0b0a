"""Configuration: defaults, then ``instance/config.py``, then the environment.

The secret key is generated into the instance folder on first start and reused, so that no key is ever
committed and sessions survive a restart.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask

# Environment variables that override configuration, with the config key they set.
ENVIRONMENT_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "KONSEKVENS_ARCHIVE_DIR": "ARCHIVE_DIR",
    "KONSEKVENS_SEAL_DIR": "SEAL_DIR",
    "KONSEKVENS_DEMO_PASSWORD": "DEMO_PASSWORD",
    "KONSEKVENS_TSA_URL": "TSA_URL",
    "KONSEKVENS_TRUSTED_PROXIES": "TRUSTED_PROXIES",
    "KONSEKVENS_RATELIMIT_STORAGE": "RATELIMIT_STORAGE_URI",
    "KONSEKVENS_SESSION_IDLE_MINUTES": "SESSION_IDLE_MINUTES",
    "KONSEKVENS_SESSION_MAX_HOURS": "SESSION_MAX_HOURS",
    "KONSEKVENS_LOG_FORMAT": "LOG_FORMAT",
    "KONSEKVENS_LOG_LEVEL": "LOG_LEVEL",
    "KONSEKVENS_SMTP_URL": "SMTP_URL",
    "KONSEKVENS_MAIL_FROM": "MAIL_FROM",
    "KONSEKVENS_BASE_URL": "BASE_URL",
}
# Settings that are whole numbers (the environment gives text): checked at start, not at the first request.
INTEGER_KEYS = ("TRUSTED_PROXIES", "SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS", "ARCHIVE_IN_FLIGHT_SECONDS",
                "EVIDENCE_MAX_FILE_BYTES", "EVIDENCE_MAX_TOTAL_BYTES")
ZERO_ALLOWED = ("TRUSTED_PROXIES", "ARCHIVE_IN_FLIGHT_SECONDS")


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
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none, the headers
        # are ignored). Only trust what is really there: a client can send these headers itself.
        TRUSTED_PROXIES=0,
        WTF_CSRF_TIME_LIMIT=None,  # a communicator may keep a step open for hours; the session bounds it
        # Failed-login counters (views/auth.py). memory:// is per process: with several gunicorn workers
        # use shared storage, e.g. redis://localhost:6379 (timeouts: throttle_storage_options below).
        RATELIMIT_STORAGE_URI="memory://",
        # If that storage is unreachable, count in this process's memory meanwhile rather than fail the login.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        # NIST SP 800-63B §5.2.2 requires limiting consecutive failed attempts on one account to at most
        # 100; 5 per account per 15 minutes (≤ 480 a day) is far below that, and a user who mistyped
        # waits at most 15 minutes. Per address 30: enough for an office behind one NAT address whose
        # staff mistype, too few to spray a common password over many accounts.
        LOGIN_LIMIT_PER_EMAIL="5 per 15 minutes",
        LOGIN_LIMIT_PER_ADDRESS="30 per 15 minutes",
        # A session ends after this long without a request, and this long after logging in however active
        # (views/auth.py; OWASP Session Management Cheat Sheet, "Session Expiration").
        SESSION_IDLE_MINUTES=30,
        SESSION_MAX_HOURS=12,
        # CPU seconds the verification page may spend on one upload before refusing it (report/verification.py;
        # a sealed report takes a few hundredths, docs/benchmarks.md).
        VERIFY_CPU_SECONDS=0.5,
        # Evidence files (docs/evidence.md): at most this large each, and all of one assessment revision
        # together (they are embedded in its sealed report); the CPU seconds inspecting one upload may take.
        EVIDENCE_MAX_FILE_BYTES=10 * 1024 * 1024,
        EVIDENCE_MAX_TOTAL_BYTES=25 * 1024 * 1024,
        EVIDENCE_CPU_SECONDS=2.0,
        # Behind a proxy that terminates TLS: Secure cookies and HSTS (KONSEKVENS_HTTPS=1 or HTTPS = True).
        HTTPS=False,
        # Logging (logs.py): "text" lines, or "json" (one JSON object per line) for a log collector.
        LOG_FORMAT="text",
        LOG_LEVEL="INFO",
        # `archive verify` takes an unreferenced file younger than this for one an approval on some node is
        # still writing or committing (integrity/archive_check.py, "files in flight"); an approval takes seconds.
        ARCHIVE_IN_FLIGHT_SECONDS=5 * 60,
        # E-mail notifications (mail.py, docs/notifications.md): an SMTP server such as
        # smtp://user:password@host:587?starttls=1, the sender's address, and the address users reach the
        # application at, for the links in messages. Without SMTP_URL nothing is sent: the dashboard's
        # waiting list is the only notice.
        SMTP_URL=None,
        MAIL_FROM=None,
        BASE_URL=None,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        for env_name, key in ENVIRONMENT_KEYS.items():
            if os.environ.get(env_name):
                app.config[key] = os.environ[env_name]
    else:
        app.config.from_mapping(test_config)
    for key in INTEGER_KEYS:
        try:
            app.config[key] = int(app.config[key])
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a whole number, not {app.config[key]!r}") from None
        minimum = 0 if key in ZERO_ALLOWED else 1
        if app.config[key] < minimum:
            raise ValueError(f"{key} must be at least {minimum}")
    app.config["RATELIMIT_STORAGE_OPTIONS"] = throttle_storage_options(
        str(app.config["RATELIMIT_STORAGE_URI"]), app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # SQLite serialises writers; signing holds the write lock for a few seconds, so a second writer
        # waits rather than failing after pysqlite's default 5 s.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    # Behind HTTPS (the production setting), cookies are sent over TLS only. The environment variable wins
    # over instance/config.py, as for every other setting, and is read for tests too.
    if os.environ.get("KONSEKVENS_HTTPS"):
        app.config["HTTPS"] = os.environ["KONSEKVENS_HTTPS"] == "1"
    if app.config["HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    if app.config["LOG_FORMAT"] not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT must be text or json, not {app.config['LOG_FORMAT']!r}")
    check_mail_settings(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")


# The throttle store is asked on every login. redis-py waits for an answer for ever unless told otherwise
# (redis-py documentation, "Connecting to Redis": socket_timeout, socket_connect_timeout default to None),
# so a Redis that accepts connections but does not answer would hold every login until gunicorn kills the
# worker. With a timeout the client raises instead, and Flask-Limiter counts in the process's memory
# meanwhile (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED; Flask-Limiter documentation, "Configuration"). A Redis on
# the same network answers in about a millisecond; the ceiling keeps a login well inside gunicorn's 30 s.
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
THROTTLE_STORE_TIMEOUT = 0.5  # seconds, unless the URI says otherwise
THROTTLE_STORE_MAX_TIMEOUT = 5.0
_TIMEOUTS = ("socket_timeout", "socket_connect_timeout")


def throttle_storage_options(uri: str, options: dict) -> dict:
    """The options for the throttle store's client: for Redis, short timeouts unless the URI (whose query
    redis-py lets win over options) or RATELIMIT_STORAGE_OPTIONS sets them, and never more than the
    ceiling; a value that is no number of seconds, or is above the ceiling, is refused at start."""
    if urlsplit(uri).scheme not in REDIS_SCHEMES:
        return dict(options)
    query = parse_qs(urlsplit(uri).query)
    chosen = {**dict.fromkeys(_TIMEOUTS, THROTTLE_STORE_TIMEOUT), **options}
    for key in _TIMEOUTS:
        raw = query[key][-1] if key in query else chosen[key]
        try:
            seconds = float(raw)
        except (TypeError, ValueError):
            seconds = float("nan")
        if not 0 < seconds <= THROTTLE_STORE_MAX_TIMEOUT:
            raise ValueError(
                f"KONSEKVENS_RATELIMIT_STORAGE: {key} must be more than 0 and at most "
                f"{THROTTLE_STORE_MAX_TIMEOUT:g} seconds, not {raw!r}: a login waits that long for the throttle "
                f"store before counting in memory instead (leave it out for {THROTTLE_STORE_TIMEOUT:g} s)")
        chosen[key] = seconds
    return chosen


def check_mail_settings(config) -> None:
    """Refuse at start what would only fail when the first message is sent: an SMTP URL that cannot be
    read, a sender missing, a base URL that is not an http(s) address."""
    if config.get("SMTP_URL"):
        parse_smtp_url(str(config["SMTP_URL"]))
        if not config.get("MAIL_FROM") or "@" not in str(config["MAIL_FROM"]):
            raise ValueError("KONSEKVENS_MAIL_FROM must be set to the sender's address when KONSEKVENS_SMTP_URL is")
    if config.get("BASE_URL"):
        parts = urlsplit(str(config["BASE_URL"]))
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"KONSEKVENS_BASE_URL must be an http(s) address such as https://konsekvens.example.se, "
                             f"not {config['BASE_URL']!r}")


# Sending happens after the response (mail.py), but a worker still waits for a server that does not answer:
# a short timeout, and a message not sent stays in the queue for the next attempt.
SMTP_TIMEOUT = 10.0  # seconds, unless the URL says ?timeout=
SMTP_MAX_TIMEOUT = 60.0
SMTP_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    ssl: bool  # smtps://: TLS from the start (RFC 8314)
    starttls: bool  # smtp://…?starttls=1: upgrade to TLS before logging in (RFC 3207)
    username: str | None
    password: str | None
    timeout: float


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp://[user[:password]@]host[:port][?starttls=1][&timeout=seconds]`` or ``smtps://…``; the user
    and password percent-encoded (an @ in the user name as %40). ValueError says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in SMTP_PORTS or not parts.hostname:
        raise ValueError("KONSEKVENS_SMTP_URL must look like smtp://user:password@host:587?starttls=1 or "
                         f"smtps://user:password@host:465, not {parts.scheme or 'no scheme'}://…")
    query = parse_qs(parts.query)
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise ValueError(f"KONSEKVENS_SMTP_URL: unknown parameter {sorted(unknown)[0]!r} (known: starttls, timeout)")
    starttls = query.get("starttls", ["0"])[-1]
    if starttls not in ("0", "1"):
        raise ValueError(f"KONSEKVENS_SMTP_URL: starttls must be 0 or 1, not {starttls!r}")
    raw_timeout = query.get("timeout", [str(SMTP_TIMEOUT)])[-1]
    try:
        timeout = float(raw_timeout)
    except ValueError:
        timeout = float("nan")
    if not 0 < timeout <= SMTP_MAX_TIMEOUT:
        raise ValueError(f"KONSEKVENS_SMTP_URL: timeout must be more than 0 and at most {SMTP_MAX_TIMEOUT:g} "
                         f"seconds, not {raw_timeout!r}")
    try:
        port = parts.port or SMTP_PORTS[parts.scheme]
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ValueError(f"KONSEKVENS_SMTP_URL: {exc}") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if not (username or "").isascii() or not (password or "").isascii():
        # Python's smtplib sends AUTH PLAIN and LOGIN as ASCII (RFC 4954 leaves the encoding to the mechanism).
        raise ValueError("KONSEKVENS_SMTP_URL: the user name and password must be ASCII characters")
    if parts.scheme == "smtps" and starttls == "1":
        raise ValueError("KONSEKVENS_SMTP_URL: smtps:// is TLS already; starttls=1 is for smtp://")
    return SmtpSettings(host=parts.hostname, port=port, ssl=parts.scheme == "smtps", starttls=starttls == "1",
                        username=username, password=password, timeout=timeout)


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
