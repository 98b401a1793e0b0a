"""Sessions end on the server: a copy of the cookie is worthless after logout, after 30 idle minutes and 12
hours after login (OWASP Session Management Cheat Sheet), and the login page says why."""
from __future__ import annotations

import time

import pytest

from assessments import create_app
from assessments.extensions import db
from tests.conftest import DEMO_PASSWORD, _config
from tests.factories import KOMMUN

DASHBOARD = "/"


def stolen_copy(app, client):
    """A second client holding a copy of ``client``'s session cookie, as an attacker would."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def logged_in(client) -> bool:
    return client.get(DASHBOARD).status_code == 200


def test_a_copy_of_the_cookie_taken_before_logout_is_refused_after_it(app, client, auth, demo_orgs):
    auth.login(f"jurist@{KOMMUN}")
    copy = stolen_copy(app, client)
    assert logged_in(copy)  # the copy works while the session does…
    response = auth.logout()
    assert response.status_code == 302
    assert "Du är utloggad." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert not logged_in(client)
    refused = copy.get(DASHBOARD)  # …and not after the logout
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    auth.login(f"jurist@{KOMMUN}")  # the user can log in again
    assert logged_in(client)


def age_session(client, *, login_ago: float, seen_ago: float) -> None:
    """Move the session's clock back, as if the user had logged in and last clicked that long ago."""
    now = time.time()
    with client.session_transaction() as session:
        session["authenticated_at"], session["seen_at"] = int(now - login_ago), int(now - seen_ago)


@pytest.mark.parametrize("login_ago, seen_ago, message", [
    (31 * 60, 31 * 60, "inte hade använt Konsekvens på 30 minuter"),
    (12 * 3600 + 1, 60, "loggade in för mer än 12 timmar sedan"),
])
def test_an_idle_or_old_session_ends_and_the_login_page_says_why(app, client, auth, demo_orgs, login_ago, seen_ago,
                                                                  message):
    auth.login(f"kommunikator@{KOMMUN}")
    age_session(client, login_ago=login_ago, seen_ago=seen_ago)
    copy = stolen_copy(app, client)
    response = client.get(f"{DASHBOARD}?page=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/?page%3D1"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert message in page and "Logga in för att fortsätta." not in page
    assert not logged_in(client) and not logged_in(copy)
    assert client.post(response.headers["Location"], data={
        "email": f"kommunikator@{KOMMUN}", "password": DEMO_PASSWORD}).headers["Location"] == "/?page=1"


def test_activity_keeps_a_session_alive_until_its_maximum(app, client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    age_session(client, login_ago=11 * 3600, seen_ago=29 * 60)
    assert logged_in(client)
    with client.session_transaction() as session:
        assert time.time() - session["seen_at"] < 5  # the request counted as activity


def test_a_session_cookie_without_a_login_time_is_ended(app, client, auth, demo_orgs):
    """Cookies issued before the lifetime was recorded (a 31-day-old one, say) end at once."""
    auth.login(f"kommunikator@{KOMMUN}")
    with client.session_transaction() as session:
        del session["authenticated_at"]
    assert not logged_in(client)


def test_the_limits_are_settings(migrated, tmp_path, seal_dir, demo_orgs, monkeypatch):
    monkeypatch.setenv("KONSEKVENS_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("KONSEKVENS_SESSION_MAX_HOURS", "1")
    instance = tmp_path / "instance"
    configured = create_app(instance_path=instance)
    assert (configured.config["SESSION_IDLE_MINUTES"], configured.config["SESSION_MAX_HOURS"]) == (5, 1)
    monkeypatch.setenv("KONSEKVENS_SESSION_IDLE_MINUTES", "en halvtimme")
    with pytest.raises(ValueError, match="SESSION_IDLE_MINUTES must be a whole number"):
        create_app(instance_path=instance)

    app = create_app(_config(migrated, tmp_path, seal_dir, SESSION_IDLE_MINUTES=5))
    try:
        client = app.test_client()
        client.post("/login", data={"email": f"jurist@{KOMMUN}", "password": DEMO_PASSWORD})
        age_session(client, login_ago=6 * 60, seen_ago=6 * 60)
        response = client.get(DASHBOARD)
        assert response.status_code == 302
        assert "på 5 minuter" in client.get(response.headers["Location"]).get_data(as_text=True)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_english_users_are_told_in_english(app, client, auth, demo_orgs):
    client.get("/language/en")
    auth.login(f"kommunikator@{KOMMUN}")
    age_session(client, login_ago=40 * 60, seen_ago=40 * 60)
    page = client.get(DASHBOARD, follow_redirects=True).get_data(as_text=True)
    assert "You were logged out because you had not used Konsekvens for 30 minutes." in page
