"""Accounts: the password policy (NIST SP 800-63B §5.1.1.2), changing the password (which ends every other
session), deactivation ending sessions, and the user commands."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from assessments.demo import USERS, create_demo_organisations
from assessments.extensions import db
from assessments.models import AuditEvent, User
from assessments.passwords import MAX_LENGTH, policy_problem
from tests.conftest import DEMO_PASSWORD
from tests.factories import user

KOMMUNIKATOR = "kommunikator@exempelkommun.example"
NEW_PASSWORD = "grön cykel under bron"


def problem(password, lang="en", **who):
    who.setdefault("email", KOMMUNIKATOR)
    who.setdefault("name", "Kim Kommunikatör")
    with force_locale(lang):
        found = policy_problem(password, **who)
        return None if found is None else str(found)


# --- The policy --------------------------------------------------------------------------------------------

def test_short_passwords_are_refused_with_the_count_in_both_languages(app):
    with app.test_request_context():
        assert "at least 12 characters" in problem("kort-ord-11") and "has 11" in problem("kort-ord-11")
        assert "minst 12 tecken" in problem("kort-ord-11", "sv") and "har 11" in problem("kort-ord-11", "sv")


def test_characters_are_counted_not_bytes(app):
    with app.test_request_context():
        assert problem("åäöåäöåäöåäö") is None  # 12 characters, 24 bytes in UTF-8
        assert problem("åäöåäöåäöåä") is not None  # 11 characters, 22 bytes
        # "ä" typed as "a" + combining diaeresis is one character once normalised (NFKC), as it is stored.
        assert problem("a\u0308bcdefghijkl") is None and problem("a\u0308bcdefghijk") is not None


def test_emoji_and_spaces_are_allowed_without_composition_rules(app):
    with app.test_request_context():
        assert problem("🦊🌲🚲🧀🎻🌧📮🐝🍋🧭🪁🦔") is None
        assert problem("katt under en grön bro") is None  # only lower-case letters and spaces


def test_too_long_is_refused(app):
    with app.test_request_context():
        assert "at most 256" in problem("ord " * 64 + "x") and len("ord " * 64 + "x") == MAX_LENGTH + 1
        assert problem("ett långt lösenord " * 13) is None  # 247 characters


@pytest.mark.parametrize("password", ["Sommar2024!!!!", "lösenord123456", "LÖSENORD 2024!", "välkommen123!",
                                      "hejhejhejhej", "qwerty123456", "passwordpassword", "aaaaaaaaaaaaaa",
                                      "konsekvens2026"])
def test_common_passwords_are_refused(app, password):
    with app.test_request_context():
        assert "too common" in problem(password)
        assert "för vanligt" in problem(password, "sv")


def test_passwords_containing_the_users_address_or_name_are_refused(app):
    with app.test_request_context():
        assert "must not contain your name" in problem("kommunikator is the best")
        assert "får inte innehålla ditt namn" in problem("Kommunikatör rockar på", "sv")
        assert problem("mitt-lösenord-exempelkommun", extra=["Exempelkommun"]) is not None
        assert problem("Jo skriver långa ord", email="jo@x.example", name="Jo Jurist") is None  # "jo" too short


def test_the_test_and_demo_passwords_pass_the_policy(app):
    with app.test_request_context():
        for local, _role, name in USERS:
            assert problem(DEMO_PASSWORD, email=f"{local}@exempelkommun.example", name=name,
                           extra=["Exempelkommun"]) is None


def test_generated_demo_passwords_pass_the_policy(app):
    with app.app_context():
        logins = create_demo_organisations(Path(app.config["SEAL_DIR"]))
        db.session.commit()
        assert len(logins) == 15
        for login in logins:
            created = user(login.email)
            assert policy_problem(login.password, email=login.email, name=created.name,
                                  extra=[created.organisation.name]) is None
            assert created.check_password(login.password)


def test_a_chosen_demo_password_that_fails_the_policy_creates_nobody(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PASSWORD", "sommar2024")
    result = runner.invoke(args=["init"])
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    with app.app_context():
        assert db.session.scalars(select(User)).first() is None


# --- Changing the password ----------------------------------------------------------------------------------

def change(client, current=DEMO_PASSWORD, new=NEW_PASSWORD, repeat=None):
    return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                   "repeat_password": new if repeat is None else repeat})


def can_log_in(app, password) -> bool:
    other = app.test_client()
    return other.post("/login", data={"email": KOMMUNIKATOR, "password": password}).status_code == 302


def test_the_page_needs_a_login_and_is_linked_from_the_header(client, auth, demo_orgs):
    assert "/login" in client.get("/account/password").headers["Location"]
    auth.login(KOMMUNIKATOR)
    assert 'href="/account/password"' in client.get("/").get_data(as_text=True)
    page = client.get("/account/password").get_data(as_text=True)
    assert "Byt lösenord" in page and 'autocomplete="new-password"' in page and "Minst 12 tecken" in page


@pytest.mark.parametrize("current, new, repeat, message", [
    ("inte-mitt-lösenord", NEW_PASSWORD, NEW_PASSWORD, "Det nuvarande lösenordet är inte rätt."),
    (DEMO_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "De två nya lösenorden är inte likadana."),
    (DEMO_PASSWORD, "sommar2024", "sommar2024", "minst 12 tecken"),
    (DEMO_PASSWORD, "Sommar2024!!!!", "Sommar2024!!!!", "för vanligt"),
    (DEMO_PASSWORD, "kommunikator 2026!", "kommunikator 2026!", "får inte innehålla ditt namn"),
])
def test_a_refused_change_says_why_and_keeps_the_old_password(app, client, auth, demo_orgs, current, new, repeat,
                                                               message):
    auth.login(KOMMUNIKATOR)
    response = change(client, current, new, repeat)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page and 'class="error-summary"' in page
    assert logged_in(client)
    assert can_log_in(app, DEMO_PASSWORD) and not can_log_in(app, new)


def test_the_refusal_is_in_english_for_an_english_user(client, auth, demo_orgs):
    client.get("/language/en")
    auth.login(KOMMUNIKATOR)
    page = change(client, "inte-mitt-lösenord", "kort").get_data(as_text=True)
    assert "The current password is not correct." in page and "at least 12 characters" in page


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_a_change_ends_every_other_session_and_keeps_this_one(app, client, auth, demo_orgs):
    other = app.test_client()
    assert other.post("/login", data={"email": KOMMUNIKATOR, "password": DEMO_PASSWORD}).status_code == 302
    assert logged_in(other)
    auth.login(KOMMUNIKATOR)

    response = change(client)
    assert response.status_code == 302
    assert "Ditt lösenord är bytt" in client.get(response.headers["Location"]).get_data(as_text=True)

    assert logged_in(client)
    stale = other.get("/")
    assert stale.status_code == 302 and "/login" in stale.headers["Location"]
    assert can_log_in(app, NEW_PASSWORD) and not can_log_in(app, DEMO_PASSWORD)
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "password_changed")).one()
        assert event.actor_id == user(KOMMUNIKATOR).id and event.assessment_id is None


def test_an_old_cookie_replayed_after_the_change_logs_nobody_in(app, client, auth, demo_orgs):
    auth.login(KOMMUNIKATOR)
    stolen = client.get_cookie("session").value
    assert change(client).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 302


def test_a_deactivated_users_session_ends(app, client, auth, demo_orgs):
    auth.login(KOMMUNIKATOR)
    assert logged_in(client)
    with app.app_context():
        user(KOMMUNIKATOR).deactivate()
        db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not can_log_in(app, DEMO_PASSWORD)


def test_setting_active_false_directly_also_ends_the_session(app, client, auth, demo_orgs):
    auth.login(KOMMUNIKATOR)
    with app.app_context():
        user(KOMMUNIKATOR).active = False
        db.session.commit()
    assert client.get("/").status_code == 302


# --- The user commands --------------------------------------------------------------------------------------

def test_user_create_asks_twice_and_applies_the_policy(app, runner, demo_orgs):
    args = ["user", "create", "--email", "Ny.Person@exempelkommun.example", "--name", "Ny Person",
            "--role", "communicator", "--organisation", "exempelkommun"]
    refused = runner.invoke(args=args, input="nyperson-2026-abc\nnyperson-2026-abc\n")
    assert refused.exit_code == 1 and "must not contain your name" in refused.output
    mismatch = runner.invoke(args=args, input="en lång fras här\nen annan fras\n")
    assert mismatch.exit_code != 0
    with app.app_context():
        assert db.session.scalars(select(User).where(User.name == "Ny Person")).first() is None

    created = runner.invoke(args=args, input="en lång fras här\nen lång fras här\n")
    assert created.exit_code == 0, created.output
    assert "en lång fras här" not in created.output  # the password is never echoed
    client = app.test_client()
    assert client.post("/login", data={"email": "ny.person@exempelkommun.example",
                                       "password": "en lång fras här"}).status_code == 302

    again = runner.invoke(args=args, input="en lång fras här\nen lång fras här\n")
    assert again.exit_code == 1 and "already used" in again.output
    unknown = runner.invoke(args=[*args[:-1], "finns-inte"], input="en lång fras här\nen lång fras här\n")
    assert unknown.exit_code == 1 and "No organisation" in unknown.output


def test_user_set_password_applies_the_policy_and_ends_sessions(app, runner, client, auth, demo_orgs):
    auth.login(KOMMUNIKATOR)
    refused = runner.invoke(args=["user", "set-password", KOMMUNIKATOR], input="lösenord123\nlösenord123\n")
    assert refused.exit_code == 1 and "at least 12" in refused.output
    assert logged_in(client) and can_log_in(app, DEMO_PASSWORD)

    done = runner.invoke(args=["user", "set-password", KOMMUNIKATOR.upper()],
                         input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert done.exit_code == 0, done.output
    assert not logged_in(client)
    assert can_log_in(app, NEW_PASSWORD) and not can_log_in(app, DEMO_PASSWORD)
    missing = runner.invoke(args=["user", "set-password", "nobody@example.org"], input="x\nx\n")
    assert missing.exit_code == 1 and "No user" in missing.output


def test_user_deactivate_ends_sessions(app, runner, client, auth, demo_orgs):
    auth.login(KOMMUNIKATOR)
    result = runner.invoke(args=["user", "deactivate", KOMMUNIKATOR])
    assert result.exit_code == 0, result.output
    assert not logged_in(client) and not can_log_in(app, DEMO_PASSWORD)
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user_deactivated")).one()
