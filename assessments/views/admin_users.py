"""The administrator's pages for the organisation's users: the list, a new account (its one-time password
shown once), the role, deactivating and reactivating, unlocking the login and resetting the password.
HTTP only: the rules are ``users.py``'s, who may is ``policy.can_manage_users``."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import policy, scope, users
from ..errors import DomainError, NotFound
from ..extensions import db
from ..forms import DeactivateUserForm, NewUserForm, ReactivateUserForm, ResetPasswordForm, RoleForm, UnlockUserForm
from ..models import Role, User
from ..roles import role_label
from .common import formatted_time, refuse

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


def require_manager() -> None:
    if not policy.can_manage_users(current_user):
        abort(403)


def scoped_user(user_id: int) -> User:
    """A user of the administrator's organisation, or 404 (``scope.user_for``)."""
    require_manager()
    try:
        return scope.user_for(current_user, user_id)
    except NotFound:
        abort(404)


def add_error(form, exc: users.FieldInvalid) -> None:
    db.session.rollback()
    field = form[exc.field]
    field.errors = [*field.errors, str(exc.message)]


def back_to(person: User) -> str:
    return url_for(".user", user_id=person.id)


@bp.get("")
@login_required
def list_users():
    require_manager()
    return render_template("admin/users.html", people=users.users_of(current_user.organisation_id),
                           locked=users.locked_until(current_user.organisation_id), formatted=formatted_time)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_user():
    require_manager()
    form = NewUserForm()
    form.organisation_name = current_user.organisation.name
    if form.validate_on_submit():
        try:
            created = users.create_user(current_user, email=form.email.data, name=form.name.data,
                                        role=Role(form.role.data), language=form.language.data,
                                        password=form.password.data or None)
        except users.FieldInvalid as exc:
            add_error(form, exc)
        else:
            db.session.commit()
            users.account_created.send(user=created.user)
            if created.one_time_password:
                return render_template("admin/one_time_password.html", person=created.user, created=True,
                                       password=created.one_time_password)
            flash(_("The account of %(name)s was created. They choose a password of their own at the first "
                    "login.", name=created.user.name), "success")
            return redirect(back_to(created.user))
    return render_template("admin/user_new.html", form=form), 400 if form.errors else 200


def render_user(person: User, *, role_form: RoleForm | None = None, reset_form: ResetPasswordForm | None = None,
                status: int = 200):
    """The user's page; a refused form comes back in it with its errors (status 400)."""
    locked = users.locked_until(current_user.organisation_id).get(person.id)
    return render_template(
        "admin/user.html", person=person, is_self=person.id == current_user.id,
        role_form=role_form or RoleForm(formdata=None, role=person.role.value),
        reset_form=reset_form or ResetPasswordForm(formdata=None),
        failed_form=role_form if role_form is not None else reset_form,
        locked_until=formatted_time(locked) if locked else None, formatted=formatted_time), status


@bp.get("/<int:user_id>")
@login_required
def user(user_id: int):
    return render_user(scoped_user(user_id))


@bp.post("/<int:user_id>/role")
@login_required
def change_role(user_id: int):
    person = scoped_user(user_id)
    form = RoleForm()
    if not form.validate():
        return render_user(person, role_form=form, status=400)
    try:
        changed = users.change_role(current_user, person, Role(form.role.data))
    except DomainError as exc:
        return refuse(exc, back_to(person))
    db.session.commit()
    if changed:
        flash(_("%(name)s now has the role “%(role)s”. Their sessions have ended: they log in again to continue.",
                name=person.name, role=role_label(person.role)), "success")
    else:
        flash(_("%(name)s already had that role.", name=person.name), "info")
    return redirect(back_to(person))


@bp.post("/<int:user_id>/deactivate")
@login_required
def deactivate(user_id: int):
    person = scoped_user(user_id)
    if not DeactivateUserForm().validate():
        abort(400)
    try:
        users.deactivate(current_user, person)
    except DomainError as exc:
        return refuse(exc, back_to(person))
    db.session.commit()
    flash(_("%(name)s can no longer log in, and their sessions have ended. Nothing they wrote was removed.",
            name=person.name), "success")
    return redirect(back_to(person))


@bp.post("/<int:user_id>/reactivate")
@login_required
def reactivate(user_id: int):
    person = scoped_user(user_id)
    if not ReactivateUserForm().validate():
        abort(400)
    users.reactivate(current_user, person)
    db.session.commit()
    flash(_("%(name)s can log in again with their password.", name=person.name), "success")
    return redirect(back_to(person))


@bp.post("/<int:user_id>/unlock")
@login_required
def unlock(user_id: int):
    person = scoped_user(user_id)
    if not UnlockUserForm().validate():
        abort(400)
    users.unlock(current_user, person)
    db.session.commit()
    flash(_("The login of %(name)s is unlocked: earlier failed attempts no longer count.", name=person.name),
          "success")
    return redirect(back_to(person))


@bp.post("/<int:user_id>/password")
@login_required
def reset_password(user_id: int):
    person = scoped_user(user_id)
    form = ResetPasswordForm()
    form.person = person
    if not form.validate():
        return render_user(person, reset_form=form, status=400)
    try:
        result = users.reset_password(current_user, person, form.new_password.data or None)
    except users.FieldInvalid as exc:
        add_error(form, exc)
        return render_user(person, reset_form=form, status=400)
    except DomainError as exc:
        return refuse(exc, back_to(person))
    db.session.commit()
    users.password_reset.send(user=person)
    if result.one_time_password:
        return render_template("admin/one_time_password.html", person=person, created=False,
                               password=result.one_time_password)
    flash(_("The password of %(name)s was changed and their sessions have ended. They choose a password of "
            "their own at the next login.", name=person.name), "success")
    return redirect(back_to(person))
