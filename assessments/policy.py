"""Who may do what to which assessment, now: the only module that knows roles and states.

Services call these functions to refuse (``require``), views call them to decide what to offer, and
templates receive the booleans — a template never compares roles. Everything is also scoped to the
user's organisation: another organisation's assessment is never anyone's (docs/architecture.md, "Policy").

The roles (see ``models.Role``): the communicator and legal author assessments; legal reviews, and never
what they wrote (four eyes, further checked at approval by ``approval.independence_problems``); the DPO
advises (Art. 35(2)); the administrator runs the organisation's settings; the viewer reads.
"""
from __future__ import annotations

from .errors import Forbidden
from .models import Assessment, Role, Status, User

EDITABLE = frozenset({Status.DRAFT, Status.CHANGES_REQUESTED})
CLOSED = frozenset({Status.APPROVED, Status.SUPERSEDED})
AUTHOR_ROLES = frozenset({Role.COMMUNICATOR, Role.LEGAL})
COMMENTER_ROLES = frozenset({Role.COMMUNICATOR, Role.LEGAL, Role.DPO})
ADVISER_ROLES = frozenset({Role.DPO, Role.LEGAL})  # the DPO, or legal recording it on the DPO's behalf
CONSULTATION_KEEPERS = frozenset({Role.LEGAL, Role.DPO})  # the Art. 36 record
USER_MANAGERS = frozenset({Role.ADMIN})  # the organisation's accounts (users.py)
PORTFOLIO_ROLES = frozenset({Role.DPO, Role.LEGAL, Role.ADMIN})  # every assessment at a glance


def require(allowed: bool, message) -> None:
    """Refuse with ``message`` (in the user's language) unless ``allowed``."""
    if not allowed:
        raise Forbidden(message)


def same_organisation(user: User, assessment: Assessment) -> bool:
    return user.organisation_id == assessment.organisation_id


def is_closed(assessment: Assessment) -> bool:
    """Approved (or replaced by a later approved revision): its record no longer changes."""
    return assessment.status in CLOSED


def takes_part_in_review(user: User) -> bool:
    """The roles that comment and record the data subjects' views."""
    return user.role in COMMENTER_ROLES


def advises(user: User) -> bool:
    """The roles that record the DPO's advice (legal only on the DPO's behalf)."""
    return user.role in ADVISER_ROLES


def can_view(user: User, assessment: Assessment) -> bool:
    return same_organisation(user, assessment)


def can_create(user: User) -> bool:
    """Start, import or revise assessments."""
    return user.role in AUTHOR_ROLES


def can_edit(user: User, assessment: Assessment) -> bool:
    """Answers change only while the assessment is a draft or sent back, and only by an author role."""
    return same_organisation(user, assessment) and user.role in AUTHOR_ROLES and assessment.status in EDITABLE


def can_submit(user: User, assessment: Assessment) -> bool:
    return can_edit(user, assessment)


def is_reviewer(user: User, assessment: Assessment) -> bool:
    """Legal of the organisation, and not the author: the one who may review it at all."""
    return same_organisation(user, assessment) and user.role is Role.LEGAL and assessment.author_id != user.id


def can_review(user: User, assessment: Assessment) -> bool:
    """Verdicts, sending back, accepting the residual risk: a reviewer, while it is in review."""
    return is_reviewer(user, assessment) and assessment.status is Status.IN_REVIEW


def can_approve(user: User, assessment: Assessment) -> bool:
    """The role and state part of approving; independence is ``approval.independence_problems``."""
    return can_review(user, assessment)


def can_request_changes(user: User, assessment: Assessment) -> bool:
    return can_review(user, assessment)


def can_comment(user: User, assessment: Assessment) -> bool:
    """Legal and the DPO comment while reviewing; the author's side answers; nobody after approval."""
    return same_organisation(user, assessment) and not is_closed(assessment) and takes_part_in_review(user)


def can_manage_risks(user: User, assessment: Assessment) -> bool:
    """Risks, ratings, measures and treatment decisions: authors while they may edit; legal while reviewing."""
    if not same_organisation(user, assessment):
        return False
    if user.role in AUTHOR_ROLES and assessment.status in EDITABLE:
        return True
    return user.role is Role.LEGAL and assessment.status is Status.IN_REVIEW


def can_attach_evidence(user: User, assessment: Assessment) -> bool:
    """Attach and remove evidence files: as the risks (authors while they may edit, legal while reviewing); an
    approved revision's evidence is sealed into its report and never changes."""
    return can_manage_risks(user, assessment)


def can_record_dpo_advice(user: User, assessment: Assessment) -> bool:
    return same_organisation(user, assessment) and advises(user) and not is_closed(assessment)


