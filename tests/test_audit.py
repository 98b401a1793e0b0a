"""The audit trail is hash-chained per organisation: an edited, deleted or reordered row is named."""
import pytest
from sqlalchemy import select, update

from assessments import audit
from assessments.extensions import db
from assessments.models import AuditEvent
from tests.factories import organisation


@pytest.fixture
def chain(app, demo_orgs):
    with app.app_context():
        org = organisation("exempelkommun")
        for n in range(3):
            audit.record(org.id, "note", number=n, text="åäö")
        db.session.commit()
        yield org.id


def events(org_id):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.organisation_id == org_id)
                              .order_by(AuditEvent.seq)).all()


def test_intact_chain_verifies(chain):
    assert audit.verify_chain(chain) == []
    trail = events(chain)
    assert [e.prev_hash for e in trail[1:]] == [e.hash for e in trail[:-1]]


def test_edited_event_is_detected(chain):
    target = events(chain)[-2]
    db.session.execute(update(AuditEvent).where(AuditEvent.id == target.id)
                       .values(details={"number": 99, "text": "åäö"}))
    db.session.commit()
    db.session.expire_all()
    problems = audit.verify_chain(chain)
    assert [(p.seq, p.problem) for p in problems] == [(target.seq, "content was changed")]


def test_deleted_event_is_detected(chain):
    target = events(chain)[-2]
    db.session.delete(target)
    db.session.commit()
    problems = audit.verify_chain(chain)
    assert any(p.seq == target.seq and "missing" in p.problem for p in problems)


def test_chains_are_per_organisation(chain):
    other = organisation("exempelbanken").id
    first_other = events(other)[0]
    assert first_other.seq == 1 and first_other.prev_hash == audit.GENESIS
