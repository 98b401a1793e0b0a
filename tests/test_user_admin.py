"""User administration in the browser (users.py, views/admin_users.py): only the organisation's administrator,
only the organisation's users; the password rules and the audit events of ``flask user …``; the last
administrator and the administrator's own account are kept; a new role or a deactivation ends the user's
sessions; an unlock lifts the login throttle; a password the administrator chose is changed at first login."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from assessments import audit, users
from assessments.errors import Conflict
from assessments.extensions import db
from assessments.models import AuditEvent, Role, User
from tests.conftest import DEMO_PASSWORD
from tests.factories import KOMMUN, REGION, organisation, user
from tests.test_login_throttling import PER_ACCOUNT, fail, post_login

ADMIN = f"admin@{KOMMUN}"
OTHER_ADMIN = f"admin@{REGION}"
LOCAL_PART = {Role.COMMUNICATOR: "kommunikator", Role.LEGAL: "jurist", Role.DPO: "dso", Role.ADMIN: "admin",
              Role.VIEWER: "lasare"}
TARGET = f"malin.matrisson@{KOMMUN}"
TARGET_PASSWORD = "grön cykel under bron 77"
NEW_PASSWORD = "blå kanot vid kajen 2026"


def logged_in(app, email: str, password: str = DEMO_PASSWORD):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, f"login failed for {email}"
    return client


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def goes_to_password_change(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/password"


def one_time_password(page: str) -> str:
    match = re.search(r'<code translate="no">([a-z0-9-]+)</code>', page)
    assert match, "no one-time password on the page"
    return match.group(1)


def field_error(page: str, field_id: str) -> str:
    """The error text shown at the field (macros/forms.html), empty when there is none."""
    match = re.search(rf'<div id="{field_id}-error">(.*?)</div>', page, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip() if match else ""


def events(app, action: str, slug: str = "exempelkommun") -> list[AuditEvent]:
    with app.app_context():
        org = organisation(slug)
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.organisation_id == org.id,
                                                               AuditEvent.action == action)
                                       .order_by(AuditEvent.seq)))


def target_id(app, email: str = TARGET) -> int:
    with app.app_context():
        return user(email).id


def fresh(app, email: str) -> User:
    with app.app_context():
        person = user(email)
        db.session.expunge(person)
        return person


@pytest.fixture
def target(app, demo_orgs) -> int:
    """A viewer of the municipality, created by its administrator through the service."""
    with app.app_context():
        users.create_user(user(ADMIN), email=TARGET, name="Malin Matrisson", role=Role.VIEWER,
                          password=TARGET_PASSWORD)
        person = user(TARGET)
        person.must_change_password = False  # as if she had chosen this one herself
        db.session.commit()
        return person.id


# --- Who may: every action × every role ---------------------------------------------------------------------

ACTIONS = [
    ("GET", "/admin/users", None),
    ("GET", "/admin/users/new", None),
    ("POST", "/admin/users/new", {"email": f"ny.matris@{KOMMUN}", "name": "Nils Matris", "role": "viewer",
                                  "language": "sv"}),
    ("GET", "/admin/users/{id}", None),
    ("POST", "/admin/users/{id}/role", {"role": "communicator"}),
    ("POST", "/admin/users/{id}/deactivate", {}),
    ("POST", "/admin/users/{id}/reactivate", {}),
    ("POST", "/admin/users/{id}/unlock", {}),
    ("POST", "/admin/users/{id}/password", {}),
]


def snapshot(app) -> tuple:
    with app.app_context():
        people = db.session.execute(select(User.id, User.role, User.active, User.password_hash, User.session_token,
                                           User.unlock_count).order_by(User.id)).all()
        return tuple(map(tuple, people)), db.session.scalar(select(db.func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("method, path, data", ACTIONS, ids=[f"{m} {p}" for m, p, _d in ACTIONS])
def test_only_the_organisations_administrator_may(app, target, method, path, data):
    url = path.format(id=target)
    problems = []

    def attempt(client):
        before = snapshot(app)
        response = client.open(url, method=method, data=data)
        return response, before != snapshot(app)

    response, changed = attempt(app.test_client())
    if not is_login_redirect(response) or changed:
        problems.append(f"anonymous: {response.status_code}, changed: {changed}")
    for role in Role:
        if role is Role.ADMIN:
            continue
        response, changed = attempt(logged_in(app, f"{LOCAL_PART[role]}@{KOMMUN}"))
        if response.status_code != 403 or changed:
            problems.append(f"{role.value}: {response.status_code}, changed: {changed}")
    if "{id}" in path:
        response, changed = attempt(logged_in(app, OTHER_ADMIN))
        if response.status_code != 404 or changed:
            problems.append(f"the other organisation's administrator: {response.status_code}, changed: {changed}")
    response, changed = attempt(logged_in(app, ADMIN))
    if response.status_code not in (200, 302):
        problems.append(f"admin: {response.status_code}")
    if method == "POST" and not changed and "reactivate" not in path:
        problems.append("admin: nothing was done")
    assert not problems, f"{method} {url}:\n  " + "\n  ".join(problems)


def test_the_list_shows_the_organisations_users_only(app, target):
    page = logged_in(app, ADMIN).get("/admin/users").get_data(as_text=True)
    assert TARGET in page and f"jurist@{KOMMUN}" in page
    assert REGION not in page
    other = logged_in(app, OTHER_ADMIN).get("/admin/users").get_data(as_text=True)
    assert f"jurist@{REGION}" in other and KOMMUN not in other and TARGET not in other


def test_the_header_links_to_the_users_for_the_administrator_only(app, demo_orgs):
    assert 'href="/admin/users"' in logged_in(app, ADMIN).get("/").get_data(as_text=True)
    assert 'href="/admin/users"' not in logged_in(app, f"jurist@{KOMMUN}").get("/").get_data(as_text=True)


# --- A new user and the first login ---------------------------------------------------------------------------

def test_a_new_user_gets_a_one_time_password_and_must_change_it_at_first_login(app, demo_orgs):
    admin = logged_in(app, ADMIN)
    email = f"nora.nyberg@{KOMMUN}"
    response = admin.post("/admin/users/new", data={"email": email, "name": "Nora Nyberg", "role": "communicator",
                                                    "language": "sv"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Engångslösenord för Nora Nyberg" in page and "visas bara nu" in page
    password = one_time_password(page)
    created = fresh(app, email)
    assert created.role is Role.COMMUNICATOR and created.must_change_password and created.active
    # Shown once: it is on no other page, and only its hash is stored.
    assert password not in admin.get(f"/admin/users/{created.id}").get_data(as_text=True)
    assert password not in created.password_hash
    assert "Har ännu inte valt ett eget lösenord" in admin.get("/admin/users").get_data(as_text=True)

    newcomer = app.test_client()
    assert post_login(newcomer, email, password).status_code == 302
    for path in ("/", "/assessments/new", "/admin/users", "/verify"):
        assert goes_to_password_change(newcomer.get(path)), path
    assert goes_to_password_change(newcomer.post("/assessments/new", data={"title": "Smyg"}))
    form = newcomer.get("/account/password").get_data(as_text=True)
    assert "Ditt nuvarande lösenord har valts av en administratör" in form
    # The one she was given is not a password of her own.
    same = newcomer.post("/account/password", data={"current_password": password, "new_password": password,
                                                    "repeat_password": password})
    assert same.status_code == 400
    assert field_error(same.get_data(as_text=True), "new_password").endswith("Välj ett nytt lösenord, inte det du fick.")
    changed = newcomer.post("/account/password", data={"current_password": password, "new_password": NEW_PASSWORD,
                                                       "repeat_password": NEW_PASSWORD})
    assert changed.status_code == 302 and urlsplit(changed.headers["Location"]).path == "/"
    assert newcomer.get("/").status_code == 200
    assert not fresh(app, email).must_change_password

    [event] = events(app, "user_created")[-1:]
    assert event.details == {"email": email, "role": "communicator"} and event.actor_id == user_id(app, ADMIN)
    assert events(app, "password_changed")[-1].details == {"email": email}


def user_id(app, email: str) -> int:
    return target_id(app, email)


def test_a_typed_initial_password_is_not_shown_again_and_must_be_changed_too(app, demo_orgs):
    admin = logged_in(app, ADMIN)
    email = f"olle.ostberg@{KOMMUN}"
    response = admin.post("/admin/users/new", data={"email": email, "name": "Olle Östberg", "role": "legal",
                                                    "language": "en", "password": TARGET_PASSWORD,
                                                    "repeat_password": TARGET_PASSWORD})
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kontot för Olle Östberg har skapats" in page and TARGET_PASSWORD not in page
    created = fresh(app, email)
    assert created.language == "en" and created.role is Role.LEGAL and created.must_change_password
    newcomer = logged_in(app, email, TARGET_PASSWORD)
    assert goes_to_password_change(newcomer.get("/"))


@pytest.mark.parametrize("password, repeat, field, message", [
    ("kort fras", "kort fras", "password", "Lösenordet måste vara minst 12 tecken långt (det här har 9)"),
    ("nyberg i skogen 44", "nyberg i skogen 44", "password", "får inte innehålla användarens namn"),
    ("exempelkommun 2026!", "exempelkommun 2026!", "password", "organisationens namn"),
    ("Sommar2024!!!!", "Sommar2024!!!!", "password", "Lösenordet är för vanligt"),
    (TARGET_PASSWORD, "något annat helt och hållet", "repeat_password", "De två lösenorden är inte likadana."),
])
def test_the_password_rules_apply_to_a_password_the_administrator_writes(app, demo_orgs, password, repeat, field,
                                                                          message):
    admin = logged_in(app, ADMIN)
    before = snapshot(app)
    response = admin.post("/admin/users/new", data={"email": f"nora.nyberg@{KOMMUN}", "name": "Nora Nyberg",
                                                    "role": "viewer", "language": "sv", "password": password,
                                                    "repeat_password": repeat})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in field_error(page, field)
    assert f'href="#{field}"' in page  # the error summary links to the field
    assert f"nora.nyberg@{KOMMUN}" in page  # nothing typed is lost
    assert snapshot(app) == before


def test_the_same_rules_apply_to_a_reset(app, target):
    admin = logged_in(app, ADMIN)
    response = admin.post(f"/admin/users/{target}/password", data={"new_password": "matrisson och jag",
                                                                   "repeat_password": "matrisson och jag"})
    assert response.status_code == 400
    assert "får inte innehålla användarens namn" in field_error(response.get_data(as_text=True), "new_password")
    assert fresh(app, TARGET).check_password(TARGET_PASSWORD)


@pytest.mark.parametrize("email, message", [
    (f"jurist@{KOMMUN}", "Det finns redan ett konto med den här e-postadressen."),
    (f"JURIST@{REGION}", "Det finns redan ett konto med den här e-postadressen."),  # any organisation, any case
    ("inte-en-adress", "Skriv en e-postadress"),
    ("", "Skriv användarens e-postadress."),
])
def test_an_address_that_cannot_be_used_is_refused_at_the_field(app, demo_orgs, email, message):
    response = logged_in(app, ADMIN).post("/admin/users/new", data={"email": email, "name": "Nora Nyberg",
                                                                    "role": "viewer", "language": "sv"})
    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True), "email")


def test_the_refusals_are_in_english_for_an_english_administrator(app, demo_orgs):
    admin = logged_in(app, ADMIN)
    admin.get("/language/en")
    response = admin.post("/admin/users/new", data={"email": f"jurist@{KOMMUN}", "name": "", "role": "nobody",
                                                    "language": "sv", "password": "short"})
    page = response.get_data(as_text=True)
    assert "Write the user" in field_error(page, "name") and "name." in field_error(page, "name")
    assert "Choose one of the alternatives." in field_error(page, "role")
    assert "at least 12 characters" in field_error(page, "password")


# --- Roles, deactivation and sessions ---------------------------------------------------------------------------

def test_a_new_role_ends_the_users_sessions(app, target):
    admin = logged_in(app, ADMIN)
    session = logged_in(app, TARGET, TARGET_PASSWORD)
    assert session.get("/").status_code == 200
    response = admin.post(f"/admin/users/{target}/role", data={"role": "dpo"})
    assert response.status_code == 302
    assert "har nu rollen ”Dataskyddsombud”" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert is_login_redirect(session.get("/"))  # logged out on the next request
    assert fresh(app, TARGET).role is Role.DPO
    assert admin.get("/admin/users").status_code == 200  # the administrator's own session goes on
    event = events(app, "role_changed")[-1]
    assert event.details == {"email": TARGET, "old": "viewer", "new": "dpo"}
    assert event.actor_id == user_id(app, ADMIN)
    assert logged_in(app, TARGET, TARGET_PASSWORD).get("/").status_code == 200


def test_deactivation_ends_the_sessions_and_the_login_until_reactivated(app, target):
    admin = logged_in(app, ADMIN)
    session = logged_in(app, TARGET, TARGET_PASSWORD)
    response = admin.post(f"/admin/users/{target}/deactivate")
    assert response.status_code == 302
    assert "kan inte längre logga in" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert is_login_redirect(session.get("/"))
    assert post_login(app.test_client(), TARGET, TARGET_PASSWORD).status_code == 400
    assert "Inaktiverad" in admin.get("/admin/users").get_data(as_text=True)
    assert events(app, "user_deactivated")[-1].details == {"email": TARGET}

    assert admin.post(f"/admin/users/{target}/reactivate").status_code == 302
    assert logged_in(app, TARGET, TARGET_PASSWORD).get("/").status_code == 200
    assert events(app, "user_reactivated")[-1].details == {"email": TARGET}


def test_an_administrator_cannot_deactivate_themselves_or_change_their_own_role(app, target):
    admin = logged_in(app, ADMIN)
    admin.post(f"/admin/users/{target}/role", data={"role": "admin"})  # a second administrator
    own = user_id(app, ADMIN)
    before = snapshot(app)
    response = admin.post(f"/admin/users/{own}/deactivate")
    assert response.status_code == 302
    assert "Du kan inte inaktivera ditt eget konto" in admin.get(response.headers["Location"]).get_data(as_text=True)
    response = admin.post(f"/admin/users/{own}/role", data={"role": "viewer"})
    assert "Du kan inte byta din egen roll" in admin.get(response.headers["Location"]).get_data(as_text=True)
    response = admin.post(f"/admin/users/{own}/password", data={})
    assert "Ditt eget lösenord byter du under" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert snapshot(app) == before
    page = admin.get(f"/admin/users/{own}").get_data(as_text=True)
    assert f'action="/admin/users/{own}/deactivate"' not in page and f'action="/admin/users/{own}/role"' not in page


def test_the_last_active_administrator_stays(app, target):
    """With two administrators one may deactivate the other; the one left is the organisation's last."""
    admin = logged_in(app, ADMIN)
    admin.post(f"/admin/users/{target}/role", data={"role": "admin"})
    second = logged_in(app, TARGET, TARGET_PASSWORD)
    assert second.post(f"/admin/users/{user_id(app, ADMIN)}/deactivate").status_code == 302
    assert not fresh(app, ADMIN).active
    before = snapshot(app)
    for action, data in (("deactivate", {}), ("role", {"role": "legal"})):
        response = second.post(f"/admin/users/{target}/{action}", data=data)
        page = second.get(response.headers["Location"]).get_data(as_text=True)
        assert "Malin Matrisson är organisationens enda aktiva administratör" in page, action
    assert snapshot(app) == before


