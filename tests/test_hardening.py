"""Hardening notes of the penetration test: no caching of pages and downloads, no server version under
gunicorn, failed logins and lockouts logged (one line, no password) and shown to the organisation's
administrator, and a stranger cannot lock the real user out (device cookies)."""
from __future__ import annotations

import http.client
import logging
import socket
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from assessments import PROJECT_ROOT
from assessments.extensions import db
from assessments.models import AuditEvent
from tests.conftest import DEMO_PASSWORD
from tests.test_login_throttling import PER_ACCOUNT, fail, logged_in, post_login

KOMMUN, REGION = "exempelkommun.example", "regionexempel.example"
VICTIM = f"jurist@{KOMMUN}"
WRONG = "fel-lösenord-helt-fel"


# -- caching -------------------------------------------------------------------------------------------

def test_authenticated_pages_and_downloads_are_not_stored(app, client, auth, demo_orgs):
    from tests.factories import answered_assessment

    with app.app_context():
        assessment_id = answered_assessment().id
    auth.login(f"kommunikator@{KOMMUN}")
    for path in ("/", f"/assessments/{assessment_id}", f"/assessments/{assessment_id}/action-plan.csv",
                 f"/assessments/{assessment_id}/export.json", "/verify"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/app.css")
    static.close()
    assert static.headers.get("Cache-Control") != "no-store"  # the stylesheet may be cached


# -- the server header under gunicorn -----------------------------------------------------------------

def test_gunicorn_sends_no_version(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x" * 40, "DATABASE_URL": f"sqlite:///{tmp_path / 'test.sqlite'}",
           "KONSEKVENS_ARCHIVE_DIR": str(tmp_path / "archive"), "KONSEKVENS_SEAL_DIR": str(tmp_path / "seals")}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "app:app"],
                              cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/login")
                response = connection.getresponse()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        response.read()
        assert response.status == 200
        server_header = response.getheader("Server") or ""
        assert "/" not in server_header and not any(c.isdigit() for c in server_header), server_header
        assert response.getheader("Cache-Control") == "no-store"
    finally:
        server.terminate()
        server.communicate(timeout=30)


# -- failed logins: logged, and on the organisation's administrator's page ---------------------------------

def test_a_failed_login_is_one_log_line_without_the_password(client, demo_orgs, caplog):
    caplog.set_level(logging.INFO)
    assert post_login(client, VICTIM, "hemligt-fel-lösen-123").status_code == 400
    lines = [r for r in caplog.records if r.name == "assessments.views.auth"]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING and lines[0].exc_info is None
    assert VICTIM in lines[0].getMessage() and "192.0.2.10" in lines[0].getMessage()
    assert not [r for r in caplog.records if "hemligt-fel-lösen-123" in r.getMessage()]


def test_failed_logins_and_lockouts_are_shown_to_the_organisations_administrator(app, client, auth, demo_orgs,
                                                                              caplog):
    caplog.set_level(logging.WARNING)
    fail(client, VICTIM, PER_ACCOUNT)
    post_login(client, f"ingen@{KOMMUN}")  # an address without an account: logged, on no trail
    for _ in range(3):  # the lockout is noted once however often the locked page is asked for
        assert post_login(client, VICTIM).status_code == 429
    locked = [r for r in caplog.records if "too many failed attempts" in r.getMessage()]
    assert len(locked) == 3 and all(VICTIM in r.getMessage() for r in locked)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(("login_failed", "login_locked"))).order_by(AuditEvent.id)).all()
    assert actions == ["login_failed"] * PER_ACCOUNT + ["login_locked"]
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0  # the chain still holds

    auth.login(f"admin@{KOMMUN}")
    page = client.get("/admin/security-events").get_data(as_text=True)
    assert page.count(VICTIM) == PER_ACCOUNT + 1 and "192.0.2.10" in page
    assert "Spärrat till" in page and "Fel lösenord" in page and f"ingen@{KOMMUN}" not in page
    auth.logout()
    auth.login(f"admin@{REGION}")  # another organisation's administrator sees none of it
    other = client.get("/admin/security-events").get_data(as_text=True)
    assert VICTIM not in other and "Inga misslyckade inloggningar har registrerats." in other
    auth.logout()
    auth.login(f"jurist@{REGION}")
    assert client.get("/admin/security-events").status_code == 403


# -- a stranger cannot lock the real user out for good -------------------------------------------------------

def test_a_strangers_failures_do_not_lock_out_the_users_own_browser(app, demo_orgs):
    users_browser, stranger = app.test_client(), app.test_client()
    assert post_login(users_browser, VICTIM, DEMO_PASSWORD).status_code == 302  # logged in here before
    users_browser.post("/logout")
    fail(stranger, VICTIM, PER_ACCOUNT, address="198.51.100.1")  # the stranger fills the account's shared count
    assert post_login(stranger, VICTIM, DEMO_PASSWORD, address="198.51.100.2").status_code == 429
    assert post_login(app.test_client(), VICTIM, DEMO_PASSWORD).status_code == 429  # any unknown browser
    # The user's own browser still gets in, and mistypes there count on its own, as NIST throttling requires.
    fail(users_browser, VICTIM, PER_ACCOUNT - 1)
    assert post_login(users_browser, VICTIM, DEMO_PASSWORD).status_code == 302 and logged_in(users_browser)
    users_browser.post("/logout")
    fail(users_browser, VICTIM, 1)
    assert post_login(users_browser, VICTIM, DEMO_PASSWORD).status_code == 429


@pytest.mark.parametrize("cookie", ["forged", "{}"])
def test_a_forged_device_cookie_is_an_unknown_device(app, client, demo_orgs, cookie):
    fail(client, VICTIM, PER_ACCOUNT)
    client.set_cookie("konsekvens_device", cookie)
    assert post_login(client, VICTIM, DEMO_PASSWORD).status_code == 429
