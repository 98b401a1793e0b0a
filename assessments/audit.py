"""Append-only audit trail, hash-chained per organisation.

Every event's hash covers the previous event's hash, so editing, deleting or reordering a row breaks the
chain from that row on; ``verify_chain`` names the first broken event. Services call ``record`` inside
their transaction and never commit (the request boundary does).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select

from .extensions import db
from .models import Assessment, AuditEvent, Organisation, User, utcnow

GENESIS = "0" * 64
AUDIT_EVENTS = cast(Table, AuditEvent.__table__)
# Built once: building them (and their cache keys) for every event cost more than running them.
_LAST_OF = (select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.organisation_id == bindparam("organisation_id"))
            .order_by(AuditEvent.seq.desc()).limit(1))
_INSERT = insert(AUDIT_EVENTS)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def event_hash(*, prev_hash: str, organisation_id: int, seq: int, assessment_id: int | None,
               actor_id: int | None, action: str, details: dict[str, Any], created_at: datetime) -> str:
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "org": organisation_id,
            "seq": seq,
            "assessment": assessment_id,
            "actor": actor_id,
            "action": action,
            "details": details,
            "at": as_utc(created_at).isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# The last (seq, hash) of each organisation this transaction appended to: once a transaction has appended an
# event it holds the organisation's row lock (PostgreSQL) or the database's write lock (SQLite) until it
# ends, so no one else can append in between and the next event follows from memory.
_LAST = "konsekvens_audit_last"


def _transaction(session):
    """The innermost transaction: an event appended in a savepoint is forgotten when the savepoint ends."""
    return session.get_nested_transaction() or session.get_transaction()


def _last_event(session, organisation_id: int) -> tuple[int, str] | None:
    """The organisation's last (seq, hash) as this transaction sees it, after taking the lock that serialises
    appends within an organisation."""
    transaction = _transaction(session)
    memo = session.info.get(_LAST)
    if memo is not None and memo[0] is transaction and organisation_id in memo[1]:
        return memo[1][organisation_id]
    # Lock the organisation row so two transactions cannot take the same sequence number (PostgreSQL). SQLite
    # has no row locks (it renders the statement without FOR UPDATE) and serialises writers anyway, so it is
    # not sent there. The unique (organisation_id, seq) constraint is the last guard.
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(Organisation.id).where(Organisation.id == organisation_id).with_for_update())
    row = session.execute(_LAST_OF, {"organisation_id": organisation_id}).first()
    return (row[0], row[1]) if row is not None else None


def record(organisation_id: int, action: str, *, actor: User | None = None, assessment_id: int | None = None,
           **details: Any) -> AuditEvent:
    """Append an event to the organisation's chain. Returns it as written, not added to the session (read
    the trail with a query)."""
    session = db.session()
    last = _last_event(session, organisation_id)
    seq = last[0] + 1 if last else 1
    prev = last[1] if last else GENESIS
    created_at = utcnow()
    details = json.loads(json.dumps(details, default=str))  # what is hashed is exactly what is stored
    event = AuditEvent(
        organisation_id=organisation_id, seq=seq, assessment_id=assessment_id,
        actor_id=actor.id if actor else None, action=action, details=details, created_at=created_at,
        prev_hash=prev,
    )
    event.hash = event_hash(prev_hash=prev, organisation_id=organisation_id, seq=seq,
                            assessment_id=assessment_id, actor_id=event.actor_id, action=action,
                            details=details, created_at=created_at)
    # Written by one statement rather than through the unit of work (a flush per event was most of
    # recording one); what else is pending is written first, in the order it was added, as before.
    session.flush()
    session.connection().execute(_INSERT, {
        "organisation_id": organisation_id, "seq": seq, "assessment_id": assessment_id, "actor_id": event.actor_id,
        "action": action, "details": details, "created_at": created_at, "prev_hash": prev, "hash": event.hash})
    transaction = _transaction(session)
    memo = session.info.get(_LAST)
    if memo is None or memo[0] is not transaction:
        appended: dict[int, tuple[int, str]] = {}
        memo = session.info[_LAST] = (transaction, appended)
    memo[1][organisation_id] = (seq, event.hash)
    return event


@dataclass(frozen=True)
class ChainProblem:
    organisation_id: int
    seq: int
    event_id: int | None
    problem: str


def verify_chain(organisation_id: int) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_seq = 1
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.organisation_id == organisation_id).order_by(AuditEvent.seq)
    )
    for event in events:
        if event.seq != expected_seq:
            problems.append(ChainProblem(organisation_id, expected_seq, None,
                                         f"event {expected_seq} is missing (next is {event.seq})"))
        if event.prev_hash != prev:
            problems.append(ChainProblem(organisation_id, event.seq, event.id,
                                         "does not follow the previous event (deleted or reordered)"))
        recomputed = event_hash(prev_hash=event.prev_hash, organisation_id=event.organisation_id,
                                seq=event.seq, assessment_id=event.assessment_id, actor_id=event.actor_id,
                                action=event.action, details=event.details, created_at=event.created_at)
        if recomputed != event.hash:
            problems.append(ChainProblem(organisation_id, event.seq, event.id, "content was changed"))
        prev = event.hash
        expected_seq = event.seq + 1
    return problems


def events_of(assessment: Assessment) -> list[AuditEvent]:
    """One assessment's events in the order they happened (its organisation's chain)."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.assessment_id == assessment.id,
                                                           AuditEvent.organisation_id == assessment.organisation_id)
                                   .order_by(AuditEvent.seq)))
