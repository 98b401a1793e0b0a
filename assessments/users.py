"""User administration: the organisation's administrator creates accounts, sets roles, deactivates and
reactivates, unlocks a login and resets a password — in the browser what ``flask user …`` does on the
server, with the same password rules (``passwords.policy_problem``) and the same audit events.

The rules, in one place (docs/user-administration.md says why):

* only an administrator (``policy.can_manage_users``), and only for users of their own organisation
  (``scope.user_for``: another organisation's user is not found);
* an organisation keeps at least one active administrator, and nobody deactivates themselves or changes
  their own role (another administrator can), so nobody locks the organisation out by a slip;
* a new role or a deactivation ends the user's sessions at once (``User.end_sessions``), as a new password
  does: what a session may do is decided with the role it has now;
* a password chosen by the administrator (typed, or generated and shown once) must be changed by the user
  at their next login (``must_change_password``): the administrator does not keep knowing it;
* an unlock starts the count of failed logins afresh for the account in every browser (``unlock_count``,
  views/throttling.py); a new password does the same.

Services flush and write their audit events; the request commits. E-mail is not sent here: the view sends
``account_created`` and ``password_reset`` after the commit, and notifications connect to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from . import audit, policy
from .errors import Conflict, Invalid
from .extensions import db
from .i18n import LANGUAGES
from .limits import EMAIL_MAX, PERSON_NAME_MAX
from .models import AuditEvent, Organisation, Role, User
from .passwords import one_time_password, policy_problem
from .plaintext import has_control_characters

# Hook points for notifications (e.g. an e-mail telling the user an account exists). Sent by the view
# after the commit, with ``user=`` the account; never with the password.
signals = Namespace()
account_created = signals.signal("account-created")
password_reset = signals.signal("password-reset")

NOT_ALLOWED = _l("Only the organisation's administrator manages its users.")
EMAIL_INVALID = _l("Write an email address, such as namn@kommunen.se (at most %(max)s characters).",
                   max=EMAIL_MAX)
EMAIL_TAKEN = _l("This email address already has an account.")
NAME_MISSING = _l("Write the user's name (at most %(max)s characters).", max=PERSON_NAME_MAX)
LANGUAGE_UNKNOWN = _l("Choose one of the alternatives.")
OWN_ROLE = _l("You cannot change your own role. Another administrator can.")
OWN_DEACTIVATION = _l("You cannot deactivate your own account. Another administrator can.")
OWN_PASSWORD = _l("You change your own password under “Change password”.")
SAME_PASSWORD = _l("Choose a new password, not the one you were given.")

LOCK_EVENTS = ("login_locked", "login_unlocked")
LOCK_EVENTS_READ = 500  # the newest lock and unlock events are enough to tell who is locked now


class FieldInvalid(Invalid):
    """Invalid input that belongs to one field of the form (``field``: its name), shown there."""

    def __init__(self, message, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewPassword:
    """The account and, when it was generated, the one-time password to show once (never stored)."""

    user: User
    one_time_password: str | None


def users_of(organisation_id: int) -> list[User]:
    """The organisation's users: active first, then by name."""
    return list(db.session.scalars(select(User).where(User.organisation_id == organisation_id)
                                   .order_by(User.active.desc(), func.lower(User.name), User.id)))


def locked_until(organisation_id: int, now: datetime | None = None) -> dict[int, datetime]:
    """Who is locked out of logging in right now, and until when: the lockouts on the audit trail
    (views/auth.py records one per account and window) not yet over and not followed by an unlock."""
    now = now or datetime.now(UTC)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.organisation_id == organisation_id, AuditEvent.action.in_(LOCK_EVENTS))
        .order_by(AuditEvent.seq.desc()).limit(LOCK_EVENTS_READ))
    locked: dict[int, datetime] = {}
    settled: set[int] = set()
    for event in events:  # newest first: an unlock settles everything before it
        user_id = event.details.get("user_id")
        if not isinstance(user_id, int) or user_id in settled:
            continue
        if event.action == "login_unlocked":
            settled.add(user_id)
            continue
        until = datetime.fromtimestamp(int(event.details.get("until", 0)), UTC)
        if until > now and (user_id not in locked or until > locked[user_id]):
            locked[user_id] = until
    return locked


def _require_manager(actor: User, target: User | None = None) -> None:
    allowed = policy.can_manage_users(actor) if target is None else policy.can_manage_user(actor, target)
    policy.require(allowed, NOT_ALLOWED)


def _email_problem(email: str):
    if not email or len(email) > EMAIL_MAX or has_control_characters(email) or any(c.isspace() for c in email):
        return EMAIL_INVALID
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain.strip(".") or "@" in domain:
        return EMAIL_INVALID
    if User.by_email(email) is not None:
        return EMAIL_TAKEN
    return None


def _password_problem(password: str, *, email: str, name: str, organisation: Organisation | None):
    return policy_problem(password, email=email, name=name, extra=[organisation.name] if organisation else [],
                          for_someone_else=True)


