"""The outgoing e-mail queue: a message is a row written in the transaction of the action it tells of, and
sent after that transaction commits — after the response, so a slow, refusing or hanging SMTP server never
holds up or breaks the action (docs/notifications.md). What is not sent stays pending with its error and is
tried again with a growing delay by ``flask mail send-pending`` (cron).

Without ``SMTP_URL`` nothing is queued: the dashboard's waiting list is then the only notice. The audit
trail records each message as queued and as sent (the kind and the address), never its text.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, url_for
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from . import audit
from .config import parse_smtp_url
from .extensions import db
from .models import Assessment, User, utcnow
from .outbox import Notification, NotificationStatus

logger = logging.getLogger(__name__)

# Minutes to wait after the first, second, … failed attempt; after the last the message is given up.
RETRY_DELAYS_MINUTES = (1, 5, 15, 60, 180, 360, 720, 1440)
MAX_ATTEMPTS = len(RETRY_DELAYS_MINUTES) + 1
# A message being sent is held this long, so that another node's ``send-pending`` does not send it too;
# if the sender dies, the message is due again afterwards.
CLAIM_SECONDS = 300
ERROR_MAX = 500  # characters of the SMTP error kept with the message

_QUEUED = "konsekvens_mail_queued"  # Session.info: ids queued in the open transaction
_COMMITTED = "konsekvens_mail_committed"  # … and once it has committed, until the response is sent


def configured() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


def link(endpoint: str, **values) -> str:
    """An absolute URL of a page, for a message: from ``BASE_URL`` (which may end in a path, e.g. behind a
    proxy at /konsekvens), else from the request being answered. Outside a request without ``BASE_URL``
    there is no address to give: LinkUnavailable."""
    base = current_app.config.get("BASE_URL")
    if base:
        parts = urlsplit(str(base))
        adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path.rstrip("/") or "/",
                                           url_scheme=parts.scheme)
        return adapter.build(endpoint, values, force_external=True)
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    raise LinkUnavailable("set KONSEKVENS_BASE_URL (the address users reach the application at) so that messages "
                          "sent from the command line can link to it")


class LinkUnavailable(RuntimeError):
    pass


def enqueue(recipient: User, *, kind: str, subject: str, body: str, assessment: Assessment | None = None,
            key: str | None = None) -> Notification | None:
    """Queue one message in the current transaction (flushed, never committed) and put it on the audit trail.
    None when nothing is to be sent: no SMTP server configured, or the recipient turned e-mail off."""
    if not configured() or not recipient.email_notifications or not recipient.active:
        return None
    row = Notification(organisation_id=recipient.organisation_id, recipient_id=recipient.id, email=recipient.email,
                       kind=kind, assessment_id=assessment.id if assessment else None, language=recipient.language,
                       subject=subject, body=body, key=key, status=NotificationStatus.PENDING,
                       next_attempt_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record(recipient.organisation_id, "notification_queued", assessment_id=row.assessment_id,
                 notification=row.id, kind=kind, to=recipient.email)
    db.session.info.setdefault(_QUEUED, []).append(row.id)
    return row


def already_queued(key: str) -> bool:
    return db.session.scalar(select(Notification.id).where(Notification.key == key)) is not None


def enqueue_once(recipient: User, *, key: str, **message) -> Notification | None:
    """``enqueue`` unless a message with ``key`` was queued before. Two runs at the same moment: the unique
    key lets one commit, and the other's commit raises IntegrityError (the caller rolls back)."""
    if already_queued(key):
        return None
    return enqueue(recipient, key=key, **message)


# -- after the commit ------------------------------------------------------------------------------------

def _after_commit(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        session.info.setdefault(_COMMITTED, []).extend(queued)


def _after_rollback(session: Session) -> None:
    session.info.pop(_QUEUED, None)


def install(app: Flask) -> None:
    """Send what a request queued once its transaction has committed, after the response has gone out
    (Werkzeug's ``call_on_close``); a failure is logged, never shown to the user."""
    if not event.contains(Session, "after_commit", _after_commit):  # once per process, for every session
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)

    @app.after_request
    def send_after_response(response):
        committed = db.session.info.pop(_COMMITTED, None)
        if committed:
            response.call_on_close(lambda: _send_in_background(app, committed))
        return response


