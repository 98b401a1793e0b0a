"""Small builders for tests, on top of the real services."""
from __future__ import annotations

from sqlalchemy import select

from assessments.demo import create_demo_assessment
from assessments.extensions import db
from assessments.models import Assessment, Organisation, User

# The demo organisations' mail domains (assessments/demo): their users are <role>@<domain>.
KOMMUN = "exempelkommun.example"
REGION = "regionexempel.example"
BANK = "exempelbanken.example"


def user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def organisation(slug: str) -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.slug == slug)).one()


def answered_assessment(name: str | None = None) -> Assessment:
    """A fully answered draft from the demo data (the municipality's, latest catalogue), committed."""
    from tests.answering import latest_demo

    assessment = create_demo_assessment(name or latest_demo())
    db.session.commit()
    return assessment


def approved_unsealed(assessment: Assessment) -> Assessment:
    """The municipality's assessment submitted by its communicator and marked approved by its legal reviewer,
    committed: the status approval leaves, without rendering or sealing a report."""
    from assessments import workflow

    workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
    workflow.mark_approved(assessment, user(f"jurist@{KOMMUN}"))
    db.session.commit()
    return assessment


def reload(assessment_id: int) -> Assessment:
    db.session.expire_all()
    return db.session.get(Assessment, assessment_id)