def create_user(actor: User, *, email: str, name: str, role: Role, language: str = "sv",
                password: str | None = None) -> NewPassword:
    """A new account in the actor's organisation. ``password``: the one the administrator typed, or None to
    generate a one-time password; either way the user changes it at the first login."""
    _require_manager(actor)
    email, name = (email or "").strip(), (name or "").strip()
    if problem := _email_problem(email):
        raise FieldInvalid(problem, "email")
    if not name or len(name) > PERSON_NAME_MAX or has_control_characters(name):
        raise FieldInvalid(NAME_MISSING, "name")
    if language not in LANGUAGES:
        raise FieldInvalid(LANGUAGE_UNKNOWN, "language")
    organisation = actor.organisation
    if password:
        if problem := _password_problem(password, email=email, name=name, organisation=organisation):
            raise FieldInvalid(problem, "password")
        generated = None
    else:
        password = generated = one_time_password(email=email, name=name, extra=[organisation.name])
    user = User(email=email, name=name, organisation_id=actor.organisation_id, role=role, language=language,
                must_change_password=True, unlock_count=0)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor.organisation_id, "user_created", actor=actor, email=email, role=role.value)
    return NewPassword(user, generated)


def _other_active_managers(target: User) -> int:
    # The organisation's row is locked first (PostgreSQL), so two administrators demoting each other at the
    # same moment are counted one after the other and the second is refused (audit.record locks it too).
    db.session.execute(select(Organisation.id).where(Organisation.id == target.organisation_id).with_for_update())
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.organisation_id == target.organisation_id, User.active.is_(True),
        User.role.in_(policy.USER_MANAGERS), User.id != target.id)) or 0


def _keep_an_administrator(target: User, *, role_after: Role | None) -> None:
    """Refuse if ``target`` is the last active administrator and would stop being one (``role_after`` None:
    deactivated)."""
    stays = role_after is not None and policy.manages_users(role_after)
    if target.active and policy.manages_users(target.role) and not stays and _other_active_managers(target) == 0:
        raise Conflict(_l("%(name)s is the organisation's only active administrator. Make another user "
                          "administrator first.", name=target.name))


def change_role(actor: User, target: User, role: Role) -> bool:
    """The user's new role; their sessions end. False when the role was already theirs."""
    _require_manager(actor, target)
    if role == target.role:
        return False
    _keep_an_administrator(target, role_after=role)
    if target.id == actor.id:
        raise Conflict(OWN_ROLE)
    old = target.role
    target.role = role
    target.end_sessions()
    audit.record(target.organisation_id, "role_changed", actor=actor, email=target.email, old=old.value,
                 new=role.value)
    return True


def deactivate(actor: User, target: User) -> bool:
    """The user can no longer log in and their sessions end; nothing they wrote is removed. False when they
    were deactivated already."""
    _require_manager(actor, target)
    if not target.active:
        return False
    _keep_an_administrator(target, role_after=None)
    if target.id == actor.id:
        raise Conflict(OWN_DEACTIVATION)
    target.deactivate()
    audit.record(target.organisation_id, "user_deactivated", actor=actor, email=target.email)
    return True


def reactivate(actor: User, target: User) -> bool:
    """The user can log in again, with the password they had. False when they were active."""
    _require_manager(actor, target)
    if target.active:
        return False
    target.active = True
    target.end_sessions()  # nothing from before the deactivation logs anyone in
    audit.record(target.organisation_id, "user_reactivated", actor=actor, email=target.email)
    return True


def unlock(actor: User, target: User) -> None:
    """Failed logins counted against the account so far stop counting, in every browser."""
    _require_manager(actor, target)
    _unlock(actor, target)


def _unlock(actor: User, target: User) -> None:
    target.unlock_count += 1
    audit.record(target.organisation_id, "login_unlocked", actor=actor, account=target.email, user_id=target.id)


def reset_password(actor: User, target: User, password: str | None = None) -> NewPassword:
    """A new password the user must change at the next login (typed, or None: generated and shown once);
    their sessions end and their login is unlocked (failed attempts at the old password no longer count)."""
    _require_manager(actor, target)
    if target.id == actor.id:
        raise Conflict(OWN_PASSWORD)
    if password:
        if problem := _password_problem(password, email=target.email, name=target.name,
                                        organisation=target.organisation):
            raise FieldInvalid(problem, "new_password")
        generated = None
    else:
        password = generated = one_time_password(email=target.email, name=target.name,
                                                 extra=[target.organisation.name])
    target.set_password(password)
    target.must_change_password = True
    audit.record(target.organisation_id, "password_set", actor=actor, email=target.email)
    _unlock(actor, target)
    return NewPassword(target, generated)


def change_own_password(user: User, password: str) -> None:
    """The user's own new password (``views/account.py`` has checked the current one); it ends every other
    session. One an administrator chose must really be replaced."""
    if problem := policy_problem(password, email=user.email, name=user.name,
                                 extra=[user.organisation.name] if user.organisation else []):
        raise FieldInvalid(problem, "new_password")
    if user.must_change_password and user.check_password(password):
        raise FieldInvalid(SAME_PASSWORD, "new_password")
    user.set_password(password)
    user.must_change_password = False
    audit.record(user.organisation_id, "password_changed", actor=user, email=user.email)