def _send_in_background(app: Flask, ids: list[int]) -> None:
    try:
        with app.app_context():
            send_pending(ids)
    except Exception:  # noqa: BLE001 - best effort: the messages stay pending for send-pending
        logger.exception("sending %d queued message(s) after the response failed", len(ids))


# -- sending ---------------------------------------------------------------------------------------------

@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0  # still pending (tried again later) or given up
    given_up: int = 0


def due_ids(limit: int = 500) -> list[int]:
    now = utcnow()
    return list(db.session.scalars(select(Notification.id).where(
        Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id).limit(limit)))


def _claim(ids: Iterable[int]) -> list[Notification]:
    """Take the messages that are still pending and due, so no other sender takes them meanwhile."""
    now = utcnow()
    claimed = []
    for notification_id in ids:
        result = db.session.execute(
            update(Notification).where(Notification.id == notification_id,
                                       Notification.status == NotificationStatus.PENDING,
                                       Notification.next_attempt_at <= now)
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
            claimed.append(notification_id)
    db.session.commit()
    if not claimed:
        return []
    return list(db.session.scalars(select(Notification).where(Notification.id.in_(claimed))
                                   .order_by(Notification.id)))


def send_pending(ids: Iterable[int] | None = None) -> SendResult:
    """Send the given messages (or every pending one that is due) over one SMTP connection, committing the
    outcome of each. A message that fails gets its error and its next attempt; the others go on."""
    result = SendResult()
    if not configured():
        return result
    messages = _claim(due_ids() if ids is None else ids)
    if not messages:
        return result
    settings = parse_smtp_url(str(current_app.config["SMTP_URL"]))
    sender = str(current_app.config["MAIL_FROM"])
    try:
        connection = _connect(settings)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the messages stay pending with the error
        for message in messages:
            _failed(message, exc, result)
        db.session.commit()
        return result
    try:
        for message in messages:
            try:
                connection.send_message(_email(message, sender))
            except Exception as exc:  # noqa: BLE001 - refused, cut off, timed out, or a header that cannot be sent
                _failed(message, exc, result)
            else:
                _sent(message, result)
            db.session.commit()
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return result


def _connect(settings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    connection: smtplib.SMTP
    if settings.ssl:
        connection = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.starttls:
            connection.starttls(context=context)
        if settings.username:
            connection.login(settings.username, settings.password or "")
    except BaseException:
        connection.close()
        raise
    return connection


def _email(message: Notification, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.email
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to the sender
    email.set_content(message.body)  # replaces any Content-* header set before it
    email["Content-Language"] = message.language  # RFC 3282
    return email


def _sent(message: Notification, result: SendResult) -> None:
    message.status, message.sent_at = NotificationStatus.SENT, utcnow()
    message.attempts += 1
    message.last_error = None
    audit.record(message.organisation_id, "notification_sent", assessment_id=message.assessment_id,
                 notification=message.id, kind=message.kind, to=message.email)
    result.sent += 1


def _failed(message: Notification, exc: BaseException, result: SendResult) -> None:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
    result.failed += 1
    if message.attempts >= MAX_ATTEMPTS:
        message.status = NotificationStatus.FAILED
        result.given_up += 1
        audit.record(message.organisation_id, "notification_given_up", assessment_id=message.assessment_id,
                     notification=message.id, kind=message.kind, to=message.email, attempts=message.attempts)
    else:
        message.next_attempt_at = utcnow() + timedelta(minutes=RETRY_DELAYS_MINUTES[message.attempts - 1])
    logger.warning("message %s (%s) to %s not sent, attempt %s: %s", message.id, message.kind, message.email,
                   message.attempts, message.last_error)