def can_respond_to_dpo_advice(user: User, assessment: Assessment) -> bool:
    """Whether the DPO's advice is followed is the organisation's decision, not the DPO's: its authors and
    legal reviewers record it (Art. 35(2); ICO DPIA step 7)."""
    return same_organisation(user, assessment) and user.role in AUTHOR_ROLES and not is_closed(assessment)


def records_advice_on_behalf(user: User) -> bool:
    """Legal records the DPO's advice only on the DPO's behalf, and says so."""
    return user.role is Role.LEGAL


def can_record_data_subject_views(user: User, assessment: Assessment) -> bool:
    return same_organisation(user, assessment) and takes_part_in_review(user) and not is_closed(assessment)


def can_keep_prior_consultation(user: User, assessment: Assessment) -> bool:
    """Art. 36: kept from review onwards and completed after approval, when IMY answers."""
    return (same_organisation(user, assessment) and user.role in CONSULTATION_KEEPERS
            and assessment.status is not Status.SUPERSEDED)


def can_start_revision(user: User, assessment: Assessment) -> bool:
    """The role and state part; whether a newer revision exists is asked of ``revisions``."""
    return same_organisation(user, assessment) and assessment.status is Status.APPROVED and can_create(user)


def can_administer(user: User) -> bool:
    """The organisation's settings: platform facts, failed logins."""
    return user.role is Role.ADMIN


def can_manage_users(user: User) -> bool:
    """Create accounts, set roles, deactivate, unlock and reset passwords: the administrator, and only in
    their own organisation (``can_manage_user``; scope.user_for)."""
    return user.role in USER_MANAGERS


def can_manage_user(user: User, other: User) -> bool:
    return can_manage_users(user) and user.organisation_id == other.organisation_id


def manages_users(role: Role) -> bool:
    """Whether a user with ``role`` administers the accounts: an organisation keeps at least one active."""
    return role in USER_MANAGERS


# The dashboard's "waiting for you" lists, by role (waiting.py).
def reviews_for_approval(user: User) -> bool:
    return user.role is Role.LEGAL


def fixes_own_assessments(user: User) -> bool:
    return user.role in AUTHOR_ROLES


def gives_dpo_advice(user: User) -> bool:
    """The DPO themself (legal may record the advice on the DPO's behalf, but is not asked for it)."""
    return user.role is Role.DPO


def follows_review_dates(user: User) -> bool:
    """Art. 35(11): who is reminded that an approved assessment is due for review."""
    return user.role in (Role.LEGAL, Role.DPO, Role.COMMUNICATOR, Role.ADMIN)


def keeps_platform_facts(user: User) -> bool:
    return can_administer(user)


def follows_all_reassessments(user: User) -> bool:
    """Legal sees every flagged assessment of the organisation; an author sees their own
    (``fixes_own_assessments``) (docs/reassessment.md)."""
    return user.role is Role.LEGAL


def can_see_portfolio(user: User) -> bool:
    """The portfolio of the organisation's assessments (docs/reassessment.md): those who answer for all of them
    — the DPO (Art. 39(1)(b)), legal and the administrator."""
    return user.role in PORTFOLIO_ROLES


# Who is told by e-mail (notifications.py): each function is about one active user of the assessment's
# organisation; the user who acted is never told of their own action.
def told_of_submission(user: User, assessment: Assessment) -> bool:
    """Submitted for review: the legal reviewers (never the author) and the DPO."""
    return is_reviewer(user, assessment) or (same_organisation(user, assessment) and gives_dpo_advice(user))


def asked_for_dpo_advice(user: User, assessment: Assessment) -> bool:
    return same_organisation(user, assessment) and gives_dpo_advice(user)


def told_of_changes_requested(user: User, assessment: Assessment) -> bool:
    return same_organisation(user, assessment) and user.id == assessment.author_id


def told_of_approval(user: User, assessment: Assessment) -> bool:
    """Approved: the author and the DPO."""
    return same_organisation(user, assessment) and (user.id == assessment.author_id or gives_dpo_advice(user))


def told_of_reassessment(user: User, assessment: Assessment) -> bool:
    """Re-assessment needed (docs/reassessment.md): the author and legal."""
    return same_organisation(user, assessment) and (user.id == assessment.author_id or user.role is Role.LEGAL)


def told_of_review_date(user: User, assessment: Assessment) -> bool:
    """A review date near or passed (Art. 35(11)): the author, legal and the DPO."""
    return same_organisation(user, assessment) and (user.id == assessment.author_id
                                                    or user.role in (Role.LEGAL, Role.DPO))