def test_the_service_keeps_the_last_administrator_whoever_asks(app, target):
    """The rule is the service's, not only the pages': an administrator whose row was demoted in the meantime
    (another request committed first) cannot demote the last one."""
    with app.app_context():
        admin, other = user(ADMIN), user(TARGET)
        other.role = Role.ADMIN
        db.session.flush()
        users.deactivate(other, admin)  # two administrators: one may go
        db.session.flush()
        other_admins = db.session.scalar(select(db.func.count()).select_from(User).where(
            User.organisation_id == admin.organisation_id, User.active.is_(True), User.role == Role.ADMIN))
        assert other_admins == 1
        with pytest.raises(Conflict):
            users.change_role(admin, other, Role.VIEWER)  # a stale, deactivated actor cannot remove the last one
        db.session.rollback()


# --- Unlocking -------------------------------------------------------------------------------------------------

def test_an_unlock_lets_a_locked_out_user_log_in_at_once(app, target):
    stranger = app.test_client()
    fail(stranger, TARGET, PER_ACCOUNT)
    assert post_login(stranger, TARGET, TARGET_PASSWORD).status_code == 429
    admin = logged_in(app, ADMIN)
    assert "Inloggningen spärrad till" in admin.get("/admin/users").get_data(as_text=True)
    assert "Spärrat till" in admin.get(f"/admin/users/{target}").get_data(as_text=True)
    response = admin.post(f"/admin/users/{target}/unlock")
    assert response.status_code == 302
    assert "är upplåst" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Inloggningen spärrad till" not in admin.get("/admin/users").get_data(as_text=True)
    assert post_login(stranger, TARGET, TARGET_PASSWORD).status_code == 302
    event = events(app, "login_unlocked")[-1]
    assert event.details == {"account": TARGET, "user_id": target} and event.actor_id == user_id(app, ADMIN)


