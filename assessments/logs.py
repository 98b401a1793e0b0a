"""One logging configuration: every line carries the request it belongs to, as text or as JSON lines.

Each request gets an id (from a trusted proxy's ``X-Request-ID``, else a new one), returned in the response's
``X-Request-ID`` so an operator can find a user's report in the log. Logins, failed logins, throttling,
lockouts and refused actions are logged where they happen (one line each, never a password).
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{8,64}\Z")  # what a proxy's id may look like; anything else is new
_HANDLER_NAME = "konsekvens"


def request_id() -> str:
    return g.get("request_id", "-") if has_request_context() else "-"


class RequestContext(logging.Filter):
    """Adds ``request_id``, ``method`` and ``path`` to every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        record.method = request.method if has_request_context() else "-"
        record.path = request.path if has_request_context() else "-"
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "method": getattr(record, "method", "-"),
            "path": getattr(record, "path", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(method)s %(path)s] %(message)s"


def configure_logging(app: Flask) -> None:
    """Our loggers (``assessments.*``, the app's) write to stderr in the configured format; installed once
    per process, so several apps in one process (tests) do not log each line twice."""
    handler = next((h for h in logging.getLogger("assessments").handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.addFilter(RequestContext())
        logging.getLogger("assessments").addHandler(handler)
    handler.setFormatter(JsonLines() if app.config["LOG_FORMAT"] == "json" else logging.Formatter(TEXT_FORMAT))
    logging.getLogger("assessments").setLevel(app.config["LOG_LEVEL"])
    # The app's own logger is "assessments" (the import name): the same handler, no second copy from Flask.
    app.logger.propagate = True
    for flask_handler in list(app.logger.handlers):
        if flask_handler is not handler:
            app.logger.removeHandler(flask_handler)

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "") if app.config.get("TRUSTED_PROXIES") else ""
        g.request_id = given if _ACCEPTED_ID.match(given) else secrets.token_hex(8)

    @app.after_request
    def return_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response
