"""Workflow transitions per role (the one module that changes status)."""
import pytest

from assessments import policy, workflow
from assessments.errors import DomainError
from assessments.extensions import db
from assessments.models import Status
from tests.factories import KOMMUN, answered_assessment, user


@pytest.fixture
def draft(app, demo_orgs):
    with app.app_context():
        yield answered_assessment()


def test_author_submits_draft_for_review(app, draft):
    workflow.submit_for_review(draft, user(f"kommunikator@{KOMMUN}"))
    db.session.commit()
    assert draft.status is Status.IN_REVIEW
    assert draft.submitted_at is not None


@pytest.mark.parametrize("local", ["dso", "admin", "lasare"])
def test_roles_that_do_not_author_cannot_submit(app, draft, local):
    with pytest.raises(DomainError) as caught:
        workflow.submit_for_review(draft, user(f"{local}@{KOMMUN}"))
    assert caught.value.status_code == 403
    assert draft.status is Status.DRAFT


def test_user_of_another_organisation_cannot_submit(app, draft):
    with pytest.raises(DomainError):
        workflow.submit_for_review(draft, user("kommunikator@regionexempel.example"))


def test_request_changes_needs_a_reason_and_legal(app, draft):
    workflow.submit_for_review(draft, user(f"kommunikator@{KOMMUN}"))
    with pytest.raises(DomainError) as no_reason:
        workflow.request_changes(draft, user(f"jurist@{KOMMUN}"), "   ")
    assert no_reason.value.status_code == 400
    with pytest.raises(DomainError) as wrong_role:
        workflow.request_changes(draft, user(f"kommunikator@{KOMMUN}"), "Fix it")
    assert wrong_role.value.status_code == 403
    workflow.request_changes(draft, user(f"jurist@{KOMMUN}"), "Beskriv gallringen tydligare.")
    assert draft.status is Status.CHANGES_REQUESTED
    workflow.submit_for_review(draft, user(f"kommunikator@{KOMMUN}"))
    assert draft.status is Status.IN_REVIEW


def test_cannot_request_changes_on_a_draft(app, draft):
    with pytest.raises(DomainError) as caught:
        workflow.request_changes(draft, user(f"jurist@{KOMMUN}"), "x")
    assert caught.value.status_code == 409


def test_only_legal_other_than_author_may_approve(app, draft):
    author = user(f"kommunikator@{KOMMUN}")
    workflow.submit_for_review(draft, author)
    assert not policy.can_approve(author, draft)
    assert not policy.can_approve(user(f"dso@{KOMMUN}"), draft)
    assert not policy.can_approve(user("jurist@regionexempel.example"), draft)
    assert policy.can_approve(user(f"jurist@{KOMMUN}"), draft)


def test_legal_reviewer_cannot_approve_own_assessment(app, draft):
    jurist = user(f"jurist@{KOMMUN}")
    draft.author_id = jurist.id
    workflow.submit_for_review(draft, jurist)
    assert draft.status is Status.IN_REVIEW
    assert not policy.can_approve(jurist, draft)
    with pytest.raises(DomainError):
        workflow.mark_approved(draft, jurist)
    assert draft.status is Status.IN_REVIEW


def test_approved_assessment_is_not_editable(app, draft):
    author = user(f"kommunikator@{KOMMUN}")
    workflow.submit_for_review(draft, author)
    workflow.mark_approved(draft, user(f"jurist@{KOMMUN}"))
    assert draft.status is Status.APPROVED
    assert not policy.can_edit(author, draft)
    with pytest.raises(DomainError):
        workflow.submit_for_review(draft, author)


def test_every_transition_is_audited(app, draft):
    from sqlalchemy import select

    from assessments import audit
    from assessments.models import AuditEvent

    workflow.submit_for_review(draft, user(f"kommunikator@{KOMMUN}"))
    db.session.commit()
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.assessment_id == draft.id)
                                 .order_by(AuditEvent.seq)).all()
    assert actions[-1] == "submit_for_review"
    assert audit.verify_chain(draft.organisation_id) == []