def test_an_unlock_reaches_the_users_own_browser_too(app, target):
    """The browser she has logged in from counts on its own (a device cookie): unlocked as well."""
    own = app.test_client()
    assert post_login(own, TARGET, TARGET_PASSWORD).status_code == 302
    own.post("/logout")
    fail(own, TARGET, PER_ACCOUNT)
    assert post_login(own, TARGET, TARGET_PASSWORD).status_code == 429
    logged_in(app, ADMIN).post(f"/admin/users/{target}/unlock")
    assert post_login(own, TARGET, TARGET_PASSWORD).status_code == 302
    # A new count starts: five more failures lock again, and are recorded again.
    own.post("/logout")
    fail(own, TARGET, PER_ACCOUNT)
    assert post_login(own, TARGET, TARGET_PASSWORD).status_code == 429
    assert len(events(app, "login_locked")) == 2


def test_a_reset_gives_a_new_one_time_password_ends_the_sessions_and_unlocks(app, target):
    session = logged_in(app, TARGET, TARGET_PASSWORD)
    stranger = app.test_client()
    fail(stranger, TARGET, PER_ACCOUNT)
    admin = logged_in(app, ADMIN)
    response = admin.post(f"/admin/users/{target}/password", data={})
    assert response.status_code == 200
    password = one_time_password(response.get_data(as_text=True))
    assert is_login_redirect(session.get("/"))
    assert post_login(app.test_client(), TARGET, TARGET_PASSWORD).status_code == 400  # the old one is gone
    assert post_login(stranger, TARGET, password).status_code == 302  # and the lockout with it
    assert goes_to_password_change(stranger.get("/"))
    assert events(app, "password_set")[-1].details == {"email": TARGET}
    assert events(app, "password_set")[-1].actor_id == user_id(app, ADMIN)


def test_every_event_keeps_the_audit_chain_intact(app, target):
    admin = logged_in(app, ADMIN)
    for action, data in (("role", {"role": "legal"}), ("unlock", {}), ("password", {}), ("deactivate", {}),
                         ("reactivate", {})):
        assert admin.post(f"/admin/users/{target}/{action}", data=data).status_code in (200, 302)
    with app.app_context():
        assert audit.verify_chain(organisation("exempelkommun").id) == []
    actions = [e.action for e in events(app, "role_changed") + events(app, "login_unlocked")
               + events(app, "password_set") + events(app, "user_deactivated") + events(app, "user_reactivated")]
    assert sorted(actions) == sorted(["role_changed", "login_unlocked", "login_unlocked", "password_set",
                                      "user_deactivated", "user_reactivated"])
