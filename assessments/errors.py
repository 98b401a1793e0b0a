"""The refusals a service can raise, each with the HTTP status it means (docs/architecture.md, "Errors").

Services raise these with a message in the user's language; they never build responses. One place turns
them into responses (``views.responses``): a form the user can correct comes back with the message; a
refusal of access is a 403 or 404 page; an unavailable part is a 503 page. This module imports nothing of
ours, so every module can raise without importing the workflow or the views.
"""
from __future__ import annotations


class DomainError(Exception):
    """A refused action; ``message`` is shown to the user in their language."""

    status_code = 400

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


class Invalid(DomainError):
    """What was sent cannot be accepted (missing, malformed, out of range); nothing was changed. ``field``
    names the form field the message belongs to, so the page can show it there."""

    status_code = 400

    def __init__(self, message, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Forbidden(DomainError):
    """This user may not do this (role, organisation, four eyes)."""

    status_code = 403


class NotFound(DomainError):
    """Not there, or not this user's organisation's: the two look the same from outside."""

    status_code = 404


class Conflict(DomainError):
    """The state changed, or does not allow this now (a stale page, already approved)."""

    status_code = 409


class Failure(DomainError):
    """Our own part failed (e.g. signing); nothing was stored."""

    status_code = 500


class Unavailable(DomainError):
    """A part the action needs is not available (the seal, the time-stamping service, the archive)."""

    status_code = 503
